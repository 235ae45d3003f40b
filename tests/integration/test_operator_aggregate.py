"""Windowed recompute on the real stack: the operator replays, combines the sandbox into one result
per (window, key), reconciles the results with the destination and promotes only the delta.

Every window result is compared with a plain reference computed here from the source records
(valid, first copy of an id, per-partition lateness), including late and duplicate events.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from support.aggregations import amount_aggregations, by_shop, iso_ms, window_result, write_flawed_results
from support.kafka_tools import create_topic, produce, read_topic
from support.operator_driver import OperatorDriver
from support.replay_specs import aggregate_replay

pytestmark = pytest.mark.stack

BASE = 1_800_000_000_000  # a minute boundary: 2027-01-15T08:00:00Z
SIZE, SLIDE, LATENESS = 60_000, 30_000, 5_000
SHOPS = ("north", "south", "east")


def _events(partition: int, rng: random.Random) -> list[dict[str, Any]]:
    """In time order with jitter; some late (30-90 s back), some duplicated, one without an id."""
    out, t = [], BASE + partition * 1_000
    for i in range(300):
        t += rng.randint(200, 1_500)
        stamp = t - rng.randint(30_000, 90_000) if i % 37 == 5 else t  # late: behind the watermark
        event = {
            "event_id": f"p{partition}-{i}",
            "ts": iso_ms(stamp),
            "shop": rng.choice(SHOPS),
            "amount": rng.randint(1, 500),
            "buyer": f"b{rng.randint(1, 40)}",
        }
        out.append(event)
        if i % 23 == 7:
            out.append(dict(event))  # a duplicate: the ledger keeps the first copy
    out.insert(50, {"ts": iso_ms(t), "shop": "north", "amount": 1})  # no id: dead-lettered
    return out


def _reference(per_partition: dict[int, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Plain recompute: what the replay must produce, window result by window result."""
    windows: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    for _p, events in sorted(per_partition.items()):
        watermark = None
        for e in events:
            if "event_id" not in e or e["event_id"] in seen:
                continue
            seen.add(e["event_id"])
            ts = int(datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp() * 1000)
            start = ts - ts % SLIDE - SIZE + SLIDE
            while start <= ts:
                if watermark is None or start + SIZE + LATENESS > watermark:
                    windows[(start, e["shop"])].append(e)
                start += SLIDE
            watermark = ts if watermark is None else max(watermark, ts)
    out = {}
    for (start, shop), events in windows.items():
        amounts = [e["amount"] for e in events]
        values = {"orders": len(events), "revenue": sum(amounts), "smallest": min(amounts), "largest": max(amounts)}
        result = window_result(start, SIZE, shop, **values, buyers=len({e["buyer"] for e in events}))
        out[result["id"]] = result
    return out


def test_windowed_recompute_reconciles_and_promotes_only_changed_windows(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    rng = random.Random(11)
    topic, sink = f"agg-{unique}", f"agg-out-{unique}"
    create_topic(kafka_admin, topic, 3)
    create_topic(kafka_admin, sink, 1)
    per_partition = {p: _events(p, rng) for p in range(3)}
    for p, events in per_partition.items():
        records = [Record(None, orjson.dumps(e), "valid", e.get("event_id", "")) for e in events]
        produce(kafka_bootstrap, topic, records, partition=p)
    truth = _reference(per_partition)
    late = sum(
        1 for events in per_partition.values() for i, e in enumerate(events) if e.get("event_id", "").endswith("-5")
    )
    assert late and len(truth) > 20
    # The destination as a flawed streaming job left it: most windows right, some wrong, some missing.
    ids = sorted(truth)
    wrong, missing = set(ids[3:9]), set(ids[10:15])
    existing = write_flawed_results(
        kafka_bootstrap, sink, truth, missing=missing, wrong=wrong, corrupt=lambda r: dict(r, revenue=r["revenue"] + 1)
    )

    aggregations = [*amount_aggregations(), {"name": "buyers", "function": "distinctCount", "field": "buyer"}]
    aggregate = by_shop(SIZE // 1000, SLIDE // 1000, aggregations, allowedLatenessSeconds=LATENESS // 1000)
    manual = {"policy": "Manual"}
    spec = aggregate_replay(
        topic, ledger=f"agg-{unique}", sink_topic=sink, aggregate=aggregate, existing=existing, promotion=manual
    )
    with driver.running():
        driver.create("windows", spec)
        got = driver.wait_for_condition("windows", "Reconciled", timeout=300)
        agg = got["status"]["aggregation"]
        results = {
            r.key.decode(): orjson.loads(r.value) for _, r in read_topic(kafka_bootstrap, agg["resultsTopic"], 3)
        }
        assert results == truth  # every window result, exactly
        assert agg["results"] == len(truth) and agg["late"] > 0
        rec = got["status"]["reconciliation"]
        assert (rec["unchanged"], rec["changed"], rec["missing"], rec["extra"]) == (
            len(truth) - len(wrong) - len(missing),
            len(wrong),
            len(missing),
            0,
        )
        driver.patch_spec("windows", {"promotion": {"approvedReportHash": rec["reportHash"]}})
        done = driver.wait_for_condition("windows", "Ready", timeout=300)
        assert done["status"]["promotion"]["written"] == len(wrong) + len(missing)
        assert done["status"]["aggregation"]["digest"] == agg["digest"]  # recorded once, kept
    final: dict[str, dict[str, Any]] = {}
    for _, r in read_topic(kafka_bootstrap, sink, 1):
        final[r.key.decode()] = orjson.loads(r.value)  # the last write of an id is its output
    assert final == truth
