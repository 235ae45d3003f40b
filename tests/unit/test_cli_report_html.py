"""The HTML report: SVG charts drawn from the numbers, figures taken from status, nothing fetched."""

from __future__ import annotations

import re
from typing import Any

from eventreplay.cli.report_html import aggregate, render
from eventreplay.cli.report_read import Entry, Replayed
from eventreplay.cli.report_svg import Bar, bar_chart, hbar_chart

MINUTE = 60_000


def replay_object() -> dict[str, Any]:
    return {
        "metadata": {"namespace": "shop", "name": "orders-fix", "uid": "u1"},
        "spec": {"promotion": {"policy": "Manual", "approvedReportHash": "abc123"}},
        "status": {
            "plan": {"hash": "p1", "topic": "orders", "records": 120, "asOf": "2024-01-01T00:00:00Z",
                     "partitions": [{"partition": 0}, {"partition": 1}], "sandboxTopic": "sb"},
            "reconciliation": {"reportHash": "abc123", "changed": 2, "missing": 3, "extra": 1, "unchanged": 7,
                               "replayedIds": 12, "existingIds": 10, "duplicates": 0, "superseded": 1,
                               "existingTopic": "orders-out", "reportTopic": "sb.report"},
            "promotion": {"reportHash": "abc123", "approvedBy": "alice"},
            "totals": {"deadLettered": 4, "deadLetterReasons": {"invariant": 3, "not-json": 1}},
        },
    }  # fmt: skip


def report_entries() -> list[Entry]:
    out = []
    for i in range(5):
        cls = "changed" if i < 2 else "missing"
        rec = Replayed(i % 2, i, 1_700_000_000_000 + i * MINUTE, b"{}")
        changes = {"amount": (i, i + 1), "status": ("open", "paid")} if cls == "changed" else {}
        out.append(Entry(f"order-{i}", cls, rec, None, changes))
    return out


def test_bar_chart_draws_one_rect_per_series_per_bar() -> None:
    svg = bar_chart("t", "title", [Bar("a", 0, {"missing": 2, "changed": 1}), Bar("b", 3, {"missing": 1})])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r'<rect [^>]*data-series="(missing|changed)"', svg)) == 3
    assert "nothing to show" in bar_chart("t", "title", [])


def test_hbar_chart_orders_longest_first() -> None:
    svg = hbar_chart("f", "fields", [("b", 1), ("a", 5)])
    assert svg.index(">a</text>") < svg.index(">b</text>")
    assert svg.count("<rect") == 2


def test_aggregate_counts_minutes_partitions_and_fields_with_examples() -> None:
    agg = aggregate(report_entries())
    assert agg.classes == {"changed": 2, "missing": 3}
    assert len(agg.minutes) == 5
    assert agg.partitions[0] == {"changed": 1, "missing": 2}
    assert agg.fields == {"amount": 2, "status": 2}
    assert agg.examples["amount"][0] == ("order-0", 0, 1)


def test_page_is_self_contained_and_its_figures_are_status() -> None:
    page = render(replay_object(), aggregate(report_entries()))
    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', page))
    status = replay_object()["status"]
    for name in ("changed", "missing", "extra", "unchanged", "replayedIds", "existingIds"):
        assert figures[name] == str(status["reconciliation"][name])
    assert figures["deadLettered"] == "4"
    assert figures["reportHash"] == "abc123"
    assert figures["approvedBy"] == "alice"
    assert figures["approval"] == "approved by alice"
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere
    assert page.count('class="chart"') == 4


def test_extra_ids_are_counted_and_listed_with_their_existing_value() -> None:
    extra = [Entry(f"gone-{i}", "extra", None, b'{"amount": 5}') for i in range(25)]
    agg = aggregate([*report_entries(), *extra])
    assert agg.classes == {"changed": 2, "missing": 3, "extra": 25}
    assert agg.minutes and sum(sum(c.values()) for c in agg.minutes.values()) == 5  # extra ids have no event time
    page = render(replay_object(), agg)
    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', page))
    assert (figures["listed-changed"], figures["listed-missing"], figures["listed-extra"]) == ("2", "3", "25")
    assert page.count("<code>gone-") == 20 and "and 5 more" in page
    assert "{&quot;amount&quot;: 5}" in page
