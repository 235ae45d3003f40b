"""The promotion checkpoint of one sandbox partition, and where it lives.

Truth: the promotion group's (`eventreplay-<uid>-promote-<reportHash[:16]>`) committed offset
on the sandbox partition, committed in the same transaction as the promoted records, with this
checkpoint (compact JSON) as commit metadata. Mirror: Redis `eventreplay:promotion:{uid}:{partition}`
(JSON string, TTL = the report's), written after each commit, for the operator's status.

`digest` is the SHA-256 chain of `digest.py` over the (key, value) pairs written, in the order
written; the Job's summary combines the partitions' digests with `canonical.combine_digests`.
"""

from __future__ import annotations

import msgspec
import redis

from .checkpoint import State, now
from .errors import RetriableFailure

PROMOTION_KEY = "eventreplay:promotion:{uid}:{partition}"


class PromotionCheckpoint(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    partition: int
    report_hash: str
    start_offset: int
    end_offset: int
    committed_offset: int
    """Next sandbox offset to read (everything before it is committed)."""
    written: int = 0
    """Delta records written to the destination."""
    skipped_identical: int = 0
    """Sandbox records whose id's existing output already has the same canonical content."""
    skipped_duplicate: int = 0
    """Sandbox records of an id whose winning copy is in another partition or earlier offset."""
    digest: str = ""
    transactions: int = 0
    started_at: float = 0.0
    updated_at: float = 0.0
    state: State = "running"

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, raw: bytes | str) -> PromotionCheckpoint:
        return msgspec.json.decode(raw, type=cls)

    def summary(self) -> dict[str, object]:
        return {
            "partition": self.partition,
            "written": self.written,
            "skippedIdentical": self.skipped_identical,
            "skippedDuplicate": self.skipped_duplicate,
            "digest": self.digest,
            "state": self.state,
        }


def promotion_key(uid: str, partition: int) -> str:
    return PROMOTION_KEY.format(uid=uid, partition=partition)


def fresh(partition: int, report_hash: str, start: int, end: int) -> PromotionCheckpoint:
    stamp = now()
    return PromotionCheckpoint(
        partition=partition,
        report_hash=report_hash,
        start_offset=start,
        end_offset=end,
        committed_offset=start,
        started_at=stamp,
        updated_at=stamp,
    )


def mirror(client: redis.Redis, uid: str, ckpt: PromotionCheckpoint, ttl: int) -> None:
    try:
        client.set(promotion_key(uid, ckpt.partition), ckpt.to_json(), ex=ttl)
    except redis.RedisError as err:
        # The output is committed in Kafka; a retried promoter resumes from there.
        raise RetriableFailure(f"Redis (promotion progress mirror): {err}") from err
