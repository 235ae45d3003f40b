"""The replay worker's progress mirror in Redis: its checkpoint after every commit, and the failed
checkpoint a permanent failure leaves for the operator to show (`eventreplay:ckpt:{uid}:{partition}`)."""

from __future__ import annotations

import redis

from ..contract.checkpoints import Checkpoint, now, write_mirror
from ..contract.names import checkpoint_key
from ..contract.settings import redis_location
from ..contract.tasks import Task
from ..runtime.redis_connection import connect_redis


class ProgressMirror:
    def __init__(self, client: redis.Redis, task: Task) -> None:
        self._client = client
        self._key = checkpoint_key(task.replay.key_tenant, task.replay.uid, task.source.partition)
        self._ttl = task.dedup.ttl_seconds
        self._where = redis_location(task.dedup.redis_url)

    def write(self, ckpt: Checkpoint) -> None:
        write_mirror(self._client, self._key, ckpt, self._ttl, f"progress mirror in Redis at {self._where}")


def mark_failed(task: Task, message: str) -> None:
    """Best effort: mark the partition's progress mirror failed with the reason the operator shows.

    Counts already committed are kept; if Redis itself is the problem, nothing can be written and
    the operator falls back to the Job's own failure.
    """
    try:
        client = connect_redis(task.dedup, check_eviction=False)  # the failure may be that very check
        key = checkpoint_key(task.replay.key_tenant, task.replay.uid, task.source.partition)
        raw = client.get(key)
        if raw:
            ckpt = Checkpoint.from_json(raw)
        else:
            ckpt = Checkpoint.fresh(task.source.partition, task.source.start_offset, task.source.end_offset)
        ckpt.state, ckpt.message, ckpt.updated_at = "failed", message[:1000], now()
        write_mirror(client, key, ckpt, task.dedup.ttl_seconds, "progress mirror")
    except Exception:  # noqa: BLE001 - reporting must never hide the original failure
        pass
