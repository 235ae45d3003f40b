"""Promotion against real Kafka and Redis: the delta, exactly once, under SIGKILL; nothing twice."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT, EXIT_RETRIABLE
from eventreplay.worker.contract.names import promotion_key
from eventreplay.worker.runtime.failpoints import FAILPOINT_ENV, OFFSET_PREFIX
from support.fault_log import FAILED_LOUDLY, IDENTICAL, lost_and_doubled, record
from support.kafka_tools import read_topic, watermarks
from support.promotion_checks import check_sink
from support.reconciliation_scenario import DEST_PARTITIONS, SOURCE_PARTITIONS
from support.replay_faults import bounce
from support.step_driver import StepDriver
from support.worker_run import TASK_NAMESPACE, make_task, start_worker

pytestmark = pytest.mark.stack


def _high_watermarks(kafka_admin: Any, kafka_bootstrap: str, topic: str) -> list[int]:
    return [high for _, high in watermarks(kafka_bootstrap, topic, DEST_PARTITIONS)]


def test_promotion_writes_the_delta_once_and_reruns_write_nothing(
    steps: StepDriver, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any
) -> None:
    sc = steps.build(per_partition=2000, seed=17)
    summary = steps.reconciled(sc)
    counts = summary["report"]["counts"]
    before = _high_watermarks(kafka_admin, kafka_bootstrap, sc.destination)

    refused = steps.run_job(steps.promote_task(sc, "0" * 64))
    assert refused.returncode == EXIT_PERMANENT, refused.stderr
    assert "report hash mismatch" in refused.stderr
    assert _high_watermarks(kafka_admin, kafka_bootstrap, sc.destination) == before

    result = steps.promoted(sc, summary["reportHash"])
    assert result["written"] == counts["changed"] + counts["missing"]
    assert result["skippedIdentical"] == counts["unchanged"]
    assert result["skippedDuplicate"] == counts["duplicates"]
    check_sink(kafka_bootstrap, sc, result)
    mirror = orjson.loads(redis_client.get(promotion_key(TASK_NAMESPACE, sc.uid, 0)))
    assert mirror["state"] == "done" and mirror["reportHash"] == summary["reportHash"]

    after = _high_watermarks(kafka_admin, kafka_bootstrap, sc.destination)
    assert steps.promoted(sc, summary["reportHash"]) == result  # the same cumulative result
    assert _high_watermarks(kafka_admin, kafka_bootstrap, sc.destination) == after  # not even a marker

    # Reconciling again over the window now including the promoted records closes the delta.
    plan = summary["report"]["plan"]["existing"]
    extended = [{**r, "endOffset": after[r["partition"]]} for r in plan]
    closed = steps.run_job(steps.reconcile_task(sc, offsets=extended))
    assert closed.returncode == 0, closed.stderr
    closed_counts = orjson.loads(closed.stdout)["report"]["counts"]
    assert (closed_counts["changed"], closed_counts["missing"]) == (0, 0)
    assert closed_counts["unchanged"] == counts["replayedIds"]


def test_sigkill_promotion_many_times_leaves_the_delta_exactly_once(
    steps: StepDriver, kafka_bootstrap: str, redis_client: Any
) -> None:
    sc = steps.build(per_partition=6000, seed=29)
    summary = steps.reconciled(sc)
    task = steps.promote_task(sc, summary["reportHash"], batch_size=50, transaction_max_records=100)
    keys = [promotion_key(TASK_NAMESPACE, sc.uid, p) for p in range(SOURCE_PARTITIONS)]
    rng = random.Random(77)
    # One kill pinned inside an open transaction (records produced, not committed: a random kill
    # can miss every one of them), then kills at random points.
    pinned = steps.start_job(task, **{FAILPOINT_ENV: f"{OFFSET_PREFIX}250"})
    assert pinned.wait(120) == -signal.SIGKILL, pinned.stderr.read() if pinned.stderr else ""
    kills = 1
    deadline = time.monotonic() + 300
    while kills < 9:
        assert time.monotonic() < deadline, "kill loop took too long"
        progress = redis_client.mget(keys)
        proc = steps.start_job(task)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.05, 0.8))  # during start-up: fencing, resume
        else:
            while redis_client.mget(keys) == progress and proc.poll() is None:
                time.sleep(0.01)  # this attempt committed a transaction: kill at a random point after
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= 6, f"only {kills - 1} random kills landed before promotion finished"
    final = steps.run_job(task)
    assert final.returncode == 0, final.stderr
    check_sink(kafka_bootstrap, sc, orjson.loads(final.stdout))
    # Some kills landed inside an open transaction: its records exist, aborted, invisible above.
    uncommitted = read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS, isolation="read_uncommitted")
    attempts = sum(1 for _, rec in uncommitted if "er-promoted-by" in rec.headers)
    assert attempts > len(sc.delta), "no kill fell inside an open promotion transaction"


def test_reconcile_and_promote_read_only_their_own_replays_records(
    steps: StepDriver, kafka_bootstrap: str, unique: str
) -> None:
    """Replay identity, second defence: another replay's records in the sandbox (as an older
    operator's name-scoped topics could hold) are neither reported nor promoted."""
    sc = steps.build(per_partition=1000, seed=29)
    ((_, end),) = [marks for p, marks in enumerate(watermarks(kafka_bootstrap, sc.source, SOURCE_PARTITIONS)) if p == 1]
    other = f"other-{unique}"
    stray = start_worker(make_task(kafka_bootstrap, sc.source, other, end, partition=1, sandbox=sc.sandbox))
    _, err = stray.communicate(timeout=300)
    assert stray.returncode == 0, err
    writers = Counter(rec.headers["er-replay-uid"] for _, rec in read_topic(kafka_bootstrap, sc.sandbox, 3))
    assert writers[other.encode()] > 0 and writers[sc.uid.encode()] > 0

    summary = steps.reconciled(sc)
    counts = summary["report"]["counts"]
    assert counts["foreign"] == writers[other.encode()]
    for key in ("unchanged", "changed", "missing", "extra", "duplicates", "replayedIds", "replayedRecords"):
        assert counts[key] == sc.expected[key], key
    check_sink(kafka_bootstrap, sc, steps.promoted(sc, summary["reportHash"]))


