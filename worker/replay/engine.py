"""Replay one partition's frozen range exactly once into the sandbox topic.

Set-up (the source partition exists, the sandbox and dead-letter topics too, the range is still
in the log), then the transactional loop (`runtime/transactional_loop.py`): per transaction,
consume a batch -> `ReplayBatches.prepare` (validate, transform, ledger request) -> `finish` the
previous batch (ledger verdicts, produce, digest) -> commit on a digest block boundary once the
transaction is big or old enough. While a commit is in flight the next transaction's first batches
are consumed and prepared (`_prepare_ahead`), and produced once it has begun. A crash anywhere
resumes from the last committed transaction: the ledger marks left by the aborted attempt carry
their offset, so they are recognised as ours.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from ..contract.checkpoints import Checkpoint
from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.kafka_clients import job_config, range_reader_config, watermarks
from ..contract.names import checkpoint_key
from ..contract.tasks import Task
from ..ledger.dedup import ReplayLedger
from ..ledger.watermark import LedgerWatermark
from ..runtime import digest, failpoints, kafka_io
from ..runtime.formats import decoder
from ..runtime.redis_connection import connect_redis
from ..runtime.restart_guard import last_source_offset, read_mirror, resume_replay
from ..runtime.sink_encoding import encoder
from ..runtime.transactional_loop import TransactionalLoop, TransactionBudget
from . import poison
from .batch import Prepared, ReplayBatches
from .metrics import WorkerMetrics
from .progress_mirror import ProgressMirror
from .transform import build
from .validate import Validator

log = logging.getLogger("eventreplay.worker")


class Engine:
    def __init__(self, task: Task) -> None:
        self.task = task
        self.src = task.source
        # User code and the schema are resolved before any connection: a refused name or `$ref`
        # fails the task having reached neither Kafka nor Redis.
        transform = build(task.transform, record=task.sink.from_transform)
        validator = Validator(task.validation, task.as_of, needs_doc=transform.needs_doc)
        self.redis = connect_redis(task.dedup)
        self.mirror = ProgressMirror(self.redis, task)
        self.watermark = LedgerWatermark(self.redis, task)
        ledger = ReplayLedger(
            self.redis,
            namespace=task.replay.key_tenant,
            ledger=task.dedup.ledger,
            uid=task.replay.uid,
            partition=self.src.partition,
            span=self.src.end_offset - self.src.start_offset,
            mode=task.dedup.mode,
            ttl_seconds=task.dedup.ttl_seconds,
            hash_content=task.dedup.hash_content,
        )
        self._carry: list[Message] = []  # consumed past a transaction's limit, for the next one
        self.admin, self.consumer, self.producer = kafka_io.new_clients(task)
        decode, encode = decoder(task.source_format, self.src.topic), encoder(task.sink_format, task.sink_subject)
        self.batches = ReplayBatches(task, self.producer, ledger, transform, validator, decode=decode, encode=encode)
        self._where = f"{self.src.topic}/{self.src.partition}"
        self.metrics = WorkerMetrics(task.replay.namespace, task.replay.name, self.src.topic, self.src.partition)
        tuning = task.tuning
        self.loop: TransactionalLoop[Checkpoint] = TransactionalLoop(
            self.producer,
            self.consumer,
            self.src.topic,
            self.src,
            budget=lambda: TransactionBudget(tuning.transaction_max_records, tuning.transaction_max_seconds),
            mirror=self.mirror.write,
            committed=self.metrics.committed,
            meanwhile=self._prepare_ahead,
        )
        # Batches of the next transaction prepared while this one commits, with their end offsets.
        self._ahead: list[tuple[Prepared, int]] = []
        self._ahead_from = 0  # the offset they start at (the committed offset they follow)

    # -- set-up ---------------------------------------------------------------------------------
    def _setup(self) -> Checkpoint:
        servers = self.task.kafka.bootstrap_servers
        count = kafka_io.partition_count(self.admin, self.src.topic, servers)
        if self.src.partition >= count:
            raise PermanentFailure(
                f"topic {self.src.topic!r} has no partition {self.src.partition} ({count} partitions)"
            )
        kafka_io.ensure_topics(
            self.admin, [self.task.output.sandbox_topic, self.task.output.dead_letter_topic], count, servers, self.task
        )
        start, end = self.src.start_offset, self.src.end_offset

        def same_plan(c: Checkpoint) -> bool:
            return (c.start_offset, c.end_offset) == (start, end)

        ckpt = self.loop.restore(Checkpoint, same_plan, lambda: self._lost(same_plan))
        if ckpt.committed_offset >= end:
            return ckpt
        low, high = watermarks(self.consumer, self.src.topic, self.src.partition, servers)
        if ckpt.committed_offset < low:
            raise PermanentFailure(
                f"retention expired: offset {ckpt.committed_offset} of {self._where} is below the log "
                f"start offset {low}; events {ckpt.committed_offset}..{low - 1} are gone"
            )
        if high < end:
            raise PermanentFailure(
                f"end offset {end} is beyond the log end {high} of {self._where} (was the topic recreated?)"
            )
        self.watermark.open(ckpt)
        return ckpt

    def _lost(self, same_plan: Callable[[Checkpoint], bool]) -> Checkpoint | None:
        """The group lost its offsets: resume from the mirror if the output proves it current."""
        task, servers = self.task, self.task.kafka.bootstrap_servers
        mirror = read_mirror(
            self.redis, checkpoint_key(task.replay.key_tenant, task.replay.uid, self.src.partition), Checkpoint
        )
        reader = Consumer(range_reader_config(job_config(task.kafka), task.group_id))
        try:
            marks = [
                last_source_offset(reader, topic, self.src.partition, task.replay.uid, servers)
                for topic in (task.output.sandbox_topic, task.output.dead_letter_topic)
            ]
        finally:
            reader.close()
        written = max((m for m in marks if m is not None), default=None)
        return resume_replay(mirror, same_plan, written, self._where)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> Checkpoint:
        ckpt = self._setup()
        self.metrics.resumed(ckpt)
        if ckpt.committed_offset < self.src.end_offset:
            self.consumer.assign([TopicPartition(self.src.topic, self.src.partition, ckpt.committed_offset)])
            ckpt = self.loop.run(ckpt, self._fill)
        return self.loop.finish(ckpt)

    def _fill(self, ckpt: Checkpoint, budget: TransactionBudget) -> int:
        """One transaction's records; the next offset to read (a digest block boundary or the end)."""
        tuning, batches = self.task.tuning, self.batches
        end = self.src.end_offset
        chain = digest.BlockDigest(bytes.fromhex(ckpt.digest) if ckpt.digest else digest.ZERO)
        nxt = start = ckpt.committed_offset
        records_before = ckpt.records
        limit = end  # lowered to a digest block boundary once the transaction is big or old enough
        records = 0
        last_progress = time.monotonic()
        pending: Prepared | None = None
        pending_end = nxt
        ahead, self._ahead = self._ahead, []
        if ahead and self._ahead_from != nxt:
            raise RetriableFailure(f"batches prepared from offset {self._ahead_from}, the transaction starts at {nxt}")
        for prepared, prepared_end in ahead:  # prepared during the last commit: produced in this transaction
            batches.finish(prepared, ckpt, chain)
            self._check_poison(ckpt)
            failpoints.produced_up_to(prepared_end, self.producer.flush)
            records += len(prepared.outcomes)
            nxt = prepared_end
        while nxt < limit:
            batch, nxt = self._next_batch(nxt, limit)
            if batch:
                # Overlap: the ledger classifies this batch while the previous one is produced.
                batch_began = time.perf_counter()
                prepared = batches.prepare(batch)
                if pending is not None:
                    batches.finish(pending, ckpt, chain)
                    self._check_poison(ckpt)
                    failpoints.produced_up_to(pending_end, self.producer.flush)
                pending, pending_end = prepared, nxt
                self.metrics.batch(time.perf_counter() - batch_began)
                records += len(batch)
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > tuning.stall_timeout_seconds:
                raise RetriableFailure(
                    f"no progress for {tuning.stall_timeout_seconds:.0f}s at offset {nxt} (< end {end}): "
                    "an open transaction on the source may hold back the last stable offset"
                )
            if limit == end and budget.spent(records):
                # Commit on a block boundary: a checkpoint never falls inside a digest block.
                limit = min(end, digest.block_end(nxt))
        if pending is not None:
            batches.finish(pending, ckpt, chain)
            self._check_poison(ckpt)
        ckpt.digest = chain.close().hex()
        # Markers, aborted and compacted-away records leave offsets the consumer never returns.
        ckpt.count_skipped(nxt - start, records_before)
        self.watermark.advance(ckpt.committed_offset, nxt)  # every verdict is in: prove the ledger kept them
        self._ahead_from = nxt
        return nxt

    def _prepare_ahead(self, committed: Callable[[], bool]) -> None:
        """While a transaction commits: consume, validate, transform and mark the next batches.

        The main thread would only wait for the commit (~20 % of a replay's time, measured);
        producing must wait for the next transaction, so these batches are kept for its `_fill`.
        Bounded: half a transaction's records at most, and it stops as soon as the commit is over.
        """
        nxt, end = self._ahead_from, self.src.end_offset
        room = self.task.tuning.transaction_max_records // 2
        while not committed() and nxt < end and room > 0:
            batch, after = self._next_batch(nxt, end)
            if after == nxt:
                return  # nothing at hand: the commit is short anyway
            # An empty batch still moves the position (control records): it is kept like the others.
            self._ahead.append((self.batches.prepare(batch), after))
            room -= len(batch)
            nxt = after

    def _check_poison(self, ckpt: Checkpoint) -> None:
        why = poison.tripped(ckpt, self.task.validation.poison_breaker)
        if why is not None:
            raise PermanentFailure(why)

    def _next_batch(self, nxt: int, limit: int) -> tuple[list[Message], int]:
        """Records in [nxt, limit) and the next offset to read (at most `limit`).

        Messages at or past a limit below the end were consumed already: they are kept, in
        order, for the next transaction.
        """
        msgs = self._carry or self.consumer.consume(self.task.tuning.batch_size, timeout=0.5)
        self._carry = []
        if not msgs:
            return msgs, nxt
        last = msgs[-1].offset()
        # The common batch: only records, all below the limit (one partition: offsets ascend).
        if (
            last is not None
            and nxt <= (msgs[0].offset() or 0)
            and last < limit
            and not [m for m in msgs if m.error() is not None]
        ):
            return msgs, last + 1
        out: list[Message] = []
        for index, msg in enumerate(msgs):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    # The fetch position passed every record and control marker below this offset.
                    if (msg.offset() or 0) >= limit:
                        if limit < self.src.end_offset:
                            self._carry = msgs[index:]
                        return out, limit
                    continue
                if err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    raise PermanentFailure(f"retention expired while replaying at offset {nxt}: {err.str()}")
                if err.fatal():
                    raise RetriableFailure(f"consumer: {err.str()}")
                log.warning("consumer: %s", err.str())
                continue
            offset = msg.offset() or 0
            if offset >= limit:
                if limit < self.src.end_offset:
                    self._carry = msgs[index:]
                return out, limit
            if offset >= nxt:
                out.append(msg)
                nxt = offset + 1
        return out, nxt
