"""The gap watch's pure decisions: when a scan is due, which gaps are new, the bounded status, the
draft's name and spec, and the EventReplay spec the policy judges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from watch_fakes import WATCH_SPEC, gap_entry, summary

from eventreplay.operator.api.v1alpha1 import ActiveScan, EventReplayWatchSpec, EventReplayWatchStatus
from eventreplay.operator.api.v1alpha1.watch_status import MAX_GAPS, MAX_SAMPLE_IDS
from eventreplay.operator.job_names import Owner
from eventreplay.operator.policy import Own, Policy, closed_default
from eventreplay.operator.watch import decide
from eventreplay.operator.watch.replay_spec import draft_manifest, draft_name, gap_key, scan_spec, scan_window
from eventreplay.worker.contract.gap_summary import GapEntry, GapSummary

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
OWNER = Owner("ns", "w", "w-1")
ACTIVE = ActiveScan.model_validate(
    {"number": 2, "job": "w-scan-2", "startedAt": "2026-11-20T11:59:50Z", "from": "a", "to": "b"}
)


def watch(**overrides: Any) -> EventReplayWatchSpec:
    return EventReplayWatchSpec.model_validate({**WATCH_SPEC, **overrides})


def status(**fields: Any) -> EventReplayWatchStatus:
    return EventReplayWatchStatus.model_validate(fields)


def finished_at(started: datetime, duration: float = 10, result: str = "Succeeded") -> dict[str, Any]:
    return {
        "number": 1,
        "time": (started + timedelta(seconds=duration)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "durationSeconds": duration,
        "result": result,
        "from": "2026-11-20T10:00:00Z",
        "to": "2026-11-20T11:00:00Z",
    }


def found(*gaps: dict[str, Any]) -> GapSummary:
    return GapSummary.from_json(summary(*gaps))


def entries(*gaps: dict[str, Any]) -> list[GapEntry]:
    return found(*gaps).gaps


def test_the_first_scan_is_due_at_once_and_the_next_one_interval_seconds_after_its_start() -> None:
    assert decide.scan_due(watch(), status(), NOW)
    started = NOW - timedelta(seconds=290)
    done = status(lastScan=finished_at(started, duration=100))
    assert not decide.scan_due(watch(), done, NOW)
    assert decide.next_scan_in(watch(), done, NOW) == 10
    assert decide.scan_due(watch(), done, NOW + timedelta(seconds=10))


def test_no_scan_starts_while_one_runs_or_while_suspended() -> None:
    assert not decide.scan_due(watch(), status(activeScan=ACTIVE.model_dump(by_alias=True)), NOW)
    assert not decide.scan_due(watch(suspend=True), status(), NOW)


def test_the_schedule_is_at_least_a_minute() -> None:
    with pytest.raises(ValidationError):
        watch(schedule={"intervalSeconds": 59})


def test_the_rolling_window_ends_settle_seconds_ago() -> None:
    assert scan_window(watch(lookbackSeconds=600, settleSeconds=30), NOW) == (
        "2026-11-20T11:49:30Z",
        "2026-11-20T11:59:30Z",
    )


def test_a_gap_overlapping_a_recorded_one_keeps_its_key_first_sighting_and_draft() -> None:
    first = decide.merge_gaps([], entries(gap_entry()), NOW)
    assert len(first.new) == 1
    known = [first.gaps[0].model_copy(update={"draft": "w-gap-x"})]
    # The rolling window cut the gap's start off: still the same gap.
    later = entries(gap_entry(first="2026-11-20T11:11:00.000Z"))
    again = decide.merge_gaps(known, later, NOW + timedelta(minutes=5))
    assert again.new == []
    assert (again.gaps[0].key, again.gaps[0].draft, again.gaps[0].first_seen) == (
        known[0].key,
        "w-gap-x",
        known[0].first_seen,
    )
    assert again.gaps[0].from_ == "2026-11-20T11:11:00.000Z"


def test_a_gap_of_another_partition_or_time_is_new() -> None:
    known = decide.merge_gaps([], entries(gap_entry()), NOW).gaps
    other_partition = decide.merge_gaps(known, entries(gap_entry(partition=1)), NOW)
    later = decide.merge_gaps(
        known, entries(gap_entry(first="2026-11-20T11:30:00.000Z", last="2026-11-20T11:31:00.000Z")), NOW
    )
    assert len(other_partition.new) == 1 and len(later.new) == 1
    assert later.gaps[0].key != known[0].key


def test_status_stays_bounded_largest_gaps_first() -> None:
    many = []
    for i in range(MAX_GAPS + 15):
        gap = gap_entry(partition=i)
        gap["missing"] = i + 1
        many.append(gap)
    done, new = decide.succeeded(status(), ACTIVE, found(*many), NOW)
    assert len(done.gaps) == MAX_GAPS and done.gaps_total == MAX_GAPS + 15
    assert [g.missing for g in done.gaps][:2] == [MAX_GAPS + 15, MAX_GAPS + 14]
    assert all(len(g.sample_ids) <= MAX_SAMPLE_IDS for g in done.gaps)
    assert len(new) == MAX_GAPS  # only what status records is news (and drafted)
    assert len(orjson.dumps(done.model_dump(by_alias=True))) < 20_000


def test_a_failed_scan_counts_and_keeps_the_last_good_gaps() -> None:
    good, _ = decide.succeeded(status(), ACTIVE, found(gap_entry()), NOW)
    bad = decide.failed(good, ACTIVE, "scan Job w-scan-2 failed", NOW)
    worse = decide.failed(bad, ACTIVE, "again", NOW)
    assert worse.consecutive_failures == 2 and worse.gaps == good.gaps and worse.active_scan is None
    wants = {w.type: w for w in decide.watch_conditions(watch(), worse)}
    assert (wants["Ready"].status, wants["Ready"].reason) == ("False", "ScanFailed")
    assert (wants["Degraded"].status, wants["Degraded"].reason) == ("True", "ScansFailing")
    ok, _ = decide.succeeded(worse, ACTIVE, found(), NOW)
    wants = {w.type: w for w in decide.watch_conditions(watch(), ok)}
    assert ok.consecutive_failures == 0
    assert (wants["Ready"].status, wants["Degraded"].status, wants["Degraded"].reason) == ("True", "False", "NoGaps")


def test_gaps_make_the_watch_degraded_but_ready() -> None:
    done, _ = decide.succeeded(status(), ACTIVE, found(gap_entry()), NOW)
    wants = {w.type: w for w in decide.watch_conditions(watch(), done)}
    assert (wants["Ready"].status, wants["Degraded"].status, wants["Degraded"].reason) == ("True", "True", "GapsFound")
    assert done.last_scan is not None and done.last_scan.duration_seconds == 10


def test_draft_names_are_deterministic_per_watch_and_gap() -> None:
    key = gap_key(0, "2026-11-20T11:10:00.000Z", "2026-11-20T11:12:00.000Z")
    assert key == gap_key(0, "2026-11-20T11:10:00.000Z", "2026-11-20T11:12:00.000Z")
    assert key != gap_key(1, "2026-11-20T11:10:00.000Z", "2026-11-20T11:12:00.000Z")
    assert draft_name("w", key) == f"w-gap-{key}" and len(key) == 12


def test_a_draft_replays_its_gap_with_a_margin_manual_and_owned_by_the_watch() -> None:
    gap = decide.merge_gaps([], entries(gap_entry(partition=3)), NOW).gaps[0]
    body = draft_manifest(watch(draft={"enabled": True, "marginSeconds": 30}), OWNER, gap)
    spec = body["spec"]
    assert spec["window"] == {"timestamps": {"from": "2026-11-20T11:09:30Z", "to": "2026-11-20T11:12:31Z"}}
    assert spec["source"]["partitions"] == ["3"]
    assert spec["promotion"] == {"policy": "Manual"}
    assert spec["dedup"]["redis"] == WATCH_SPEC["redis"] and spec["dedup"]["mode"] == "skipProcessed"
    assert body["metadata"]["ownerReferences"][0]["kind"] == "EventReplayWatch"
    assert body["metadata"]["ownerReferences"][0]["uid"] == "w-1"
    dry = draft_manifest(watch(draft={"enabled": True, "template": {"dryRun": True}}), OWNER, gap)
    assert dry["spec"]["dryRun"] is True


def test_a_template_may_not_promote_by_itself() -> None:
    for promotion in ({"policy": "Automatic", "thresholds": {}}, {"policy": "Never"}, {"approvedReportHash": "a" * 64}):
        with pytest.raises(ValidationError):
            watch(draft={"enabled": True, "template": {"promotion": promotion}})


def test_the_policy_judges_the_replay_a_scan_would_draft() -> None:
    own = Policy(closed_default(Own(kafka_servers=("k:9092",), redis_addresses=("r:6379",))))
    spec = scan_spec(watch(), scan_window(watch(), NOW))
    assert own.check("ns", spec, default_image="img") is None
    foreign = scan_spec(watch(source={"bootstrapServers": "evil:9092", "topic": "orders"}), scan_window(watch(), NOW))
    refusal = own.check("ns", foreign, default_image="img")
    assert refusal is not None
    redis = scan_spec(watch(redis={"url": "redis://other:6379/0"}), scan_window(watch(), NOW))
    assert own.check("ns", redis, default_image="img") is not None