def test_a_broker_restart_mid_promotion_completes_or_fails_loudly_then_once(
    steps: StepDriver, kafka_bootstrap: str, redis_client: Any
) -> None:
    """The broker stops (cleanly) and starts while the promoter runs: it completes, or exits
    retriable with its reason; the Job's retry then completes. The delta lands exactly once."""
    sc = steps.build(per_partition=4000, seed=31)
    summary = steps.reconciled(sc)
    task = steps.promote_task(sc, summary["reportHash"], batch_size=50, transaction_max_records=100)
    keys = [promotion_key(TASK_NAMESPACE, sc.uid, p) for p in range(SOURCE_PARTITIONS)]
    proc = steps.start_job(task)
    deadline = time.monotonic() + 120
    while not any(redis_client.mget(keys)):  # a transaction committed: promotion is under way
        assert proc.poll() is None and time.monotonic() < deadline, "promotion ended before the outage"
        time.sleep(0.05)
    assert proc.poll() is None, "promotion ended before the outage"
    bounce("kafka", 3)()
    stdout, stderr = proc.communicate(timeout=600)
    if proc.returncode != 0:
        retried = steps.run_job(task)  # what the Job's next pod does
        stdout = retried.stdout
    promoted = [
        rec.key.decode()
        for _, rec in read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS)
        if rec.key is not None and "er-promoted-by" in rec.headers
    ]
    lost, doubled = lost_and_doubled(sc.delta, promoted)
    outcome = IDENTICAL if proc.returncode == 0 else FAILED_LOUDLY
    record("broker-restart-mid-promotion", outcome if (lost, doubled) == (0, 0) else "delta differs", lost, doubled)
    if proc.returncode != 0:
        assert proc.returncode == EXIT_RETRIABLE, stderr[-3000:]
        assert "eventreplay-promote: retriable:" in stderr
        assert retried.returncode == 0, retried.stderr[-3000:]
    check_sink(kafka_bootstrap, sc, orjson.loads(stdout))
