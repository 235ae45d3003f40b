"""Status aggregation, conditions (kstatus), events, merge patches, and size at 1,000 partitions."""

from __future__ import annotations

import json

from operator_fakes import checkpoint
from operator_fixtures import plan, spec

from eventreplay.operator import conditions as cond
from eventreplay.operator import progress
from eventreplay.operator.api.v1alpha1 import EventReplayStatus
from eventreplay.operator.events import condition_events, partition_events
from eventreplay.operator.job_state import JobView
from eventreplay.operator.phases.status import merge_diff

PLAN = plan([(0, 0, 100), (1, 100, 200), (2, 0, 0)])


def test_progress_totals_rate_and_eta() -> None:
    jobs = {0: JobView("r-0", 0, 0, "Succeeded"), 1: JobView("r-1", 1, 0, "Running")}
    counts = {"emitted": 90, "duplicate": 5, "dead_lettered": 5, "reasons": {"schema": 5}}
    ckpts = {
        0: checkpoint(0, 100, **counts, started_at=1000.0, updated_at=1010.0),
        1: checkpoint(1, 150, start=100, end=200, emitted=50, started_at=1000.0, updated_at=1015.0),
    }
    parts = progress.partitions(PLAN, jobs, ckpts)
    assert [(p.state, p.percent) for p in parts] == [("Done", 100), ("Running", 50), ("Done", 100)]
    totals = progress.totals(PLAN, ckpts)
    assert (totals.read, totals.emitted, totals.dead_lettered, totals.records) == (150, 140, 5, 200)
    assert totals.dead_letter_reasons == {"schema": 5}
    overall = progress.progress(PLAN, parts, ckpts)
    assert overall.partitions == "2/3" and overall.percent == 75
    assert overall.events_per_second == 10.0  # 150 offsets in 15 s
    assert overall.eta_seconds == 5 and overall.eta == "5s"


def test_totals_sum_the_offsets_that_held_no_record() -> None:
    ckpts = {
        0: checkpoint(0, 100, emitted=80, dead_lettered=2, skipped_offsets=18),
        1: checkpoint(1, 200, start=100, end=200, emitted=97, skipped_offsets=3),
    }
    totals = progress.totals(PLAN, ckpts)
    assert (totals.read, totals.skipped_offsets, totals.records) == (179, 21, 200)
    assert totals.read + totals.skipped_offsets == totals.records


def test_stale_checkpoint_of_another_range_is_ignored() -> None:
    parts = progress.partitions(PLAN, {}, {0: checkpoint(0, 50, start=5)})
    assert parts[0].committed_offset is None


def test_failed_partition_uses_the_workers_message() -> None:
    jobs = {
        0: JobView("r-0", 0, 0, "Failed", "PodFailurePolicy: exit 10"),
        1: JobView("r-1", 1, 0, "Succeeded"),
    }
    ckpts = {0: checkpoint(0, 10, state="failed", message="retention expired at offset 10")}
    parts = progress.partitions(PLAN, jobs, ckpts)
    assert parts[0].message == "retention expired at offset 10"
    wants = progress.replay_conditions(spec(), PLAN, parts, progress.totals(PLAN, ckpts))
    stalled = next(w for w in wants if w.type == cond.STALLED)
    assert (stalled.status, stalled.reason) == ("True", "PartitionsFailed")
    assert "partitions 0 failed (0: retention expired at offset 10)" in stalled.message


def test_a_partition_stopped_by_the_poison_breaker_stalls_with_its_own_reason() -> None:
    jobs = {0: JobView("r-0", 0, 0, "Failed", "PodFailurePolicy: exit 10"), 1: JobView("r-1", 1, 0, "Succeeded")}
    why = "permanent: PoisonRatioExceeded: 180 of 200 records read were dead-lettered (90.0% > 50.0%)"
    ckpts = {0: checkpoint(0, 10, state="failed", message=why)}
    parts = progress.partitions(PLAN, jobs, ckpts)
    wants = progress.replay_conditions(spec(), PLAN, parts, progress.totals(PLAN, ckpts))
    stalled = next(w for w in wants if w.type == cond.STALLED)
    assert (stalled.status, stalled.reason) == ("True", "PoisonRatioExceeded")
    assert "180 of 200 records read were dead-lettered" in stalled.message
    assert "bump spec.retry" not in stalled.message  # the same window would stop the same way
    replayed = next(w for w in wants if w.type == cond.REPLAYED)
    assert (replayed.status, replayed.reason) == ("False", "PoisonRatioExceeded")


