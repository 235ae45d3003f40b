"""The checkpoint a worker writes after each committed transaction, and where it lives.

Truth and mirror:
- The truth is Kafka: the replay-private group's committed offset for the source partition,
  committed in the same transaction as the output, with this checkpoint (compact JSON) as the
  offset's commit metadata. A restarted worker resumes from it, counts and digest included.
- The mirror is Redis, for progress: key `eventreplay:ckpt:{uid}:{partition}` (a JSON string,
  written after each commit, TTL = the ledger TTL). The operator reads these with MGET.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import msgspec

CHECKPOINT_KEY = "eventreplay:ckpt:{uid}:{partition}"

BUCKETS = ("emitted", "duplicate", "processed", "dead_lettered")
"""Every source record ends in exactly one bucket:
emitted (to the sandbox), duplicate (repeat inside the replay), processed (skipProcessed: the
production ledger already holds it with the same content), dead_lettered (with a reason)."""

State = Literal["running", "done", "failed"]


class Checkpoint(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    partition: int
    start_offset: int
    end_offset: int
    committed_offset: int
    """Next offset to read (everything before it is committed)."""
    emitted: int = 0
    duplicate: int = 0
    processed: int = 0
    dead_lettered: int = 0
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    """Dead-letter counts per reason class (malformed_json, schema, missing_id, tombstone, ...)."""
    bytes_in: int = 0
    bytes_out: int = 0
    digest: str = ""
    """SHA-256 chain over the emitted records in offset order, by blocks of source offsets (`digest.py`)."""
    transactions: int = 0
    started_at: float = 0.0
    updated_at: float = 0.0
    state: State = "running"
    message: str = ""

    @property
    def records(self) -> int:
        return self.emitted + self.duplicate + self.processed + self.dead_lettered

    @property
    def remaining(self) -> int:
        return max(0, self.end_offset - self.committed_offset)

    @property
    def percent(self) -> float:
        span = self.end_offset - self.start_offset
        return 100.0 if span <= 0 else 100.0 * (self.committed_offset - self.start_offset) / span

    @classmethod
    def fresh(cls, partition: int, start_offset: int, end_offset: int) -> Checkpoint:
        """Nothing committed yet: the range starts at its first offset."""
        stamp = now()
        return cls(
            partition=partition,
            start_offset=start_offset,
            end_offset=end_offset,
            committed_offset=start_offset,
            started_at=stamp,
            updated_at=stamp,
        )

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Checkpoint:
        return msgspec.json.decode(raw, type=cls)


def checkpoint_key(uid: str, partition: int) -> str:
    return CHECKPOINT_KEY.format(uid=uid, partition=partition)


def now() -> float:
    return datetime.now(UTC).timestamp()
