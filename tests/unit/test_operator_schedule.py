"""Scheduling: parallelism cap, retry of failed partitions only, suspend/resume; Job state parsing."""

from __future__ import annotations

from operator_fixtures import plan, spec

from eventreplay.operator.job_state import JobView, current_jobs, read_job
from eventreplay.operator.schedule import Actions, schedule

PLAN = plan([(p, 0, 10) for p in range(5)] + [(5, 3, 3)])


def view(p: int, state: str, attempt: int = 0) -> JobView:
    return JobView(f"r-{p}" + (f"-r{attempt}" if attempt else ""), p, attempt, state)  # type: ignore[arg-type]


def test_parallelism_cap_and_order() -> None:
    s = spec(worker={"parallelism": 2})
    assert schedule(s, PLAN, {}).create == [(0, 0), (1, 0)]
    running = {0: view(0, "Succeeded"), 1: view(1, "Running")}
    assert schedule(s, PLAN, running).create == [(2, 0)]


def test_empty_partitions_get_no_job() -> None:
    s = spec(worker={"parallelism": 100})
    assert (5, 0) not in schedule(s, PLAN, {}).create


def test_dry_run_creates_nothing() -> None:
    assert not schedule(spec(dryRun=True), PLAN, {})


def test_failed_partition_retried_only_when_retry_is_bumped() -> None:
    jobs = {
        0: view(0, "Failed"),
        1: view(1, "Succeeded"),
        2: view(2, "Succeeded"),
        3: view(3, "Succeeded"),
        4: view(4, "Succeeded"),
    }
    assert schedule(spec(), PLAN, jobs) == Actions()
    assert schedule(spec(retry=1), PLAN, jobs).create == [(0, 1)]
    jobs[0] = view(0, "Failed", attempt=1)
    assert schedule(spec(retry=1), PLAN, jobs) == Actions()


def test_suspend_and_resume() -> None:
    jobs = {0: view(0, "Running"), 1: view(1, "Succeeded")}
    assert schedule(spec(suspend=True), PLAN, jobs) == Actions(suspend=["r-0"])
    jobs[0] = view(0, "Suspended")
    actions = schedule(spec(worker={"parallelism": 2}), PLAN, jobs)
    assert actions.resume == ["r-0"]
    assert actions.create == [(2, 0)]


def _job(partition: str, attempt: str, conditions: list[dict[str, str]], suspend: bool = False) -> dict:  # type: ignore[type-arg]
    return {
        "metadata": {
            "name": f"r-{partition}",
            "labels": {"eventreplay.io/partition": partition, "eventreplay.io/attempt": attempt},
        },
        "spec": {"suspend": suspend},
        "status": {"conditions": conditions},
    }


def test_read_job_states() -> None:
    done = read_job(_job("1", "0", [{"type": "Complete", "status": "True"}]))
    failed = read_job(
        _job(
            "2",
            "1",
            [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "message": "exit code 10"}],
        )
    )
    assert done is not None and done.state == "Succeeded"
    assert failed is not None and (failed.state, failed.attempt) == ("Failed", 1)
    assert failed.message == "PodFailurePolicy: exit code 10"
    suspended = read_job(_job("3", "0", [], suspend=True))
    assert suspended is not None and suspended.state == "Suspended"
    assert read_job({"metadata": {"name": "x", "labels": {}}}) is None


def test_current_job_is_the_newest_attempt() -> None:
    current = current_jobs([view(0, "Failed"), view(0, "Running", attempt=2), view(1, "Running")])
    assert current[0].attempt == 2 and current[1].attempt == 0
