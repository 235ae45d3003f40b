"""A progressive promotion's step, the pure pieces: the task's rollout step (quota per partition and
its limit), where a step stops in a judged batch, the Job's write budget (token bucket), the
checkpoint's `step`/`handled`/`paused`, and the transactional loop stopping short of a range's end."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from eventreplay.worker.contract.checkpoints import PromotionCheckpoint
from eventreplay.worker.contract.step_tasks import PromoteTask, RolloutStep
from eventreplay.worker.contract.tasks import OffsetRange
from eventreplay.worker.promotion import rollout
from eventreplay.worker.runtime.rate_limit import TokenBucket, burst_for
from eventreplay.worker.runtime.transactional_loop import TransactionalLoop, TransactionBudget

HASH = "ab" * 32


def task(rollout_step: dict[str, Any] | None = None, batch_size: int = 2000) -> PromoteTask:
    doc: dict[str, Any] = {
        "replay": {"namespace": "ns", "name": "r", "uid": "u-1"},
        "kafka": {"bootstrapServers": "localhost:9092"},
        "reportHash": HASH,
        "destinationTopic": "orders",
        "redis": {"redisUrl": "redis://localhost:6379/0"},
        "tuning": {"batchSize": batch_size},
    }
    if rollout_step is not None:
        doc["rollout"] = rollout_step
    return PromoteTask.model_validate(doc)


def test_a_rollout_step_reads_its_wire_names_and_a_whole_promotion_task_is_unchanged() -> None:
    step = task({"index": 2, "quota": {"0": 5, "3": 0}, "maxRecordsPerSecond": 12.5}).rollout
    assert step == RolloutStep(index=2, quota={"0": 5, "3": 0}, max_records_per_second=12.5)
    whole = task()
    assert whole.rollout is None and "rollout" not in orjson.loads(whole.to_json())


@pytest.mark.parametrize(
    "bad",
    [
        {"index": 0},
        {"index": 1, "quota": {"01": 3}},
        {"index": 1, "quota": {"-1": 3}},
        {"index": 1, "quota": {"a": 3}},
        {"index": 1, "quota": {"0": -1}},
        {"index": 1, "maxRecordsPerSecond": 0},
    ],
)
def test_a_malformed_rollout_step_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RolloutStep.model_validate(bad)


def test_a_partitions_limit_is_its_quota_below_its_delta_else_the_end() -> None:
    step = RolloutStep(index=1, quota={"0": 10, "1": 40})
    assert step.limit(0, 100) == 10
    assert step.limit(1, 40) is None  # the whole delta: it finishes in this step
    assert step.limit(1, 39) is None
    assert step.limit(2, 100) == 0  # not listed: nothing this step
    assert step.limit(2, 0) is None  # no delta: nothing to hold back, it finishes
    assert RolloutStep(index=4).limit(0, 100) is None  # the last step


def test_a_step_stops_in_a_batch_at_the_delta_record_that_reaches_its_quota() -> None:
    assert rollout.cut("IWDWW", 1) == 1
    assert rollout.cut("IWDWW", 2) == 3
    assert rollout.cut("IWDWW", 3) == 4
    assert rollout.cut("IWDWW", 4) is None
    assert rollout.cut("IID", 1) is None
    with pytest.raises(ValueError):
        rollout.cut("W", 0)


def test_a_capped_step_reads_at_most_a_seconds_writes_per_batch() -> None:
    assert rollout.read_batch(task()) == 2000
    assert rollout.read_batch(task({"index": 1})) == 2000
    assert rollout.read_batch(task({"index": 1, "maxRecordsPerSecond": 7.5})) == 8
    assert rollout.read_batch(task({"index": 1, "maxRecordsPerSecond": 0.2})) == 1
    assert rollout.read_batch(task({"index": 1, "maxRecordsPerSecond": 1e6}, batch_size=300)) == 300
    assert rollout.pace(task({"index": 1})) is None
    bucket = rollout.pace(task({"index": 1, "maxRecordsPerSecond": 250}, batch_size=50))
    assert bucket is not None and (bucket.per_second, bucket.burst) == (250, 25)
    assert burst_for(0.5, 50) == 1 and burst_for(1e6, 50) == 50


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += 1
        self.now += seconds


@pytest.mark.parametrize(("rate", "burst", "seed"), [(50.0, 5, 1), (3.0, 1, 2), (1000.0, 100, 3), (7.5, 2, 4)])
def test_the_token_bucket_never_exceeds_its_rate_by_more_than_a_burst_in_any_second(
    rate: float, burst: int, seed: int
) -> None:
    clock, rng = FakeClock(), random.Random(seed)
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(int(rate * 20)):
        if rng.random() < 0.05:
            clock.now += rng.uniform(0, 2.0)  # the loop is busy elsewhere (reading, committing)
        bucket.take()
        stamps.append(clock.now)
    j = 0
    for i, start in enumerate(stamps):  # every window [t, t + 1) that starts at an action
        while j < len(stamps) and stamps[j] < start + 1.0:
            j += 1
        assert j - i <= rate + burst, f"{j - i} actions in the second from {start}"
    assert stamps[-1] - stamps[0] >= (len(stamps) - burst) / rate - 1e-6  # never faster than the rate overall
    assert clock.slept <= len(stamps) / burst + 1  # one sleep per burst, not per action


def test_the_token_bucket_sustains_its_rate_when_never_idle() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100.0, 10, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(1010):
        bucket.take()
    assert clock.now - start == pytest.approx(10.0)  # the first burst is free, then 100 a second
    assert bucket.waited == pytest.approx(10.0)


def test_a_checkpoint_counts_what_it_handled_and_omits_a_whole_promotions_step() -> None:
    ckpt = PromotionCheckpoint.fresh(1, 0, 100, report_hash=HASH)
    ckpt.written, ckpt.already_promoted, ckpt.skipped_identical = 5, 2, 9
    ckpt.add_rewritten("x")
    assert ckpt.handled == 8
    assert "step" not in orjson.loads(ckpt.to_json())  # a whole promotion: the same bytes as before
    ckpt.step, ckpt.state = 3, "paused"
    again = PromotionCheckpoint.from_json(ckpt.to_json())
    assert (again.step, again.state, again.handled) == (3, "paused", 8)
    assert set(ckpt.summary()) == {
        "partition",
        "written",
        "skippedIdentical",
        "skippedDuplicate",
        "alreadyPromoted",
        "rewritten",
        "digest",
        "state",
    }


def test_a_step_summary_says_the_step_and_each_partitions_handled_count() -> None:
    done = PromotionCheckpoint.fresh(0, 0, 10, report_hash=HASH, written=4, state="done")
    paused = PromotionCheckpoint.fresh(1, 0, 10, report_hash=HASH, written=2, already_promoted=1, state="paused")
    assert rollout.step_summary(task(), [done, paused]) == {}
    assert rollout.step_summary(task({"index": 2, "quota": {"1": 3}}), [done, paused]) == {
        "step": 2,
        "complete": False,
        "handled": {"0": 4, "1": 3},
    }
    assert rollout.step_summary(task({"index": 3}), [done])["complete"] is True


class FakeConsumer:
    def __init__(self) -> None:
        self.closed = False

    def committed(self, partitions: list[Any], timeout: float) -> list[Any]:
        return [type("Committed", (), {"offset": -1001, "metadata": None})()]

    def consumer_group_metadata(self) -> object:
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    def __init__(self) -> None:
        self.commits: list[int] = []

    def init_transactions(self, timeout: float) -> None:
        pass

    def begin_transaction(self) -> None:
        pass

    def send_offsets_to_transaction(self, positions: list[Any], group: object, timeout: float) -> None:
        self.offered = positions[0].offset

    def commit_transaction(self, timeout: float) -> None:
        self.commits.append(self.offered)


def test_the_loop_stops_where_the_caller_says_and_mirrors_a_pause_not_an_end() -> None:
    producer, consumer, mirrors = FakeProducer(), FakeConsumer(), []
    loop: TransactionalLoop[PromotionCheckpoint] = TransactionalLoop(
        producer,  # type: ignore[arg-type]
        consumer,  # type: ignore[arg-type]
        "sandbox",
        OffsetRange(partition=0, start_offset=0, end_offset=100),
        budget=lambda: TransactionBudget(10, 2.0),
        mirror=lambda c: mirrors.append((c.committed_offset, c.state)),
    )
    ckpt = loop.restore(PromotionCheckpoint, lambda c: True, report_hash=HASH)

    def fill(c: PromotionCheckpoint, _budget: TransactionBudget) -> int:
        c.written += 3  # three delta records in each ten offsets
        return c.committed_offset + 10

    ckpt = loop.run(ckpt, fill, until=lambda c: c.handled >= 7)
    assert producer.commits == [10, 20, 30] and ckpt.committed_offset == 30
    paused = loop.pause(ckpt)
    assert (paused.state, ckpt.state) == ("paused", "running")  # the pause is the mirror's only
    assert mirrors[-1] == (30, "paused") and consumer.closed
