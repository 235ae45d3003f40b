"""Event-time windows (pure): assignment, lateness per partition, and every aggregation."""

from __future__ import annotations

from typing import Any

from eventreplay.worker.contract.combine_task import Aggregate
from eventreplay.worker.windows.aggregator import WindowedAggregator, iso, window_starts

AGGS = [
    {"name": "n", "function": "count"},
    {"name": "total", "function": "sum", "field": "amount"},
    {"name": "low", "function": "min", "field": "amount"},
    {"name": "high", "function": "max", "field": "amount"},
    {"name": "buyers", "function": "distinctCount", "field": "buyer"},
]


def _agg(**kw: Any) -> WindowedAggregator:
    spec = {"eventTimeField": "ts", "keyField": "shop", "windowSeconds": 60, "aggregations": AGGS, **kw}
    return WindowedAggregator(Aggregate.model_validate(spec))


def test_window_starts_tumbling_and_hopping() -> None:
    assert window_starts(125_000, 60_000, 60_000) == [120_000]
    assert window_starts(125_000, 60_000, 20_000) == [80_000, 100_000, 120_000]
    assert window_starts(120_000, 60_000, 20_000) == [80_000, 100_000, 120_000]


def test_tumbling_results_per_window_and_key() -> None:
    agg = _agg()
    for ts, shop, amount, buyer in [(1_000, "a", 5, "x"), (2_000, "a", 7, "y"), (3_000, "b", 1, "x"),
                                    (4_000, "a", "n/a", "x"), (61_000, "a", 2, "x")]:  # fmt: skip
        agg.add(0, {"ts": ts, "shop": shop, "amount": amount, "buyer": buyer})
    assert agg.results() == [
        {"id": f"{iso(0)}|a", "windowStart": iso(0), "windowEnd": iso(60_000), "key": "a",
         "n": 3, "total": 12, "low": 5, "high": 7, "buyers": 2},
        {"id": f"{iso(0)}|b", "windowStart": iso(0), "windowEnd": iso(60_000), "key": "b",
         "n": 1, "total": 1, "low": 1, "high": 1, "buyers": 1},
        {"id": f"{iso(60_000)}|a", "windowStart": iso(60_000), "windowEnd": iso(120_000), "key": "a",
         "n": 1, "total": 2, "low": 2, "high": 2, "buyers": 1},
    ]  # fmt: skip
    assert agg.counts.skipped_values == 3  # "n/a" is no number for sum, min, max


def test_lateness_is_judged_per_partition_against_the_largest_time_seen_before() -> None:
    agg = _agg(allowedLatenessSeconds=11)
    agg.add(0, {"ts": 130_000, "shop": "a", "amount": 1})
    agg.add(0, {"ts": 50_000, "shop": "a", "amount": 1})  # [0, 60 s) + 11 s <= 130 s: late
    agg.add(0, {"ts": 100_000, "shop": "a", "amount": 1})  # [60, 120 s) + 11 s > 130 s: kept
    agg.add(0, {"ts": 59_000, "shop": "a", "amount": 1})  # late again
    agg.add(1, {"ts": 50_000, "shop": "a", "amount": 1})  # partition 1 has seen nothing: kept
    assert agg.counts.late == 2
    assert [(r["windowStart"], r["n"]) for r in agg.results()] == [(iso(0), 1), (iso(60_000), 1), (iso(120_000), 1)]


def test_events_without_time_or_key_are_counted_and_left_out() -> None:
    agg = _agg()
    agg.add(0, {"shop": "a"})
    agg.add(0, {"ts": "yesterday", "shop": "a"})
    agg.add(0, {"ts": "2026-11-20T10:00:30Z", "shop": True})
    agg.add(0, {"ts": "2026-11-20T10:00:30Z", "shop": 7, "amount": 2.5})
    assert (agg.counts.no_event_time, agg.counts.no_key) == (2, 1)
    [only] = agg.results()
    assert (only["id"], only["total"], only["low"], only["buyers"]) == ("2026-11-20T10:00:00.000Z|7", 2.5, 2.5, 0)
