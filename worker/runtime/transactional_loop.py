"""The transactional read-process-write loop over one source partition's [start, end) range.

Shared by the replay (source partition -> sandbox) and the promotion (sandbox partition ->
destination). The loop owns what makes them exactly once: `init_transactions` (fences an older
process with the same transactional.id and aborts its open transaction), the committed offset and
the checkpoint kept in its commit metadata (resume exactly where the last transaction ended,
counts and digest included), begin / produce / send_offsets_to_transaction / commit with the
transaction limits, the mapping of Kafka errors (fenced vs retriable) and the progress mirror
after each commit. The caller plugs in its checkpoint type and `fill`: read, process and produce
one transaction's records, and may give work to do `meanwhile` a commit is in flight (nothing
that produces or touches the checkpoint: the commit's metadata is already taken).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from ..contract.checkpoints import CheckpointBase, now
from ..contract.exit_codes import Fenced, PermanentFailure, RetriableFailure
from ..contract.tasks import OffsetRange
from . import failpoints
from .bounded import call_within

log = logging.getLogger("eventreplay.worker")
C = TypeVar("C", bound=CheckpointBase)

CALL_TIMEOUT_SECONDS = 60  # what librdkafka is given for the commit's calls
CALL_DEADLINE_SECONDS = 75  # ours, for when it does not keep its own (`bounded.py`)
_FENCED_CODES = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


def kafka_failure(err: KafkaException, what: str, producer: Producer | None = None) -> Exception:
    """Map a Kafka client error to the worker's failure classes."""
    kerr: KafkaError = err.args[0]
    if kerr.code() == KafkaError._FATAL and producer is not None:
        # produce() only says "fatal"; the transactional API reports the underlying cause.
        try:
            producer.abort_transaction(5)
        except KafkaException as cause:
            kerr = cause.args[0]
    if kerr.code() in _FENCED_CODES:
        return Fenced(f"{what}: fenced by a newer worker for this partition ({kerr.str()})")
    return RetriableFailure(f"{what}: {kerr.str()}")


@dataclass(slots=True)
class TransactionBudget:
    """When a transaction has become big or old enough to commit (its records are the caller's count)."""

    max_records: int
    max_seconds: float
    began: float = field(default_factory=time.monotonic)

    def spent(self, records: int) -> bool:
        return records >= self.max_records or time.monotonic() - self.began >= self.max_seconds


Fill = Callable[[C, TransactionBudget], int]
"""Read, process and produce one transaction's records (adding to the checkpoint's counts and
digest) until the budget is spent or the range ends; return the next source offset to read."""


class TransactionalLoop(Generic[C]):
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        topic: str,
        span: OffsetRange,
        *,
        budget: Callable[[], TransactionBudget],
        mirror: Callable[[C], None],
        committed: Callable[[C], None] | None = None,
        role: str = "transactional producer",
        meanwhile: Callable[[Callable[[], bool]], None] | None = None,
    ) -> None:
        self.producer, self.consumer, self.topic = producer, consumer, topic
        self.partition, self.start_offset, self.end_offset = span.partition, span.start_offset, span.end_offset
        self._budget, self._mirror, self._committed = budget, mirror, committed
        self._role = role
        self._meanwhile = meanwhile  # work for the next transaction while this one commits (no produce)
        self._where = f"{topic}/{span.partition}"

    def restore(
        self, kind: type[C], same_plan: Callable[[C], bool], lost: Callable[[], C | None] | None = None, **fresh: Any
    ) -> C:
        """Fence older processes, then the checkpoint of the last committed transaction (or a fresh one).

        `same_plan` says whether a committed checkpoint belongs to this task's frozen plan: one that
        does not is a permanent failure (a frozen plan must not change under a running group).
        `lost` decides when the group has no committed offset: a checkpoint kept elsewhere to resume
        from, None for a fresh start, or a permanent failure (`worker/runtime/restart_guard.py`).
        """
        try:
            self.producer.init_transactions(60)
            committed = self.consumer.committed([TopicPartition(self.topic, self.partition)], timeout=30)[0]
        except KafkaException as err:
            raise kafka_failure(err, f"initialising the {self._role}") from err
        if committed.offset < 0 or not committed.metadata:
            found = lost() if lost is not None else None
            if found is None:
                return kind.fresh(self.partition, self.start_offset, self.end_offset, **fresh)
            log.warning(
                "%s: no committed offset; resuming at offset %d from the checkpoint mirror",
                self._where,
                found.committed_offset,
            )
            return found
        ckpt = kind.from_json(committed.metadata)
        if not same_plan(ckpt):
            raise PermanentFailure(
                f"the group of {self._where} committed range [{ckpt.start_offset}, {ckpt.end_offset}) of "
                f"another plan; the task asks for [{self.start_offset}, {self.end_offset}): a frozen plan "
                "must not change"
            )
        log.info("%s: resuming at offset %d", self._where, ckpt.committed_offset)
        return ckpt

    def run(self, ckpt: C, fill: Fill[C], until: Callable[[C], bool] | None = None) -> C:
        """Transactions until the range is committed to its end, or `until` says the caller stops
        short of it (a promotion step's quota, `worker/promotion/rollout.py`)."""
        while ckpt.committed_offset < self.end_offset and not (until is not None and until(ckpt)):
            ckpt = self._transaction(ckpt, fill)
        return ckpt

    def pause(self, ckpt: C) -> C:
        """Stopped short of the range's end: say so in the mirror (`paused`); the group's position
        stays where the last transaction put it, for the next run to resume from."""
        failpoints.reach(failpoints.BEFORE_PAUSE_MIRROR)
        paused = msgspec.structs.replace(ckpt, state="paused", updated_at=now())
        self._mirror(paused)
        self.consumer.close()
        return paused

    def finish(self, ckpt: C) -> C:
        """The range is done: say so in the mirror, and leave the group's position as it is."""
        failpoints.reach(failpoints.BEFORE_FINAL_MIRROR)
        ckpt.state, ckpt.updated_at = "done", now()
        self._mirror(ckpt)
        self.consumer.close()
        return ckpt

    def _transaction(self, ckpt: C, fill: Fill[C]) -> C:
        start = nxt = ckpt.committed_offset
        try:
            self.producer.begin_transaction()
            nxt = fill(ckpt, self._budget())
            ckpt.committed_offset = nxt
            ckpt.transactions += 1
            ckpt.updated_at = now()
            position = TopicPartition(self.topic, self.partition, nxt, metadata=ckpt.to_json().decode())
            group = self.consumer.consumer_group_metadata()

            def commit() -> None:
                self.producer.send_offsets_to_transaction([position], group, CALL_TIMEOUT_SECONDS)
                self.producer.commit_transaction(CALL_TIMEOUT_SECONDS)

            meanwhile = self._meanwhile if nxt < self.end_offset else None
            what = f"committing the transaction of {self._where} to offset {nxt}"
            call_within(commit, CALL_DEADLINE_SECONDS, what, meanwhile)
        except KafkaException as err:
            what = f"transaction from offset {start} of {self._where}" + (f" to {nxt}" if nxt != start else "")
            raise kafka_failure(err, what, self.producer) from err
        if self._committed is not None:
            self._committed(ckpt)
        self._mirror(ckpt)
        return ckpt