def test_kstatus_conditions_while_running_suspended_and_done() -> None:
    running = progress.partitions(PLAN, {0: JobView("r-0", 0, 0, "Running")}, {})
    t = progress.totals(PLAN, {})
    by_type = {w.type: w for w in progress.replay_conditions(spec(), PLAN, running, t)}
    assert (by_type["Reconciling"].status, by_type["Ready"].status, by_type["Stalled"].status) == (
        "True",
        "False",
        "False",
    )
    by_type = {w.type: w for w in progress.replay_conditions(spec(suspend=True), PLAN, running, t)}
    assert by_type["Ready"].reason == "Suspended"
    done = progress.partitions(PLAN, {0: JobView("a", 0, 0, "Succeeded"), 1: JobView("b", 1, 0, "Succeeded")}, {})
    by_type = {w.type: w for w in progress.replay_conditions(spec(), PLAN, done, t)}
    assert (by_type["Ready"].status, by_type["Replayed"].status, by_type["Reconciling"].status) == (
        "True",
        "True",
        "False",
    )


def test_transition_time_only_changes_with_status() -> None:
    first = cond.merge([], [cond.Want("Ready", "False", "Replaying")], now="t1", generation=1)
    second = cond.merge(first, [cond.Want("Ready", "False", "Suspended")], now="t2", generation=2)
    third = cond.merge(second, [cond.Want("Ready", "True", "Replayed")], now="t3", generation=2)
    assert [c.last_transition_time for c in (first[0], second[0], third[0])] == ["t1", "t1", "t3"]
    assert second[0].observed_generation == 2
    kept = cond.merge(
        [*third, *cond.merge([], [cond.Want("Reconciled", "True", "Done")], now="t0", generation=1)],
        [],
        now="t4",
        generation=3,
    )
    assert [c.type for c in kept] == ["Ready", "Reconciled"]


def test_phase() -> None:
    def phase(*wants: cond.Want, **kw: bool) -> str:
        return cond.phase(
            cond.merge([], wants, now="t", generation=1),
            suspended=kw.get("suspended", False),
            dry_run=kw.get("dry_run", False),
        )

    assert phase() == "Pending"
    assert phase(cond.Want("Planned", "True", "Planned"), dry_run=True) == "Planned"
    assert phase(cond.Want("Planned", "True", "Planned")) == "Replaying"
    assert phase(cond.Want("Planned", "True", "Planned"), suspended=True) == "Suspended"
    assert phase(cond.Want("Stalled", "True", "TopicNotFound")) == "Stalled"
    assert phase(cond.Want("Replayed", "True", "Replayed")) == "Replayed"


def test_events_on_transitions() -> None:
    old = progress.partitions(PLAN, {0: JobView("r-0", 0, 0, "Running")}, {})
    new = progress.partitions(PLAN, {0: JobView("r-0", 0, 0, "Succeeded"), 1: JobView("r-1", 1, 0, "Failed", "x")}, {})
    reasons = [e.reason for e in partition_events(PLAN, old, new)]
    assert reasons == ["PartitionFinished", "PartitionFailed"]
    assert partition_events(PLAN, new, new) == []
    before = cond.merge([], [cond.Want("Planned", "False", "Planning")], now="t", generation=1)
    after = cond.merge(
        before,
        [
            cond.Want("Planned", "True", "Planned", "3 partitions"),
            cond.Want("Stalled", "True", "RetentionExpired", "gone"),
        ],
        now="t",
        generation=1,
    )
    assert [(e.type, e.reason) for e in condition_events(before, after)] == [
        ("Warning", "RetentionExpired"),
        ("Normal", "Planned"),
    ]


def test_merge_diff_nulls_removed_fields_and_skips_equal_ones() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    new = {"a": 1, "b": {"c": 2}, "e": [1, 2]}
    assert merge_diff(old, new) == {"b": {"d": None}, "e": [1, 2]}
    assert merge_diff(new, new) == {}


def test_status_for_1000_partitions_stays_small() -> None:
    big = plan([(p, 10_000_000, 10_100_000) for p in range(1000)])
    jobs = {p: JobView(f"orders-2026-11-20-{p}", p, 0, "Running") for p in range(1000)}
    counts = {"emitted": 49_000, "duplicate": 500, "dead_lettered": 500, "reasons": {"schema": 400, "conflict": 100}}
    ckpts = {
        p: checkpoint(p, 10_050_000, start=10_000_000, end=10_100_000, **counts, started_at=1.0, updated_at=100.0)
        for p in range(1000)
    }
    parts = progress.partitions(big, jobs, ckpts)
    totals = progress.totals(big, ckpts)
    conds = cond.merge(
        [], progress.replay_conditions(spec(), big, parts, totals), now="2026-11-20T12:00:00Z", generation=1
    )
    status = EventReplayStatus(
        observed_generation=1,
        phase="Replaying",
        conditions=conds,
        plan=big,
        partitions=parts,
        totals=totals,
        progress=progress.progress(big, parts, ckpts),
    )
    size = len(json.dumps(status.to_wire(), separators=(",", ":")))
    print(f"status size for 1,000 partitions: {size} bytes")
    assert size < 256 * 1024
    EventReplayStatus.model_validate(status.to_wire())
