"""Whole windows: the read range of an aggregate replay, the plan that records it, and the combine
Job emitting only the overlapping windows it can complete (all pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from operator_fixtures import spec

from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_combine_task, existing_output
from eventreplay.operator.planner import PAST_END, Observed, PlanRefused, make_plan, read_times
from eventreplay.worker.contract.combine_task import Aggregate, Requested
from eventreplay.worker.contract.summaries import CombineSummary
from eventreplay.worker.contract.whole_windows import WindowShape
from eventreplay.worker.windows.aggregator import WindowedAggregator, iso

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MIN = 60_000
TEN = int(datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp() * 1000)
"""10:00, a multiple of 15 min since the epoch."""
HOURLY = {
    "eventTimeField": "ts",
    "windowSeconds": 3600,
    "slideSeconds": 900,
    "aggregations": [{"name": "orders", "function": "count"}],
}
WINDOW = {"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}}


def at(minutes: int) -> int:
    """10:00 plus `minutes`, in epoch ms."""
    return TEN + minutes * MIN


@pytest.mark.parametrize(
    ("minutes", "window", "overlapping", "read"),
    [
        # docs/concepts.md's hourly example: 1 h windows every 15 min, replay 10:00-11:00 -> 09:15 .. 10:45 (7 windows).
        ((60, 15, 0), (0, 60), (-45, 45), (-45, 105)),
        ((60, 15, 2), (0, 60), (-45, 45), (-47, 107)),
        ((60, 60, 0), (0, 60), (0, 0), (0, 60)),  # tumbling, aligned: the window itself
        ((60, 60, 0), (10, 70), (0, 60), (0, 120)),  # tumbling, straddling: both windows whole
        ((60, 15, 0), (5, 6), (-45, 0), (-45, 60)),
    ],
)
def test_overlapping_windows_and_the_read_range(
    minutes: tuple[int, int, int], window: tuple[int, int], overlapping: tuple[int, int], read: tuple[int, int]
) -> None:
    size, slide, lateness = minutes  # window size, slide and allowed lateness
    shape = WindowShape(size * MIN, slide * MIN, lateness * MIN)
    asked = (at(window[0]), at(window[1]))
    assert shape.overlapping(*asked) == (at(overlapping[0]), at(overlapping[1]))
    assert shape.read_range(*asked) == (at(read[0]), at(read[1]))
    first, last = shape.overlapping(*asked)
    assert shape.overlaps(first, *asked) and shape.overlaps(last, *asked)
    assert not shape.overlaps(first - shape.slide_ms, *asked) and not shape.overlaps(last + shape.slide_ms, *asked)


def test_only_aggregate_time_windows_are_widened() -> None:
    asked = (at(0), at(60))
    assert read_times(spec(transform={"aggregate": HOURLY}), asked) == (at(-45), at(105))
    assert read_times(spec(), asked) == asked
    assert read_times(spec(transform={"aggregate": HOURLY}), None) is None


def _plan(observed: dict[int, Observed], **overrides: Any) -> Any:
    s = spec(window=WINDOW, transform={"aggregate": HOURLY}, **overrides)
    return s, make_plan(s, Owner(namespace="ns", name="r", uid="u1"), (2, observed), AS_OF)


def test_the_plan_records_the_requested_window_the_read_range_and_the_partitions_at_the_head() -> None:
    observed = {
        0: Observed(low=0, high=500, start_at_time=40, end_at_time=200),
        1: Observed(low=0, high=300, start_at_time=30, end_at_time=PAST_END),
    }
    s, plan = _plan(observed)
    assert plan.requested_window.model_dump(by_alias=True) == {
        "from": "2026-11-20T10:00:00.000Z",
        "to": "2026-11-20T11:00:00.000Z",
    }
    assert plan.read_range.model_dump(by_alias=True) == {
        "from": "2026-11-20T09:15:00.000Z",
        "to": "2026-11-20T11:45:00.000Z",
    }
    assert [(p.start_offset, p.end_offset, p.at_head) for p in plan.partitions] == [(40, 200, None), (30, 300, True)]
    owner = Owner(namespace="ns", name="r", uid="u1")
    task = build_combine_task(s, plan, owner)
    assert task.requested == Requested(from_ms=at(0), to_ms=at(60), head_partitions=[1])
    window = existing_output(s, plan).timestamps
    assert window is not None and (window.from_, window.to) == (
        datetime(2026, 11, 20, 9, 15, tzinfo=UTC),
        datetime(2026, 11, 20, 11, 45, tzinfo=UTC),
    )


def test_an_offset_window_reads_what_it_names_and_emits_every_window() -> None:
    s = spec(transform={"aggregate": HOURLY})
    plan = make_plan(s, Owner(namespace="ns", name="r", uid="u1"), (1, {0: Observed(0, 9)}), AS_OF)
    assert (plan.requested_window, plan.read_range) == (None, None)
    assert build_combine_task(s, plan, Owner(namespace="ns", name="r", uid="u1")).requested is None


def test_a_read_range_the_log_no_longer_holds_is_refused_naming_the_window() -> None:
    first = int(datetime(2026, 11, 20, 9, 40, tzinfo=UTC).timestamp() * 1000)  # after 09:15, before 10:00
    observed = {p: Observed(low=7, high=50, start_at_time=7, end_at_time=30, first_timestamp_ms=first) for p in (0, 1)}
    with pytest.raises(PlanRefused) as err:
        _plan(observed)
    assert err.value.reason == "RetentionExpired"
    assert (
        "the aggregation window [2026-11-20T09:15:00.000Z, 2026-11-20T10:15:00.000Z) overlaps the replay window "
        "and cannot be completed" in err.value.message
    )


def _aggregator() -> WindowedAggregator:
    return WindowedAggregator(Aggregate.model_validate(HOURLY))


def test_only_overlapping_windows_are_results_each_from_all_its_events() -> None:
    agg = _aggregator()
    for minute in range(-60, 120):  # one order a minute, 09:00 .. 11:59 (the read range and more)
        agg.add(0, {"ts": at(minute)})
    results, incomplete = agg.emitted(Requested(from_ms=at(0), to_ms=at(60)))
    assert [(r["windowStart"], r["orders"]) for r in results] == [(iso(at(m)), 60) for m in range(-45, 60, 15)]
    assert incomplete == [] and agg.counts.incomplete == 0
    assert agg.counts.outside == len(agg.results()) - 7
    every, none = agg.emitted(None)
    assert len(every) == len(agg.results()) and none == []


def test_windows_a_partition_at_the_head_has_not_passed_are_reported_not_emitted() -> None:
    agg = _aggregator()
    for minute in range(-45, 50):  # partition 1's log ends at 10:49
        agg.add(1, {"ts": at(minute)})
    results, incomplete = agg.emitted(Requested(from_ms=at(0), to_ms=at(60), head_partitions=[1]))
    # Closed: a window ending by 10:49 (its end + lateness 0 <= the watermark 10:49).
    assert [r["windowStart"] for r in results] == [iso(at(-45)), iso(at(-30)), iso(at(-15))]
    assert incomplete == [iso(at(m)) for m in (0, 15, 30, 45)] and agg.counts.incomplete == 4
    summary = CombineSummary(
        results_topic="t", results=3, windows=3, counts=agg.counts, digest="d", rewritten=True,
        completed_at="now", incomplete_windows=incomplete,
    )  # fmt: skip
    assert CombineSummary.from_json(summary.to_json()).incomplete == incomplete
