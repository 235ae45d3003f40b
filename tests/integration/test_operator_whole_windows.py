"""Whole windows on the real stack: docs/concepts.md's hourly example (1 h windows sliding every 15 min, one
order a minute) replayed for one hour in the middle of a five-hour topic. Every window overlapping
that hour is recomputed from all its events (the plan reads back to 09:15 and on to 11:45), only
those windows are reconciled and promoted, and nothing outside them is written. The truth is
computed here from every source event.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from support.aggregations import by_shop, iso_ms, window_result, write_flawed_results
from support.kafka_tools import create_topic, produce, read_partition
from support.operator_driver import OperatorDriver
from support.replay_specs import aggregate_replay

pytestmark = pytest.mark.stack

HOUR, MINUTE, SLIDE = 3_600_000, 60_000, 900_000
SHOPS = ("north", "south")


def _truth(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every window of every event (in order, on time: none is late), from all the source events."""
    windows: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        ts = e["ms"]
        start = ts - ts % SLIDE - HOUR + SLIDE
        while start <= ts:
            windows[(start, e["shop"])].append(e)
            start += SLIDE
    results = (
        window_result(start, HOUR, shop, orders=len(held), revenue=sum(e["amount"] for e in held))
        for (start, shop), held in windows.items()
    )
    out = {result["id"]: result for result in results}
    return out


def _sink(bootstrap: str, topic: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r.key.decode(), orjson.loads(r.value)) for r in read_partition(bootstrap, topic) if r.key and r.value]


def test_an_hour_in_the_middle_recomputes_every_overlapping_window_whole_and_writes_nothing_else(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    # Five hours of orders, one a minute, ending a day ago (well inside the topic's retention).
    base = (int(time.time() * 1000) - 30 * HOUR) // HOUR * HOUR  # "08:00"
    topic, sink = f"hourly-{unique}", f"hourly-out-{unique}"
    create_topic(kafka_admin, topic, 1)
    create_topic(kafka_admin, sink, 1)
    events = [
        {"event_id": f"o{m}", "ms": base + m * MINUTE, "shop": SHOPS[m % 2], "amount": 1 + m % 7} for m in range(300)
    ]
    records = [Record(None, orjson.dumps({**e, "ts": iso_ms(e["ms"])}), "valid", e["event_id"]) for e in events]
    produce(kafka_bootstrap, topic, records, timestamp_ms=[e["ms"] for e in events])
    truth = _truth(events)
    asked_from, asked_to = base + 2 * HOUR, base + 3 * HOUR  # "10:00" - "11:00"
    # Same-format RFC 3339 strings order as the times they name.
    overlapping = {
        rid for rid, r in truth.items() if r["windowStart"] < iso_ms(asked_to) and r["windowEnd"] > iso_ms(asked_from)
    }
    assert len({truth[rid]["windowStart"] for rid in overlapping}) == 7  # 09:15 .. 10:45
    assert {truth[rid]["orders"] for rid in overlapping} == {30}  # 60 orders a window, 2 shops

    # Production's results: every window, some wrong or missing inside the hour's windows, one wrong outside.
    inside, outside = sorted(overlapping), sorted(set(truth) - overlapping)
    wrong, missing, wrong_outside = set(inside[0:5:2]), {inside[7], inside[-1]}, outside[0]
    existing = write_flawed_results(
        kafka_bootstrap,
        sink,
        truth,
        missing=missing,
        wrong=wrong | {wrong_outside},
        corrupt=lambda r: dict(r, orders=r["orders"] - 15),
    )

    aggregations = [{"name": "orders", "function": "count"}, {"name": "revenue", "function": "sum", "field": "amount"}]
    asked = {"timestamps": {"from": iso_ms(asked_from), "to": iso_ms(asked_to)}}
    spec = aggregate_replay(
        topic,
        ledger=f"hourly-{unique}",
        sink_topic=sink,
        aggregate=by_shop(HOUR // 1000, SLIDE // 1000, aggregations),
        existing=existing,
        window=asked,
        promotion={"policy": "Manual"},
    )
    with driver.running():
        driver.create("hourly", spec)
        got = driver.wait_for_condition("hourly", "Reconciled", timeout=300)
        plan = got["status"]["plan"]
        assert plan["requestedWindow"] == {"from": iso_ms(asked_from), "to": iso_ms(asked_to)}
        assert plan["readRange"] == {"from": iso_ms(base + HOUR + SLIDE), "to": iso_ms(base + 3 * HOUR + 3 * SLIDE)}
        # Before whole windows: the straddling windows counted 15/30/45 orders per shop, not 30.
        results = dict(_sink(kafka_bootstrap, got["status"]["aggregation"]["resultsTopic"]))
        assert results == {rid: truth[rid] for rid in overlapping}
        assert "incompleteWindows" not in got["status"]["aggregation"]
        rec = got["status"]["reconciliation"]
        assert (rec["changed"], rec["missing"]) == (len(wrong), len(missing))
        assert rec["unchanged"] == len(overlapping) - len(wrong) - len(missing)
        driver.patch_spec("hourly", {"promotion": {"approvedReportHash": rec["reportHash"]}})
        done = driver.wait_for_condition("hourly", "Ready", timeout=300)
        assert done["status"]["promotion"]["written"] == len(wrong) + len(missing)

    written = _sink(kafka_bootstrap, sink)
    promoted = written[existing:]
    assert {rid for rid, _ in promoted} == wrong | missing  # nothing outside the overlapping windows
    final = dict(written)  # the last write of an id is its output
    assert {rid: final[rid] for rid in overlapping} == {rid: truth[rid] for rid in overlapping}
    assert final[wrong_outside]["orders"] == truth[wrong_outside]["orders"] - 15  # outside: left as it was
