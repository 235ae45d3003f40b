"""Reading the workers' progress mirrors from Redis (MGET of `eventreplay:ckpt:{uid}:{partition}`),
the reconciliation report and the promotion checkpoints.

Redis is an accelerator, not the truth (the truth is the output transaction in Kafka): when it
cannot be read, the previous status is carried forward instead of reporting progress as lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import msgspec
import redis

from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.names import Tenant, checkpoint_key, promotion_key

from . import legacy_sink_ledgers
from .api.v1alpha1 import PartitionProgress, Plan

log = logging.getLogger(__name__)
CHUNK = 500
CARRIED_COUNTS = ("emitted", "duplicate", "processed", "dead_lettered")
"""The per-bucket counts status keeps per partition (same names in PartitionProgress and Checkpoint)."""


class CheckpointsUnavailable(Exception):
    """Redis could not be read this time."""


class CheckpointReader:
    """One Redis client per URL, created lazily; the operator's own password, never a tenant Secret."""

    def __init__(self, password: str | None = None, timeout: float = 5.0) -> None:
        self._password = password
        self._timeout = timeout
        self._clients: dict[str, redis.Redis] = {}

    def _client(self, url: str) -> redis.Redis:
        """The client of `url`; at the first connection, the legacy sink ledgers there carried over
        (`legacy_sink_ledgers`): before any Job this operator creates reads a sink ledger. A
        RedisError leaves the URL unconnected, so the next pass tries both again."""
        if url not in self._clients:
            client = redis.Redis.from_url(
                url,
                password=self._password,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
            carried = legacy_sink_ledgers.carry_over(client)
            if carried:
                log.info("%s: carried %d committed entries of legacy sink ledgers over", url, carried)
            self._clients[url] = client
        return self._clients[url]

    def connect(self, url: str) -> None:
        """Connected to `url`, its legacy sink ledgers carried over (`_client`)."""
        try:
            self._client(url)
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"connecting to {url}: {err}") from err

    def read(self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]) -> dict[int, Checkpoint]:
        parts = list(partitions)
        found: dict[int, Checkpoint] = {}
        try:
            client = self._client(url)
            for i in range(0, len(parts), CHUNK):
                chunk = parts[i : i + CHUNK]
                values = client.mget([checkpoint_key(tenant, uid, p) for p in chunk])
                for partition, raw in zip(chunk, values, strict=True):
                    if raw is None:
                        continue
                    try:
                        found[partition] = Checkpoint.from_json(raw)
                    except msgspec.DecodeError as err:
                        log.warning("ignoring malformed checkpoint %s/%s: %s", uid, partition, err)
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"reading checkpoints from {url}: {err}") from err
        return found

    def get(self, url: str, key: str) -> bytes | None:
        """One key (the reconciliation report, a worker's failure message); None when absent."""
        try:
            raw = self._client(url).get(key)
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"reading {key} from {url}: {err}") from err
        return raw if isinstance(raw, bytes) or raw is None else str(raw).encode()

    def promotions(
        self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]
    ) -> dict[int, PromotionCheckpoint]:
        """The promotion Job's per-partition checkpoint mirrors."""
        parts = list(partitions)
        try:
            values = self._client(url).mget([promotion_key(tenant, uid, p) for p in parts]) if parts else []
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"reading promotion checkpoints from {url}: {err}") from err
        found: dict[int, PromotionCheckpoint] = {}
        for partition, raw in zip(parts, values, strict=True):
            if raw is not None:
                try:
                    found[partition] = PromotionCheckpoint.from_json(raw)
                except msgspec.DecodeError as err:
                    log.warning("ignoring malformed promotion checkpoint %s/%s: %s", uid, partition, err)
        return found

    def delete_matching(self, url: str, patterns: Iterable[str]) -> int:
        """Delete every key matching the SCAN patterns; how many were deleted."""
        deleted = 0
        try:
            client = self._client(url)
            for pattern in patterns:
                batch: list[bytes] = []
                for key in client.scan_iter(match=pattern, count=1000):
                    batch.append(key)
                    if len(batch) >= CHUNK:
                        deleted += int(client.unlink(*batch))
                        batch = []
                if batch:
                    deleted += int(client.unlink(*batch))
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"deleting keys on {url}: {err}") from err
        return deleted

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def carried_forward(plan: Plan, previous: list[PartitionProgress]) -> dict[int, Checkpoint]:
    """Checkpoints rebuilt from the last status, for when Redis is unreachable (rate becomes 0)."""
    spans = {p.partition: p for p in plan.partitions}
    result: dict[int, Checkpoint] = {}
    for entry in previous:
        span = spans.get(entry.partition)
        if span is None or entry.committed_offset is None:
            continue
        counts: dict[str, Any] = {name: getattr(entry, name) for name in CARRIED_COUNTS}
        result[entry.partition] = Checkpoint(
            partition=entry.partition,
            start_offset=span.start_offset,
            end_offset=span.end_offset,
            committed_offset=entry.committed_offset,
            **counts,
        )
    return result
