"""`make reliability`: the fault matrix on the local stack, repeated, written to docs/reliability.md.

Each row runs the real-stack tests that inject its fault, `--repetitions` times (rows that repeat
their fault many times in one run, or replay fixed inputs, fewer: `Row.max_repetitions`), one
pytest process per run, never two at once (faults such as FLUSHALL or a broker stop hit the whole
stack). Tests that measure their figures write them to $EVENTREPLAY_FAULT_LOG
(`tests/support/fault_log.py`): an outcome (`identical` to an undisturbed run, or `failed loudly`)
and the records lost and doubled, per faulty run. Rows whose tests assert byte-identity without
recording say `asserted`. A failed test is counted and printed; the table shows it as broken.

    .venv/bin/python bench/reliability.py --repetitions 5 [--until 10:15] [--only broker]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
FAULT_LOG_ENV = "EVENTREPLAY_FAULT_LOG"  # tests/support/fault_log.py
T = "tests/integration/"


@dataclass(frozen=True)
class Row:
    fault: str
    tests: tuple[str, ...]
    must_hold: str
    recorded: str | None = None
    """The fault name its tests record; None when they only assert (byte-identity, exactly once)."""
    max_repetitions: int | None = None
    """Rows that repeat their fault many times per run (24 kills) or replay fixed inputs run fewer times."""


ROWS = (
    Row(
        "worker SIGKILL: 24 kills in one replay (a quarter during start-up, the rest after a commit)",
        (f"{T}test_worker_crash.py::test_sigkill_many_times_gives_the_uninterrupted_output",),
        "sandbox byte-identical to an undisturbed run; digest and counts equal; a kill between mark and commit",
    ),
    Row(
        "worker SIGKILL pinned (failpoints) at 10 %, 50 %, 90 % of the range and between the last commit and "
        "the final mirror",
        (f"{T}test_worker_pinned_kills.py",),
        "sandbox AND dead-letter records byte-identical to an undisturbed run; digest and counts equal",
        "worker-sigkill-pinned",
    ),
    Row(
        "reconcile Job SIGKILL: 10 kills at random points of one reconciliation, then run to the end",
        (f"{T}test_reconcile_kills.py",),
        "the clean run's report, report hash and listed delta",
        "reconcile-sigkill",
    ),
    Row(
        "promoter SIGKILL: one kill pinned inside an open transaction, then 8 at random points of one promotion",
        (f"{T}test_promote.py::test_sigkill_promotion_many_times_leaves_the_delta_exactly_once",),
        "the delta lands in the destination exactly once",
    ),
    Row(
        "promoter SIGKILL inside an open transaction while production rewrites delta ids after the report",
        (f"{T}test_promote_rewrites.py",),
        "ids production rewrote keep production's value (counted, listed); every other delta id exactly once",
    ),
    Row(
        "Redis restart (SIGTERM, AOF on) mid-replay",
        (f"{T}test_worker_outages.py::test_a_redis_restart_mid_replay_is_outlived",),
        "retried in-process; output identical",
        "redis-restart-mid-replay",
    ),
    Row(
        "Redis SIGKILL and restart (AOF fsynced every second) mid-replay",
        (f"{T}test_worker_redis_loss.py::test_a_redis_crash_mid_replay_completes_or_fails_loudly",),
        "identical, or fails loudly with the committed output a prefix of the undisturbed one",
        "redis-crash-mid-replay",
    ),
    Row(
        "FLUSHALL mid-replay (worker ledger)",
        (f"{T}test_worker_redis_loss.py::test_a_flushall_mid_replay_fails_loudly_never_doubles",),
        "fails loudly (exit 10, reason in the mirror); committed output a prefix of the undisturbed one",
        "flushall-mid-replay",
    ),
    Row(
        "FLUSHALL between reconcile passes (after pass 1, 2 and 3)",
        (f"{T}test_reconcile_redis_loss.py::test_a_flushall_between_passes_is_refused_never_stored",),
        "no report stored (retriable, invariant named); the retry stores the undisturbed report",
        "flushall-between-reconcile-passes",
    ),
    Row(
        "Redis SIGKILL and restart between reconcile passes (after pass 1 and 3)",
        (f"{T}test_reconcile_redis_loss.py::test_a_redis_crash_between_passes_stores_the_report_whole_or_not_at_all",),
        "the undisturbed report, or none stored (retriable)",
        "redis-crash-between-reconcile-passes",
    ),
    Row(
        "broker stop/start mid-replay",
        (f"{T}test_worker_outages.py::test_a_broker_restart_mid_replay_is_outlived",),
        "retried in-process; output identical",
        "broker-restart-mid-replay",
    ),
    Row(
        "broker stop/start mid-promotion",
        (f"{T}test_promote.py::test_a_broker_restart_mid_promotion_completes_or_fails_loudly_then_once",),
        "completes, or exits retriable and the retry completes; the delta exactly once",
        "broker-restart-mid-promotion",
    ),
    Row(
        "operator SIGKILL mid-replay, restarted",
        (f"{T}test_operator_replay.py::test_operator_killed_mid_replay_converges",),
        "no duplicate Job; status converges; output as undisturbed",
    ),
    Row(
        "operator SIGKILL after promotion, restarted with the same approval re-applied",
        (
            f"{T}test_operator_reconciliation.py::test_manual_gate_waits_for_the_right_approval_then_promotes_the_delta_once",
        ),
        "the destination holds the delta once; nothing more written; no new Job",
    ),
    Row(
        "operator SIGKILL: 20 kills at random points of plan, partition Jobs, reconcile, the Manual gate, promotion",
        (f"{T}test_operator_kills.py",),
        "no Job created twice or retried; status converges to Promoted; the delta in the destination once",
        "operator-sigkill",
    ),
    Row(
        "operator: spec.suspend with an approved promotion",
        (f"{T}test_operator_reconciliation.py::test_suspend_holds_an_approved_promotion_until_cleared",),
        "nothing written while suspended; the delta once after it is cleared",
    ),
    Row(
        "operator: spec.suspend while the reconciliation Job runs, and while the promotion Job runs",
        (f"{T}test_operator_suspend_steps.py",),
        "the running step Job suspended; no report stored, nothing written to the destination; once "
        "cleared, the seeded report and the delta once",
    ),
    Row(
        "operator: Job creation refused (quota on Jobs; a foreign Job holding a Job's name)",
        (f"{T}test_operator_job_refusals.py",),
        "JobCreateFailed / JobRejected with the API's message and one Warning Event; Jobs once the cause is gone",
    ),
    Row(
        "hostile records: 0.99 MB, 1.05 MB, above maxEventBytes, non-UTF-8, 1,000 headers, user code raising; "
        "a JSON Schema pattern that backtracks",
        (f"{T}test_worker_hostile_records.py", f"{T}test_worker_hostile_pattern.py"),
        "each counted and dead-lettered with its reason (truncated copy + hash when too large); partition done",
        max_repetitions=1,
    ),
)


@dataclass
class Result:
    row: Row
    runs: int = 0
    failed_runs: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    doubled: int = 0
    failures: list[str] = field(default_factory=list)


def run_once(result: Result, python: str) -> None:
    """One run of a row's tests; its recorded figures added to the row's."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as log:
        env = {**os.environ, FAULT_LOG_ENV: log.name}
        began = time.monotonic()
        done = subprocess.run(
            [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *result.row.tests],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        spent = time.monotonic() - began
        lines = [orjson.loads(line) for line in Path(log.name).read_bytes().splitlines() if line.strip()]
    result.runs += 1
    result.seconds += spent
    for line in lines:
        result.outcomes[line["outcome"]] += 1
        result.lost += line["lost"]
        result.doubled += line["doubled"]
    if done.returncode != 0:
        result.failed_runs += 1
        result.failures.append(done.stdout[-2500:])
    verdict = "ok" if done.returncode == 0 else "FAILED"
    print(f"  {result.row.fault[:60]}: {verdict} in {spent:.0f}s {dict(result.outcomes)}", flush=True)


def run_matrix(rows: list[Row], repetitions: int, until: datetime | None, python: str) -> list[Result]:
    """Round after round (every row once per round), so a deadline leaves the rows evenly repeated;
    no round starts that the last one's duration says would end past `until`."""
    results = [Result(row) for row in rows]
    last_round = 0.0
    for rep in range(repetitions):
        if until is not None and datetime.now(UTC).timestamp() + last_round > until.timestamp():
            print(f"stopping before round {rep + 1}: it would end past {until:%H:%M} UTC")
            break
        print(f"round {rep + 1}/{repetitions}", flush=True)
        began = time.monotonic()
        for res in results:
            if res.row.max_repetitions is None or rep < res.row.max_repetitions:
                run_once(res, python)
        last_round = time.monotonic() - began
    return results


def _cells(res: Result) -> tuple[str, str, str, str]:
    """(faulty runs, outcomes, lost, doubled) as the table shows them."""
    broken = f"; **{res.failed_runs} test run(s) failed**" if res.failed_runs else ""
    if res.row.recorded is None:
        ok = res.runs - res.failed_runs
        figure = "0 (asserted)" if not res.failed_runs else "see failures"
        return str(res.runs), f"{ok} held (asserted by the test){broken}", figure, figure
    faulty = sum(res.outcomes.values())
    outcomes = ", ".join(f"{n} {name}" for name, n in sorted(res.outcomes.items())) or "none recorded"
    return str(faulty), outcomes + broken, str(res.lost), str(res.doubled)


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def render(results: list[Result], repetitions: int, when: datetime, at: str) -> str:
    lines = [
        "# Reliability: the fault matrix, measured",
        "",
        f"Written by `make reliability` (`bench/reliability.py --repetitions {repetitions}`): do not edit by hand.",
        "",
        "Each fault is injected into the real local stack (Kafka, Redis, the worker as a process) by the",
        "tests named in the last column, and the result is",
        "compared with an undisturbed run of the same data. *identical*: completed with the undisturbed",
        "output (byte for byte: sandbox and dead-letter records, digest, report hash, promoted delta).",
        "*failed loudly*: a non-zero exit with the reason in its message and status, and nothing wrong",
        "committed (the output so far is exactly the undisturbed one up to the committed offset; no report",
        "stored). *Lost* and *doubled* count records against that expectation.",
        "",
        f"Run: {when:%Y-%m-%d %H:%M} UTC, commit {at}, {os.cpu_count()} CPUs (shared with other jobs).",
        "",
        "| fault | repetitions | faulty runs | outcomes | records lost | records doubled | must hold | tests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        faulty, outcomes, lost, doubled = _cells(res)
        tests = "<br>".join(f"`{t.removeprefix(T)}`" for t in res.row.tests)
        cells = (res.row.fault, str(res.runs), faulty, outcomes, lost, doubled, res.row.must_hold, tests)
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(r.seconds for r in results)
    lines += [
        "",
        f"*repetitions*: runs of the row's tests (asked: {repetitions}; a row with fewer is capped in",
        "`bench/reliability.py`, because one run already repeats its fault many times or replays fixed",
        "inputs, or the run's `--until` deadline came first). *faulty runs*: faults injected and judged",
        "(a parametrised test injects one per case). Wall time of the tests: " + f"{total / 60:.0f} min.",
        "",
        *NOT_HERE,
    ]
    return "\n".join(lines)


NOT_HERE = [
    "## Not in this table",
    "",
    "Rows of the fault matrix (issue #13) measured elsewhere or not yet:",
    "- the operator rows (SIGKILL, suspend, refused Jobs) are run with `--only operator` into",
    "  `docs/reliability-operator.md`; a status edited to something invalid is refused by the API server",
    "  (422, the field named; the CRD's status schema is generated from the model the operator reads:",
    "  `test_operator_replay.py::test_an_invalid_status_edit_is_refused_by_the_api_and_the_plan_stays`), one",
    "  that landed anyway stalls with InvalidStatus (`tests/unit/test_operator_invalid_status.py`);",
    "- the worker's pinned kills, the reconcile Job's ten kills and the operator's twenty kills are run",
    "  with `--only pinned --only 'reconcile Job' --only '20 kills'` into `docs/reliability-kills.md`.",
    "",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=5, help="runs of each row's tests (default 5)")
    parser.add_argument("--only", action="append", default=[], help="rows whose fault contains this text")
    parser.add_argument("--output", type=Path, default=DOC, help=f"where the table goes (default {DOC})")
    parser.add_argument("--until", help="HH:MM UTC: start no round that would end later (the table says what ran)")
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.only or any(o.lower() in r.fault.lower() for o in args.only)]
    when, at = datetime.now(UTC), commit()
    until = None
    if args.until:
        hour, minute = (int(x) for x in args.until.split(":"))
        until = when.replace(hour=hour, minute=minute, second=0, microsecond=0)
    results = run_matrix(rows, args.repetitions, until, sys.executable)
    args.output.write_text(render(results, args.repetitions, when, at))
    print(f"wrote {args.output}")
    for res in results:
        for text in res.failures:
            print(f"--- {res.row.fault}: failed run ---\n{text}")
    return 1 if any(r.failed_runs for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
