"""Reading the workers' progress mirrors from Redis (MGET of `eventreplay:ckpt:{uid}:{partition}`),
the reconciliation report and the promotion checkpoints.

Redis is an accelerator, not the truth (the truth is the output transaction in Kafka): when it
cannot be read, the previous status is carried forward instead of reporting progress as lost.
"""

from __future__ import annotations

import logging
import time
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
CARRY_AGAIN_SECONDS = 60.0
"""While a 0.1.0 promotion holds claims, how often a Redis's legacy sink ledgers are carried again
(a SCAN of its keyspace); the sink it promotes into is checked every pass (`legacy_sink_claims`)."""
CARRIED_COUNTS = ("emitted", "duplicate", "processed", "dead_lettered")
"""The per-bucket counts status keeps per partition (same names in PartitionProgress and Checkpoint)."""


class CheckpointsUnavailable(Exception):
    """Redis could not be read this time."""

    reason = "RedisUnavailable"


class CheckpointReader:
    """One Redis client per URL, created lazily; the operator's own password, never a tenant Secret."""

    def __init__(self, password: str | None = None, timeout: float = 5.0) -> None:
        self._password = password
        self._timeout = timeout
        self._clients: dict[str, redis.Redis] = {}
        self._settled: set[str] = set()
        """URLs whose legacy sink ledgers are carried over for good."""
        self._carried_at: dict[str, float] = {}
        """URLs carried over while a 0.1.0 promotion held claims: when (monotonic)."""

    def _client(self, url: str) -> redis.Redis:
        """The client of `url`, created at its first use."""
        if url not in self._clients:
            self._clients[url] = redis.Redis.from_url(
                url,
                password=self._password,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
        return self._clients[url]

    def carry_legacy_sink_ledgers(self, url: str) -> bool:
        """Chart 0.1.0's sink ledgers in `url` carried over (`legacy_sink_ledgers.carry_over_once`):
        called before the operator creates a Job that reads or writes a sink ledger there. True once
        they are for good (the marker), after which Redis is not asked again; until then (a 0.1.0
        promotion holds open claims) carried again at most every `CARRY_AGAIN_SECONDS`, and False."""
        if url in self._settled:
            return True
        last = self._carried_at.get(url)
        if last is not None and time.monotonic() - last < CARRY_AGAIN_SECONDS:
            return False
        try:
            done = legacy_sink_ledgers.carry_over_once(self._client(url))
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"carrying legacy sink ledgers over in {url}: {err}") from err
        if done.carried:
            log.info("%s: carried %d committed entries of legacy sink ledgers over", url, done.carried)
        for key, claims in done.open_claims.items():
            log.info("%s: %s holds %d open claims of a chart 0.1.0 promotion; carried again later", url, key, claims)
        if done.settled:
            self._settled.add(url)
        else:
            self._carried_at[url] = time.monotonic()
        return done.settled

    def legacy_sink_claims(self, url: str, cluster: str, topic: str) -> int:
        """Open claims of a 0.1.0 promotion in the sink's legacy ledger, its committed entries
        carried over first (`legacy_sink_ledgers.open_legacy_claims`); 0 once all are carried for good."""
        if url in self._settled:
            return 0
        try:
            return legacy_sink_ledgers.open_legacy_claims(self._client(url), cluster, topic)
        except redis.RedisError as err:
            raise CheckpointsUnavailable(f"reading the legacy sink ledger of {topic} in {url}: {err}") from err

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
