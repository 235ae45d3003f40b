"""The checkpoints a worker writes after each committed transaction, and their Redis mirror.

Truth and mirror:
- The truth is Kafka: the Job's private group's committed offset on the partition it reads,
  committed in the same transaction as the output, with the checkpoint (compact JSON) as the
  offset's commit metadata. A restarted Job resumes from it, counts and digest included.
- The mirror is Redis, for progress: a JSON string per partition (`names.checkpoint_key`,
  `names.promotion_key`), written after each commit with the ledger's or report's TTL; the
  operator and `eventreplay run` read it.
The JSON is camelCase with defaults omitted. Other processes (and older or newer workers resuming
from commit metadata) decode it by field name: the names and values are the format, not the order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Self

import msgspec
import redis

from .exit_codes import RetriableFailure

State = Literal["running", "done", "failed", "paused"]
"""`paused`: a promotion partition stopped at its rollout step's quota (`PromotionCheckpoint.step`),
short of its range's end: not done, the next step resumes there. Only ever in a mirror."""

BUCKETS = ("emitted", "duplicate", "processed", "dead_lettered")
"""Every source record ends in exactly one bucket:
emitted (to the sandbox), duplicate (repeat inside the replay), processed (skipProcessed: the
production ledger already holds it with the same content), dead_lettered (with a reason)."""

REWRITTEN_LISTED = 100
"""At most this many ids production rewrote are listed (per partition's checkpoint, and in all)."""


def now() -> float:
    return datetime.now(UTC).timestamp()


