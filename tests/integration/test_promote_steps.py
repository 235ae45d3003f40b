"""A progressive promotion's steps against real Kafka and Redis: each step takes every sandbox
partition's delta to its cumulative quota and stops right there (mirrored `paused`), the next step
resumes exactly where it committed, the last finishes as a whole promotion would; every delta
record is written once in all, through SIGKILLs inside and between steps; a capped step writes no
faster than its rate (by the destination's broker timestamps)."""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import orjson
import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from eventreplay.worker.runtime.failpoints import BEFORE_PAUSE_MIRROR, FAILPOINT_ENV, OFFSET_PREFIX
from support.kafka_tools import read_topic, watermarks
from support.promotion_checks import check_sink, promoted_per_partition, promotion_mirrors
from support.reconciliation_scenario import DEST_PARTITIONS, SOURCE_PARTITIONS, Scenario
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack
STEP_KEYS = ("step", "complete", "handled")
"""What a step Job's summary adds to a whole promotion's."""


def _quota(delta: dict[str, int], share: float) -> dict[str, int]:
    return {str(p): int(delta.get(str(p), 0) * share) for p in range(SOURCE_PARTITIONS)}


def _reached(delta: dict[str, int], quota: dict[str, int] | None) -> dict[str, int]:
    """What each partition has handled once a step with `quota` ran (None: its whole delta)."""
    return {
        str(p): delta.get(str(p), 0) if quota is None else min(quota[str(p)], delta.get(str(p), 0))
        for p in range(SOURCE_PARTITIONS)
    }


def _high(kafka_bootstrap: str, sc: Scenario) -> list[int]:
    return [high for _, high in watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS)]


def _step(steps: StepDriver, task: Any) -> dict[str, Any]:
    """The step Job's summary once it has run to success."""
    done = steps.run_job(task)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(orjson.loads(done.stdout))


def _check_step(
    kafka_bootstrap: str, redis_client: Any, sc: Scenario, out: dict[str, Any], *, index: int, want: dict[str, int]
) -> None:
    """After step `index`: the destination holds exactly `want` promoted records per sandbox
    partition, the summary says so, and each partition's mirror is paused at this step or done."""
    assert out["step"] == index and out["handled"] == want
    assert promoted_per_partition(kafka_bootstrap, sc) == {p: n for p, n in want.items() if n}
    states = {p: (m.state, m.step, m.handled) for p, m in promotion_mirrors(redis_client, sc).items()}
    finished = {c["partition"]: c["state"] == "done" for c in out["partitions"]}
    assert out["complete"] == all(finished.values())
    for p, n in want.items():
        assert states[p] == ("done" if finished[int(p)] else "paused", index, n), (p, states[p])


def test_four_steps_take_each_partition_to_its_quota_then_promote_the_whole_delta_once(
    steps: StepDriver, kafka_bootstrap: str, redis_client: Any
) -> None:
    sc = steps.build(per_partition=2000, seed=53)
    summary = steps.reconciled(sc)
    report, digest_of_report = summary["report"], summary["reportHash"]
    delta = report["deltaByPartition"]
    plan = [(1, _quota(delta, 0.01)), (2, _quota(delta, 0.10)), (3, _quota(delta, 0.50)), (4, None)]
    for index, quota in plan:
        out = _step(steps, steps.step_task(sc, digest_of_report, index, quota))
        _check_step(kafka_bootstrap, redis_client, sc, out, index=index, want=_reached(delta, quota))
        if index == 2:  # the same step again: already reached, nothing written, not even a marker
            before = _high(kafka_bootstrap, sc)
            assert _step(steps, steps.step_task(sc, digest_of_report, index, quota)) == out
            assert _high(kafka_bootstrap, sc) == before
    assert out["complete"] is True
    counts = report["counts"]
    assert out["written"] == counts["changed"] + counts["missing"]
    assert (out["skippedIdentical"], out["skippedDuplicate"]) == (counts["unchanged"], counts["duplicates"])
    check_sink(kafka_bootstrap, sc, out)  # every delta record once; the digest a whole promotion computes
    # A whole promotion of the same report finds it done: the same summary, step keys aside.
    whole = steps.promoted(sc, digest_of_report)
    assert whole == {k: v for k, v in out.items() if k not in STEP_KEYS}


