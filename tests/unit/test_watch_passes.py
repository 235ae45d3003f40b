"""A watch's passes against in-process fakes: the scan Job and its task, the result in status with
one Event per new gap, one draft per gap (never twice, a restart between scan and draft included),
failures, the policy refusal, the metrics, the history limit."""

from __future__ import annotations

from typing import Any

import orjson
from prometheus_client import REGISTRY
from watch_fakes import UID, WatchWorld, gap_entry

from eventreplay.worker.contract.gap_task import GapTask
from eventreplay.worker.contract.names import watch_scan_key


def metric(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"namespace": "ns", "watch": "w"})


def task_of(job: dict[str, Any]) -> GapTask:
    return GapTask.model_validate_json(job["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"])


def test_a_scan_is_recorded_before_its_gap_finder_job_which_leaves_its_summary_in_redis() -> None:
    world = WatchWorld()
    assert world.sync() == []
    assert world.kube.patches[0]["activeScan"]["job"] == "w-scan-1"
    job = world.kube.jobs["w-scan-1"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "eventreplay.worker", "gaps"]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "EventReplayWatch"
    task = task_of(job)
    assert task.summary is not None and task.summary.key == watch_scan_key("ns", UID, 1)
    assert task.existing.timestamps is not None
    assert world.status["activeScan"]["to"] == "2026-11-20T11:59:00Z"
    assert world.sync(5) == []  # the Job runs: nothing new
    assert list(world.kube.jobs) == ["w-scan-1"]


def test_a_gap_is_reported_once_and_drafted_once() -> None:
    world = WatchWorld()
    world.sync()
    world.scan_finds(1, gap_entry())
    events = world.sync(30)
    assert [e.reason for e in events] == ["GapFound", "Drafted"]
    gap = world.status["gaps"][0]
    assert gap["draft"] == f"w-gap-{gap['key']}" and list(world.kube.drafts) == [gap["draft"]]
    assert world.status["missingEvents"] == 20 and world.status["lastScan"]["result"] == "Succeeded"
    assert world.condition("Degraded")["reason"] == "GapsFound"
    assert metric("eventreplay_watch_missing_events") == 20
    assert metric("eventreplay_watch_scan_duration_seconds") == 30
    assert world.sync(300) == []  # the next scan starts
    world.scan_finds(2, gap_entry())
    assert world.sync(30) == []  # the same gap: no Event, no second draft
    assert list(world.kube.drafts) == [gap["draft"]] and world.kube.draft_creates == 1
    assert world.status["lastScan"]["number"] == 2


def test_an_operator_killed_between_scan_and_draft_drafts_nothing_twice() -> None:
    world = WatchWorld()
    world.sync()
    world.scan_finds(1, gap_entry())
    world.sync(30)
    # The draft exists but status never recorded it: the pass that made it died before its write.
    assert world.kube.obj is not None
    world.kube.obj["status"]["gaps"][0].pop("draft")
    assert world.sync(1) == []  # found by its name: no Drafted Event
    assert len(world.kube.drafts) == 1 and world.kube.draft_creates == 2
    assert world.status["gaps"][0]["draft"] == next(iter(world.kube.drafts))


def test_drafts_are_optional() -> None:
    world = WatchWorld()
    world.spec["draft"] = {"enabled": False}
    world.sync()
    world.scan_finds(1, gap_entry())
    assert [e.reason for e in world.sync(30)] == ["GapFound"]
    assert world.kube.drafts == {} and "draft" not in world.status["gaps"][0]


def test_failed_scans_count_and_degrade_the_watch() -> None:
    world = WatchWorld()
    world.sync()
    before = metric("eventreplay_watch_scan_failures_total") or 0
    world.kube.finish("w-scan-1", "Failed", "BackoffLimitExceeded")
    assert [e.reason for e in world.sync(30)] == ["ScanFailed"]
    assert world.status["consecutiveFailures"] == 1 and "activeScan" not in world.status
    assert world.condition("Degraded")["reason"] == "ScansFailing"
    assert world.condition("Ready")["status"] == "False"
    assert metric("eventreplay_watch_scan_failures_total") == before + 1


def test_a_job_whose_summary_is_gone_is_a_failed_scan_and_redis_away_waits() -> None:
    world = WatchWorld()
    world.sync()
    world.kube.finish("w-scan-1")
    world.checkpoints.down = "connection refused"
    assert world.sync(10) == [] and "activeScan" in world.status
    world.checkpoints.down = ""
    assert [e.reason for e in world.sync(10)] == ["ScanFailed"]
    assert "no summary" in world.status["lastScan"]["message"]


def test_a_job_lost_after_its_scan_was_recorded_is_created_again() -> None:
    world = WatchWorld()
    world.sync()
    world.kube.jobs.clear()
    world.sync(5)
    assert list(world.kube.jobs) == ["w-scan-1"] and world.status["scans"] == 1


def test_the_policy_refuses_a_watch_on_a_foreign_cluster_before_any_job() -> None:
    world = WatchWorld()
    world.spec["source"] = {"bootstrapServers": "evil:9092", "topic": "orders"}
    world.sync()
    assert world.kube.jobs == {} and world.kafka.observed == 0
    assert (world.condition("Ready")["status"], world.condition("Ready")["reason"]) == ("False", "NotAllowed")


def test_an_empty_window_is_a_scan_that_found_nothing() -> None:
    world = WatchWorld()
    world.kafka.high = 0
    world.sync()
    assert world.kube.jobs == {}
    assert world.status["lastScan"]["result"] == "Succeeded" and world.status.get("missingEvents", 0) == 0


def test_finished_scan_jobs_past_the_history_limit_expire() -> None:
    world = WatchWorld()
    world.spec["historyLimit"] = 1
    for scan in (1, 2, 3):
        world.sync(300)
        world.scan_finds(scan)
        world.sync(1)
    assert sorted(world.kube.expired) == ["w-scan-1", "w-scan-2"]


def test_the_summary_the_finder_stores_is_what_the_operator_decodes() -> None:
    from eventreplay.worker.contract.gap_summary import GapSummary
    from eventreplay.worker.gaps.grouping import Missing, group_gaps, outages

    gaps = group_gaps([Missing(0, 5, 1_000, "a"), Missing(0, 6, 2_000, "b")], 60_000)
    printed = {
        "version": 1,
        "counts": {"missing": 2, "sourceRecords": 9},
        "missingIds": 2,
        "existingTopic": "out",
        "existing": [{"partition": 0, "from": 0, "to": 7}],
        "gaps": [g.as_json(5) for g in gaps],
        "outages": [w.as_json() for w in outages(gaps, 60_000)],
    }
    decoded = GapSummary.from_json(orjson.dumps(printed))
    assert (decoded.missing, decoded.source_records, decoded.gaps[0].sample_ids) == (2, 9, ["a", "b"])
    assert decoded.gaps[0].first_time == "1970-01-01T00:00:01.000Z"
