"""Redis connection for a worker, the progress mirror of its checkpoints, and failure reports."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import redis

from .contract.checkpoints import Checkpoint, now, write_mirror
from .contract.exit_codes import PermanentFailure, RetriableFailure
from .contract.names import TERMINATION_LOG_ENV, checkpoint_key
from .contract.settings import redis_location
from .contract.tasks import Task

log = logging.getLogger("eventreplay.worker")


class RedisSpec(Protocol):
    """What a connection needs (the worker's Dedup, reconciliation's RedisTarget)."""

    @property
    def redis_url(self) -> str: ...

    @property
    def password_env(self) -> str | None: ...


def connect_redis(spec: RedisSpec, *, check_eviction: bool = True) -> redis.Redis:
    password = None
    if spec.password_env:
        password = os.environ.get(spec.password_env)
        if password is None:
            raise PermanentFailure(f"env var {spec.password_env} (Redis password from a Secret) is not set")
    try:
        client = redis.Redis.from_url(spec.redis_url, password=password, socket_timeout=30, socket_connect_timeout=10)
        client.ping()
    except redis.AuthenticationError as err:
        raise PermanentFailure(f"Redis at {redis_location(spec.redis_url)} refused the credentials") from err
    except (redis.ConnectionError, redis.TimeoutError) as err:
        raise RetriableFailure(f"cannot reach Redis at {redis_location(spec.redis_url)}: {err}") from err
    if check_eviction:
        check_no_eviction(client, redis_location(spec.redis_url))
    return client


def check_no_eviction(client: redis.Redis, where: str) -> None:
    """Refuse a Redis that may evict keys: an evicted ledger bucket silently lets duplicates through.

    `volatile-*` policies evict exactly the keys that carry a TTL, and every ledger bucket does; only
    `noeviction` (or no memory limit at all) is safe. Where INFO is not allowed (managed Redis, ACLs),
    the worker cannot tell and says so in its log.
    """
    try:
        memory = client.info("memory")
    except redis.ResponseError as err:
        log.warning("cannot check the eviction policy of Redis at %s (%s): it must be noeviction", where, err)
        return
    policy = str(memory.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction" and int(memory.get("maxmemory", 0) or 0) > 0:
        raise PermanentFailure(
            f"Redis at {where} evicts keys under memory pressure (maxmemory-policy {policy}): an evicted "
            "ledger bucket would let duplicates through; set maxmemory-policy noeviction"
        )


class ProgressMirror:
    def __init__(self, client: redis.Redis, task: Task) -> None:
        self._client = client
        self._key = checkpoint_key(task.replay.uid, task.source.partition)
        self._ttl = task.dedup.ttl_seconds
        self._where = redis_location(task.dedup.redis_url)

    def write(self, ckpt: Checkpoint) -> None:
        write_mirror(self._client, self._key, ckpt, self._ttl, f"progress mirror in Redis at {self._where}")


def write_termination_message(text: str) -> None:
    """Kubernetes shows /dev/termination-log as the container's termination message (best effort)."""
    path = Path(os.environ.get(TERMINATION_LOG_ENV, "/dev/termination-log"))
    try:
        if path.parent.is_dir():
            path.write_text(text[:4000])
    except OSError:
        pass


def report_failure(task: Task, message: str) -> None:
    """Best effort: mark the partition's progress mirror failed with the reason the operator shows.

    Counts already committed are kept; if Redis itself is the problem, nothing can be written and
    the operator falls back to the Job's own failure.
    """
    try:
        client = connect_redis(task.dedup, check_eviction=False)  # the failure may be that very check
        key = checkpoint_key(task.replay.uid, task.source.partition)
        raw = client.get(key)
        if raw:
            ckpt = Checkpoint.from_json(raw)
        else:
            ckpt = Checkpoint.fresh(task.source.partition, task.source.start_offset, task.source.end_offset)
        ckpt.state, ckpt.message, ckpt.updated_at = "failed", message[:1000], now()
        write_mirror(client, key, ckpt, task.dedup.ttl_seconds, "progress mirror")
    except Exception:  # noqa: BLE001 - reporting must never hide the original failure
        pass
