"""`eventreplay run`'s process pool, with a stand-in worker: parallelism, retries, permanent failures."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from eventreplay.cli.bars import LiveDisplay
from eventreplay.cli.runner import Runner, backoff, worker_message
from eventreplay.operator.api.v1alpha1 import Plan, PlanPartition
from support.worker_run import make_task

# Exits with the next code of its partition's script, counting attempts in a file; tracks concurrency.
FAKE_WORKER = r"""
import json, os, sys, time
from pathlib import Path
task = json.loads(os.environ["EVENTREPLAY_TASK"])
p = task["source"]["partition"]
state = Path(os.environ["FAKE_STATE"])
codes = json.loads(os.environ["FAKE_CODES"])[str(p)]
attempt_file = state / f"attempts-{p}"
attempt = int(attempt_file.read_text()) if attempt_file.exists() else 0
attempt_file.write_text(str(attempt + 1))
running = state / f"running-{p}-{attempt}"
running.touch()
peak = len(list(state.glob("running-*")))
(state / f"peak-{p}-{attempt}").write_text(str(peak))
time.sleep(0.3)
running.unlink()
code = codes[min(attempt, len(codes) - 1)]
if code:
    print("some log line", file=sys.stderr)
    kind = "permanent" if code == 10 else "retriable"
    print(f"eventreplay-worker: {kind}: failure {attempt} of partition {p}", file=sys.stderr)
sys.exit(code)
"""


class NoRedis:
    def mget(self, keys: list[str]) -> list[None]:
        return [None] * len(keys)


def plan(partitions: int) -> Plan:
    return Plan(
        as_of="2026-11-20T12:00:00.000Z",
        hash="0123456789abcdef",
        input_hash="0123456789abcdef",
        topic="t",
        topic_partitions=partitions,
        sandbox_topic="s",
        dead_letter_topic="d",
        records=10 * partitions,
        partitions=[PlanPartition(partition=p, start_offset=0, end_offset=10, records=10) for p in range(partitions)],
    )


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codes: dict[int, list[int]], **kw: Any) -> Any:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("FAKE_STATE", str(state))
    monkeypatch.setenv("FAKE_CODES", json.dumps({str(p): c for p, c in codes.items()}))
    the_plan = plan(len(codes))
    tasks = {p: make_task("k:9092", "t", "uid", 10, partition=p) for p in codes}
    runner = Runner(
        the_plan,
        "uid",
        tasks,
        NoRedis(),  # type: ignore[arg-type]
        parallelism=kw.get("parallelism", 2),
        backoff_limit=kw.get("backoff_limit", 3),
        log_dir=tmp_path / "logs",
        display=LiveDisplay(io.StringIO(), enabled=False),
        backoff_base=0.01,
        command=[sys.executable, str(script)],
    )
    checkpoints, failures = runner.run()
    peaks = [int(f.read_text()) for f in state.glob("peak-*")]
    attempts = {p: int((state / f"attempts-{p}").read_text()) for p in codes}
    return checkpoints, failures, max(peaks), attempts


def test_retriable_failures_are_retried_and_parallelism_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = {0: [0], 1: [11, 12, 0], 2: [0], 3: [-9, 0]}
    _, failures, peak, attempts = run(tmp_path, monkeypatch, codes, parallelism=2)
    assert failures == {}
    assert attempts == {0: 1, 1: 3, 2: 1, 3: 2}
    assert peak <= 2


def test_permanent_fails_at_once_and_retriable_gives_up_at_the_backoff_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = {0: [10], 1: [11], 2: [0]}
    _, failures, _, attempts = run(tmp_path, monkeypatch, codes, backoff_limit=2)
    assert attempts == {0: 1, 1: 3, 2: 1}
    assert failures == {
        0: "permanent: failure 0 of partition 0",
        1: "retriable: failure 2 of partition 1 (gave up after 2 retries)",
    }


def test_backoff_and_messages(tmp_path: Path) -> None:
    assert [backoff(a) for a in (1, 2, 3, 6, 10)] == [1, 2, 4, 30, 30]
    log = tmp_path / "w.log"
    log.write_text("INFO starting\neventreplay-worker: retriable: cannot reach Redis\nTraceback...\n")
    assert worker_message(log, 11) == "retriable: cannot reach Redis"
    log.write_text("Segmentation fault\n")
    assert worker_message(log, -11) == "Segmentation fault"
    assert worker_message(tmp_path / "none.log", -9) == "worker exited with code -9"
