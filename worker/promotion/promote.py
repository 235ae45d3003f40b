"""Promote the delta of a reconciliation report from the sandbox to the sink, exactly once.

Per sandbox partition: a transactional read-process-write loop. Consume the sandbox
(read_committed, the report's frozen [start, end)) -> ask Redis, one scripted round trip per
batch, whether each record is its id's winning copy and in the delta (`spill.Verdicts`) ->
produce the delta records shaped as the replay said (`shape.py`: key, headers, timestamp; a
keyed record in the partition Kafka's Java clients choose for its key) -> commit the transaction
with the sandbox position and the checkpoint as commit metadata -> mirror the checkpoint to Redis.
A crash aborts the open transaction (the restarted promoter's init_transactions fences the
zombie with the same transactional.id) and resumes from the committed checkpoint; a finished
partition resumes at its end and writes nothing.
A rollout step (`task.rollout`, `rollout.py`) stops each partition at its quota of delta records,
at a capped write rate; the next step resumes where it committed, the last one finishes.
Before each partition it catches up on what production wrote into the sink since the report
(`rewrites.py`): a delta id rewritten since is left to production's newer value, counted and listed.
Refuses (permanent) when the stored report is missing, is another report than the task's
reportHash, or lost part of its working set.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import redis
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from ..contract.checkpoints import PromotionCheckpoint, combine_digests, now, rewritten_ids, write_mirror
from ..contract.exit_codes import CLAIM_HELD, PermanentFailure, RetriableFailure
from ..contract.headers import PROMOTED_BY_HEADER, REPLAY_UID_HEADER, REPORT_HASH_HEADER
from ..contract.kafka_clients import job_config, range_reader_config, transactional_producer_config
from ..contract.names import promotion_key
from ..contract.ownership import written_by
from ..contract.step_tasks import PromoteTask
from ..contract.tasks import OffsetRange
from ..ledger.sink import Busy, SinkLedger
from ..runtime import digest, failpoints, kafka_io
from ..runtime.canonical import bucket_of, canonical_hash
from ..runtime.produce import Headers, produce
from ..runtime.range_reader import RangeReader
from ..runtime.redis_connection import connect_redis
from ..runtime.restart_guard import read_mirror, resume_promotion
from ..runtime.spill import Verdicts, coords
from ..runtime.transactional_loop import TransactionalLoop, TransactionBudget
from . import rollout
from .report import approved_report
from .rewrites import SinkTail
from .shape import SinkShape

log = logging.getLogger("eventreplay.promote")
TRANSACTION_MAX_SECONDS = 2.0


class Promoter:
    def __init__(self, task: PromoteTask) -> None:
        self.task = task
        self.uid = task.replay.uid
        self.uid_bytes = self.uid.encode()
        self.redis = connect_redis(task.redis)
        self.admin = AdminClient(job_config(task.kafka))
        self.extra_headers: Headers = [
            (PROMOTED_BY_HEADER, f"{task.replay.namespace}/{task.replay.name}".encode()),
            (REPLAY_UID_HEADER, self.uid.encode()),
            (REPORT_HASH_HEADER, task.report_hash.encode()),
        ]

    def run(self) -> dict[str, Any]:
        summary = approved_report(self.redis, self.task)
        plan = summary.report.plan
        count = kafka_io.partition_count(self.admin, self.task.sink_topic, self.task.kafka.bootstrap_servers)
        self.shape = SinkShape(self.task.partitioner, count, self.extra_headers)
        ranges = {
            r.partition: OffsetRange(partition=r.partition, start_offset=r.start_offset, end_offset=r.end_offset)
            for r in plan.sandbox
        }
        wanted = self.task.partitions if self.task.partitions is not None else sorted(ranges)
        unknown = sorted(set(wanted) - set(ranges))
        if unknown:
            raise PermanentFailure(f"the report has no sandbox partition(s) {unknown}")
        verdicts = Verdicts(self.redis, self.task.replay.key_tenant, self.uid, summary.run)
        self.cluster = kafka_io.cluster_id(self.admin, self.task.kafka.bootstrap_servers)
        self.names = tuple(plan.canonical.headers)
        self.tail = SinkTail(self.task, self.admin, summary.sink_mark, plan.event_id)
        self.pace = rollout.pace(self.task)  # one write budget for the Job's partitions
        done = []
        for p in sorted(wanted):
            expected = summary.report.delta_by_partition.get(str(p), 0)
            part = _Partition(self, plan.sandbox_topic, ranges[p], verdicts, summary.bucket_bits)
            done.append(part.run(expected))
        self.tail.close()
        return {
            "reportHash": self.task.report_hash,
            "written": sum(c.written for c in done),
            "skippedIdentical": sum(c.skipped_identical for c in done),
            "skippedDuplicate": sum(c.skipped_duplicate for c in done),
            "alreadyPromoted": sum(c.already_promoted for c in done),
            "rewritten": sum(c.rewritten for c in done),
            "rewrittenIds": rewritten_ids(c.rewritten_ids for c in done),
            "sha256": combine_digests((c.partition, c.digest) for c in done),
            "partitions": [c.summary() for c in done],
            **rollout.step_summary(self.task, done),
        }


class _Partition:
    def __init__(self, owner: Promoter, sandbox: str, r: OffsetRange, verdicts: Verdicts, bits: int) -> None:
        task = owner.task
        self.owner, self.task, self.sandbox, self.range = owner, task, sandbox, r
        self.verdicts, self.bits = verdicts, bits
        self.ledger = SinkLedger.of_promotion(owner.redis, owner.cluster, task, r.partition)
        self.claimed: list[str] = []  # ids this promotion claimed in the open transaction
        self.rewritten: set[str] = set()  # ids production rewrote since the report (`rewrites.py`)
        base = job_config(task.kafka)
        self.consumer = Consumer(range_reader_config(base, task.group_id))
        self.producer = Producer(
            transactional_producer_config(base, task.transactional_id(r.partition), partitioner=task.partitioner)
        )
        tuning = task.tuning
        self.reader = RangeReader(self.consumer, sandbox, r, rollout.read_batch(task), tuning.stall_timeout_seconds)
        self.limit: int | None = None  # the handled count this step stops at (`rollout.py`); None: the end
        self.loop: TransactionalLoop[PromotionCheckpoint] = TransactionalLoop(
            self.producer,
            self.consumer,
            sandbox,
            r,
            budget=lambda: TransactionBudget(tuning.transaction_max_records, TRANSACTION_MAX_SECONDS),
            mirror=self._mirror,
            committed=self._committed,
            role=f"promoter of {sandbox}/{r.partition}",
        )

    def run(self, expected: int) -> PromotionCheckpoint:
        r, report = self.range, self.task.report_hash

        def same_plan(c: PromotionCheckpoint) -> bool:
            return (c.report_hash, c.start_offset, c.end_offset) == (report, r.start_offset, r.end_offset)

        def lost() -> PromotionCheckpoint | None:
            key = promotion_key(self.task.replay.key_tenant, self.owner.uid, r.partition)
            mirror = read_mirror(self.owner.redis, key, PromotionCheckpoint)
            return resume_promotion(mirror, same_plan, f"{self.sandbox}/{r.partition}")

        ckpt = self.loop.restore(PromotionCheckpoint, same_plan, lost, report_hash=report)
        ckpt.blocked_by, ckpt.blocked_since = "", 0.0  # a wait is the mirror's alone, never committed
        step = self.task.rollout
        ckpt.step = step.index if step is not None else 0
        self.limit = step.limit(r.partition, expected) if step is not None else None
        self.last = PromotionCheckpoint.from_json(ckpt.to_json())
        # Claims of transactions that committed before a crash: mark them; the rest are re-claimed.
        self.ledger.commit(ckpt.committed_offset)
        if ckpt.committed_offset < r.end_offset and self._reached(ckpt):
            return self.loop.pause(ckpt)  # this step's quota was reached before: nothing to write
        self.reader.start(ckpt.committed_offset)
        self.rewritten = self.owner.tail.catch_up()  # just before writing: what production wrote since
        ckpt = self.loop.run(ckpt, self._fill, until=self._reached)
        if ckpt.committed_offset < r.end_offset:
            return self.loop.pause(ckpt)
        if ckpt.handled != expected:
            raise PermanentFailure(
                f"{self.sandbox}/{r.partition}: wrote {ckpt.written} delta records ({ckpt.already_promoted} "
                f"already promoted by other replays, {ckpt.rewritten} rewritten by production since), the "
                f"report counts {expected}: reconcile again"
            )
        return self.loop.finish(ckpt)

    def _reached(self, ckpt: PromotionCheckpoint) -> bool:
        """This step's quota for the partition is reached: it stops here, short of its range's end."""
        return self.limit is not None and ckpt.handled >= self.limit

    def _mirror(self, ckpt: PromotionCheckpoint) -> None:
        key = promotion_key(self.task.replay.key_tenant, self.owner.uid, ckpt.partition)
        write_mirror(self.owner.redis, key, ckpt, self.task.redis.ttl_seconds, "Redis (promotion progress mirror)")

    def _committed(self, ckpt: PromotionCheckpoint) -> None:
        self.ledger.commit(ckpt.committed_offset, self.claimed)
        self.claimed = []
        self.last = PromotionCheckpoint.from_json(ckpt.to_json())  # the in-flight one moves on

    def _mirror_wait(self, busy: Busy) -> None:
        """Say in the mirror (the last committed checkpoint's) whose claim this promotion waits on,
        and since when: the operator shows it while the Job retries, not only once it failed."""
        key = promotion_key(self.task.replay.key_tenant, self.owner.uid, self.range.partition)
        was = read_mirror(self.owner.redis, key, PromotionCheckpoint)
        held = was is not None and was.blocked_by == busy.replay_uid and was.blocked_since > 0
        since = was.blocked_since if held and was is not None else now()
        self._mirror(msgspec.structs.replace(self.last, blocked_by=busy.replay_uid, blocked_since=since))

    def _fill(self, ckpt: PromotionCheckpoint, budget: TransactionBudget) -> int:
        reader = self.reader
        state = bytes.fromhex(ckpt.digest) if ckpt.digest else digest.ZERO
        records, stop = 0, None
        while stop is None and not reader.done and not budget.spent(records):
            batch = reader.next_batch()
            records += len(batch)
            state, stop = self._batch(batch, ckpt, state)
        ckpt.digest = state.hex()
        return reader.next if stop is None else stop

    def _judge(self, batch: list[Any], ckpt: PromotionCheckpoint) -> tuple[list[Any], str, int | None]:
        """The batch's keyed records of this replay up to where this step stops, their verdicts, and
        that stop: the offset after the delta record that reaches the quota (None: not in this batch)."""
        keyed = [m for m in batch if m.key() and written_by(m.headers(), self.owner.uid_bytes)]
        triples = []
        for msg in keyed:
            event_id = msg.key().decode()
            triples.append(
                (f"{bucket_of(event_id, self.bits):x}", event_id, coords(self.range.partition, msg.offset()))
            )
        try:
            statuses = self.verdicts.classify(triples)
        except redis.RedisError as err:
            raise RetriableFailure(f"Redis (reconciliation working set): {err}") from err
        at = rollout.cut(statuses, self.limit - ckpt.handled) if self.limit is not None else None
        stop: int | None = None
        if at is not None:
            stop = keyed[at].offset() + 1
            keyed, statuses, batch = keyed[: at + 1], statuses[: at + 1], [m for m in batch if m.offset() < stop]
        ours = sum(1 for m in batch if written_by(m.headers(), self.owner.uid_bytes))
        if ours != len(batch):  # reconcile left them out of the report too
            log.warning("skipping %d sandbox record(s) of another replay", len(batch) - ours)
        if len(keyed) != ours:
            log.warning("skipping %d sandbox record(s) without a key", ours - len(keyed))
        return keyed, statuses, stop

    def _batch(self, batch: list[Any], ckpt: PromotionCheckpoint, state: bytes) -> tuple[bytes, int | None]:
        keyed, statuses, stop = self._judge(batch, ckpt)
        written_before = ckpt.written
        topic, shaped, pace = self.task.sink_topic, self.owner.shape.record, self.owner.pace
        delta = self._not_rewritten([m for m, s in zip(keyed, statuses, strict=True) if s == "W"])
        claims = dict(zip((m.offset() for m in delta), self._claim(delta), strict=True))
        for msg, status in zip(keyed, statuses, strict=True):
            if status == "W" and msg.offset() not in claims:  # production's newer value stays
                ckpt.add_rewritten(msg.key().decode())
            elif status == "W" and claims[msg.offset()] == "S":
                ckpt.already_promoted += 1
            elif status == "W":
                if pace is not None:
                    pace.take()
                key, partition, headers, stamp = shaped(msg)
                value = msg.value()
                produce(self.producer, topic, value, key, partition, headers=headers, timestamp=stamp)
                state = digest.step(state, key or b"", value)
                ckpt.written += 1
            elif status == "I":
                ckpt.skipped_identical += 1
            elif status == "D":
                ckpt.skipped_duplicate += 1
            else:
                raise PermanentFailure(
                    f"event {msg.key()!r} is not in the reconciliation working set (expired?): reconcile again"
                )
        if ckpt.written > written_before:  # tests only: die inside the open transaction, records in it
            failpoints.produced_up_to(stop or batch[-1].offset() + 1, self.producer.flush)
        return state, stop

    def _not_rewritten(self, delta: list[Any]) -> list[Any]:
        """The delta records whose id production did not rewrite since the report. The others stay
        production's: an attempt killed inside its transaction may have claimed them, given back here."""
        kept = [m for m in delta if m.key().decode() not in self.rewritten]
        if len(kept) < len(delta):
            self.ledger.release([m.key().decode() for m in delta if m.key().decode() in self.rewritten])
        return kept

    def _claim(self, delta: list[Any]) -> list[str]:
        """Claim the delta's ids in the sink ledger; another promotion's open claim aborts this
        transaction (its own claims given back, the wait in the mirror) for a retry once that
        promotion settled."""
        names = self.owner.names
        entries = [(m.key().decode(), m.offset(), canonical_hash(m.value(), m.headers(), names).hex()) for m in delta]
        try:
            got = self.ledger.claim(entries)
        except Busy as busy:
            self.ledger.release(self.claimed + [e[0] for e in entries])
            self.claimed = []
            self._mirror_wait(busy)
            raise RetriableFailure(
                f"{CLAIM_HELD}: event {busy.event_id!r} is being promoted into {self.task.sink_topic!r} by another "
                "replay; retrying once it committed"
            ) from None
        self.claimed += [e[0] for (e, s) in zip(entries, got, strict=True) if s == "W"]
        return got