class CheckpointBase(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """The fields and logic every checkpoint shares: a partition's [start, end) range, how far it is
    committed, the digest chain so far, and the Job's state."""

    partition: int
    start_offset: int
    end_offset: int
    committed_offset: int
    """Next offset to read (everything before it is committed)."""
    digest: str = ""
    """SHA-256 chain over what was written, in order (`worker/runtime/digest.py`)."""
    transactions: int = 0
    started_at: float = 0.0
    updated_at: float = 0.0
    state: State = "running"

    @property
    def remaining(self) -> int:
        return max(0, self.end_offset - self.committed_offset)

    @property
    def percent(self) -> float:
        span = self.end_offset - self.start_offset
        return 100.0 if span <= 0 else 100.0 * (self.committed_offset - self.start_offset) / span

    @classmethod
    def fresh(cls, partition: int, start_offset: int, end_offset: int, **fields: Any) -> Self:
        """Nothing committed yet: the range starts at its first offset."""
        stamp = now()
        return cls(
            partition=partition,
            start_offset=start_offset,
            end_offset=end_offset,
            committed_offset=start_offset,
            started_at=stamp,
            updated_at=stamp,
            **fields,
        )

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        return msgspec.json.decode(raw, type=cls)


class Checkpoint(CheckpointBase, kw_only=True, omit_defaults=True, rename="camel"):
    """A replay worker's progress on its source partition (digest: over the emitted records in
    offset order, by blocks of source offsets)."""

    emitted: int = 0
    duplicate: int = 0
    processed: int = 0
    dead_lettered: int = 0
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    """Dead-letter counts per reason class (malformed_json, schema, missing_id, tombstone, ...)."""
    skipped_offsets: int = 0
    """Offsets consumed without a record: transaction markers, aborted records, records compacted
    away. With the buckets they account for every offset committed; absent in a
    checkpoint written by a worker from before it (it counted none)."""
    bytes_in: int = 0
    bytes_out: int = 0
    message: str = ""
    watermarked: bool = False
    """The ledger's watermark is kept for this partition (`worker/ledger/watermark.py`); unset in a
    checkpoint written by a worker from before it, which resumes by setting one."""

    @property
    def records(self) -> int:
        return self.emitted + self.duplicate + self.processed + self.dead_lettered

    def count_skipped(self, advanced: int, records_before: int) -> None:
        """A transaction moved `advanced` offsets on from a checkpoint holding `records_before`
        records: the offsets among them that added no record to a bucket held none."""
        self.skipped_offsets += advanced - (self.records - records_before)


class PromotionCheckpoint(CheckpointBase, kw_only=True, omit_defaults=True, rename="camel"):
    """A promoter's progress on one sandbox partition (its group is `names.promote_group_id`;
    digest: over the (key, value) pairs written, in the order written)."""

    report_hash: str
    written: int = 0
    """Delta records written to the destination."""
    skipped_identical: int = 0
    """Sandbox records whose id's existing output already has the same canonical content."""
    skipped_duplicate: int = 0
    """Sandbox records of an id whose winning copy is in another partition or earlier offset."""
    already_promoted: int = 0
    """Delta records another promotion already wrote into the destination with the same content."""
    rewritten: int = 0
    """Delta records not written: production rewrote their id in the destination after the report."""
    rewritten_ids: list[str] = msgspec.field(default_factory=list)
    """The first of those ids, bounded (`add_rewritten`): the checkpoint rides in commit metadata."""
    blocked_by: str = ""
    """Mirror only (never committed): the uid of another replay whose open claim on an id in the
    sink stopped this partition's promotion; the promoter retries. Cleared by the next commit."""
    blocked_since: float = 0.0
    """When this promotion first found that replay's claim (kept across the Job's retries)."""
    step: int = 0
    """The rollout step (`RolloutStep.index`) of the Job that wrote this checkpoint; 0: a whole
    promotion. With state `paused`: this partition reached that step's quota; `done`: finished."""

    @property
    def handled(self) -> int:
        """The delta records dealt with: written, or left as they are (already promoted, rewritten)."""
        return self.written + self.already_promoted + self.rewritten

    def add_rewritten(self, event_id: str) -> None:
        """Count an id production rewrote; list it while the list stays small. Kafka caps a commit's
        metadata (offset.metadata.max.bytes, 4 KiB by default) and the checkpoint is that metadata."""
        self.rewritten += 1
        if len(self.rewritten_ids) < REWRITTEN_LISTED and sum(map(len, self.rewritten_ids)) + len(event_id) <= 1024:
            self.rewritten_ids.append(event_id)

    def summary(self) -> dict[str, object]:
        return {
            "partition": self.partition,
            "written": self.written,
            "skippedIdentical": self.skipped_identical,
            "skippedDuplicate": self.skipped_duplicate,
            "alreadyPromoted": self.already_promoted,
            "rewritten": self.rewritten,
            "digest": self.digest,
            "state": self.state,
        }


# Compare-and-set: a mirror never moves back. A paused zombie (fenced in Kafka, so it can commit
# nothing) may still wake up and write the checkpoint it held; that must not regress what the
# operator reads. Same offset: a "done" mirror is not turned back into a running one.
_MIRROR_CAS = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and old.committedOffset then
    local new = cjson.decode(ARGV[1])
    if old.committedOffset > new.committedOffset then return 0 end
    if old.committedOffset == new.committedOffset and old.state == 'done' and new.state == nil then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def write_mirror(client: redis.Redis, key: str, ckpt: CheckpointBase, ttl: int, what: str) -> bool:
    """Set the checkpoint's mirror with its TTL unless it holds a later one (compare-and-set);
    whether it was written. `what` names the mirror in the failure."""
    try:
        return bool(client.eval(_MIRROR_CAS, 1, key, ckpt.to_json(), ttl))
    except redis.RedisError as err:
        # The output is committed in Kafka; a retried Job resumes from there.
        raise RetriableFailure(f"{what}: {err}") from err


def rewritten_ids(per_partition: Iterable[list[str]]) -> list[str]:
    """The ids production rewrote, listed across partitions: sorted, the first `REWRITTEN_LISTED`."""
    return sorted({i for ids in per_partition for i in ids})[:REWRITTEN_LISTED]


def combine_digests(per_partition: Iterable[tuple[int, str]]) -> str:
    """SHA-256 over the per-partition digests (32 bytes each; none yet counts as zeros) in partition order."""
    sha = hashlib.sha256()
    for _, hexd in sorted(per_partition):
        sha.update(bytes.fromhex(hexd) if hexd else bytes(32))
    return sha.hexdigest()
