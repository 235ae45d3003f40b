"""A reconciliation Job SIGKILLed at random points, ten times, then run to the end: the stored
report, its hash and the ids listed on the report topic (delta and extra) are a clean run's (real Kafka and Redis,
the reconcile worker as a process)."""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.names import report_key
from support.fault_log import IDENTICAL, lost_and_doubled, record
from support.kafka_tools import read_topic
from support.reconciliation_scenario import build, reconcile_task, run_job, start_job
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack
KILLS = 10


def listed(bootstrap: str, sc: Any, report_hash: str) -> list[tuple[str, str]]:
    """The (id, class) pairs the compacted report topic lists under `report_hash` (the delta and the
    extra ids): its last value per id (runs
    with the same hash, killed or not, list the same pairs again)."""
    out = {}
    for _, rec in read_topic(bootstrap, f"rc-report-{sc.uid}", 3):
        if rec.headers.get("er-report-hash") == report_hash.encode():
            out[rec.key.decode()] = rec.value.decode()
    return sorted(out.items())


def test_reconcile_killed_ten_times_stores_the_clean_report(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=4000, seed=71)
    task = reconcile_task(sc)
    began = time.monotonic()
    clean = run_job(task)
    took = time.monotonic() - began
    assert clean.returncode == 0, clean.stderr
    want = orjson.loads(clean.stdout)
    want_listed = listed(kafka_bootstrap, sc, want["reportHash"])
    assert sum(cls != "extra" for _, cls in want_listed) == len(sc.delta)
    assert {i for i, cls in want_listed if cls == "extra"} == sc.extra

    rng = random.Random(7)
    kills = 0
    for _ in range(KILLS):
        proc = start_job(task)
        time.sleep(rng.uniform(0.05, 0.95) * took)  # start-up, spill, the passes, storing
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            continue  # finished first: a run to the end, as good as another repetition
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
    assert kills >= KILLS // 2, f"only {kills} of {KILLS} runs were killed before they ended"

    done = run_job(task)
    assert done.returncode == 0, done.stderr
    got = orjson.loads(done.stdout)
    got_listed = listed(kafka_bootstrap, sc, got["reportHash"])
    lost, doubled = lost_and_doubled(want_listed, got_listed)
    same = got["reportHash"] == want["reportHash"] and got["report"] == want["report"] and got_listed == want_listed
    record("reconcile-sigkill", IDENTICAL if same else "output differs", lost, doubled)
    assert got["reportHash"] == want["reportHash"]
    assert got["report"] == want["report"]
    assert orjson.loads(redis_client.get(report_key(TASK_NAMESPACE, sc.uid))) == got
    assert got_listed == want_listed, "the ids listed under the report hash are the clean run's"
    print(f"{kills} kills in {KILLS} runs (clean run {took:.1f} s); report hash {got['reportHash'][:12]} unchanged")