def _kill_at_random(steps: StepDriver, task: Any, redis_client: Any, sc: Scenario, *, kills: int, seed: int) -> int:
    """Start the step, SIGKILL it once it committed a transaction (or during start-up), `kills`
    times or until an attempt finishes; the kills that landed."""
    rng, landed = random.Random(seed), 0
    deadline = time.monotonic() + 300
    while landed < kills:
        assert time.monotonic() < deadline, "kill loop took too long"
        progress = {p: m.committed_offset for p, m in promotion_mirrors(redis_client, sc).items()}
        proc = steps.start_job(task)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.05, 0.8))  # during start-up: fencing, resume
        else:
            while proc.poll() is None and progress == {
                p: m.committed_offset for p, m in promotion_mirrors(redis_client, sc).items()
            }:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed += 1
    return landed


def test_sigkills_inside_and_between_steps_leave_every_delta_record_once(
    steps: StepDriver, kafka_bootstrap: str, redis_client: Any
) -> None:
    sc = steps.build(per_partition=4000, seed=59)
    summary = steps.reconciled(sc)
    report_digest, delta = summary["reportHash"], summary["report"]["deltaByPartition"]
    small = {"batch_size": 50, "transaction_max_records": 100}
    first, second = _quota(delta, 0.3), _quota(delta, 0.6)
    step1 = steps.step_task(sc, report_digest, 1, first, **small)
    # Inside step 1's open transaction, records produced; then step 1 again, killed right after its
    # first partition's last commit, before its mirror says paused: a kill between steps.
    for point in (f"{OFFSET_PREFIX}250", BEFORE_PAUSE_MIRROR):
        proc = steps.start_job(step1, **{FAILPOINT_ENV: point})
        assert proc.wait(120) == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert promoted_per_partition(kafka_bootstrap, sc) == {"0": first["0"]}
    assert promotion_mirrors(redis_client, sc)["0"].state == "running"  # killed before saying paused

    # Step 2 straight after (the others' step 1 never ran): SIGKILLed at random, then to its end.
    step2 = steps.step_task(sc, report_digest, 2, second, **small)
    assert _kill_at_random(steps, step2, redis_client, sc, kills=4, seed=5) >= 3
    out = _step(steps, step2)
    _check_step(kafka_bootstrap, redis_client, sc, out, index=2, want=_reached(delta, second))

    # The last step, killed inside an open transaction, at random, then to its end.
    last = steps.step_task(sc, report_digest, 3, None, **small)
    end_of_step2 = max(m.committed_offset for m in promotion_mirrors(redis_client, sc).values())
    proc = steps.start_job(last, **{FAILPOINT_ENV: f"{OFFSET_PREFIX}{end_of_step2 + 100}"})
    assert proc.wait(120) == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    _kill_at_random(steps, last, redis_client, sc, kills=3, seed=6)
    out = _step(steps, last)
    _check_step(kafka_bootstrap, redis_client, sc, out, index=3, want=_reached(delta, None))
    check_sink(kafka_bootstrap, sc, out)
    uncommitted = read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS, isolation="read_uncommitted")
    attempts = sum(1 for _, rec in uncommitted if "er-promoted-by" in rec.headers)
    assert attempts > len(sc.delta), "no kill fell inside an open promotion transaction"


def _stamp_on_append(kafka_admin: Any, topic: str) -> None:
    """The broker stamps each record when it appends it: a promoted record otherwise carries its
    source's timestamp, which says nothing of when it was written."""
    entry = ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    for future in kafka_admin.incremental_alter_configs([resource]).values():
        future.result(30)


def test_a_capped_step_writes_at_most_its_rate_and_a_batch_in_any_second(
    steps: StepDriver, kafka_bootstrap: str, kafka_admin: Any
) -> None:
    sc = steps.build(per_partition=1000, seed=61)
    summary = steps.reconciled(sc)
    _stamp_on_append(kafka_admin, sc.destination)
    rate, batch = 60.0, 20
    quota = {str(p): 100 for p in range(SOURCE_PARTITIONS)}
    assert all(summary["report"]["deltaByPartition"][p] > 100 for p in quota)
    task = steps.step_task(sc, summary["reportHash"], 1, quota, rate, batch_size=batch)
    out = _step(steps, task)
    assert out["written"] == sum(quota.values())
    stamps = sorted(
        rec.timestamp_ms
        for _, rec in read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS)
        if "er-promoted-by" in rec.headers
    )
    assert len(stamps) == sum(quota.values())
    j, densest = 0, 0
    for i, start in enumerate(stamps):  # every 1 s window that starts at a record
        while j < len(stamps) and stamps[j] < start + 1000:
            j += 1
        densest = max(densest, j - i)
    assert densest <= rate + batch, f"{densest} records written within one second (cap {rate}/s)"
