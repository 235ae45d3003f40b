"""`eventreplay export flink-sql`: the SQL is compared with reviewed golden files (tests/unit/golden/).
A change to the exporter that changes the SQL must change the golden file in the same commit, after
reading the diff: these files are what a platform team would run on Flink.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from operator_fixtures import plan, spec

from eventreplay.cli.flink_sql import flink_sql

GOLDEN = Path(__file__).parent / "golden"


def test_hopping_windows_by_key_with_rfc3339_times() -> None:
    schema = {"type": "object", "properties": {"amount": {"type": "integer"}, "price": {"type": "number"}}}
    aggregate = {
        "eventTimeField": "ts",
        "keyField": "shop",
        "windowSeconds": 3600,
        "slideSeconds": 900,
        "allowedLatenessSeconds": 60,
        "aggregations": [
            {"name": "orders", "function": "count"},
            {"name": "revenue", "function": "sum", "field": "amount"},
            {"name": "cheapest", "function": "min", "field": "price"},
            {"name": "buyers", "function": "distinctCount", "field": "buyer"},
        ],
    }
    s = spec(validation={"jsonSchema": schema | {"properties": schema["properties"] | {"ts": {"type": "string"}}}},
             transform={"aggregate": aggregate})  # fmt: skip
    sql = flink_sql(s, plan([(0, 10, 500), (1, 0, 480)]), "payments", "orders-hourly")
    assert sql == (GOLDEN / "flink_sql_hop.sql").read_text()


def test_tumbling_windows_without_key_with_epoch_times() -> None:
    schema = {"type": "object", "properties": {"at": {"type": "integer"}, "amount": {"type": "integer"}}}
    aggregate = {
        "eventTimeField": "at",
        "windowSeconds": 60,
        "aggregations": [{"name": "n", "function": "count"}, {"name": "top", "function": "max", "field": "amount"}],
    }
    s = spec(validation={"jsonSchema": schema}, transform={"aggregate": aggregate})
    assert flink_sql(s, plan([(0, 0, 100)]), "ns", "per-minute") == (GOLDEN / "flink_sql_tumble.sql").read_text()


def test_a_replay_without_aggregate_has_no_flink_equivalent() -> None:
    with pytest.raises(ValueError, match="only windowed-aggregate replays"):
        flink_sql(spec(), plan([(0, 0, 10)]), "ns", "r")
