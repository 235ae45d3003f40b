"""`eventreplay export flink-sql`: the SQL is compared with reviewed golden files (tests/unit/golden/).
A change to the exporter that changes the SQL must change the golden file in the same commit, after
reading the diff: these files are what a platform team would run on Flink.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from operator_fixtures import plan, spec

from eventreplay.cli.flink_event_time import ISO, NUMBER, PARTS
from eventreplay.cli.flink_sql import flink_sql
from eventreplay.cli.manifest import from_documents
from eventreplay.operator.api.v1alpha1 import PlanTimes
from eventreplay.worker.runtime.canonical import epoch_ms

GOLDEN = Path(__file__).parent / "golden"
UID = "3f2a9c1e-0000-4000-8000-000000000001"


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
    planned = plan([(0, 10, 500), (1, 0, 480)]).model_copy(update={"replay_uid": UID})
    planned.partitions[1].at_head = True
    planned.requested_window = PlanTimes.model_validate({"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"})
    planned.read_range = PlanTimes.model_validate({"from": "2026-11-20T09:15:00Z", "to": "2026-11-20T11:46:00Z"})
    sql = flink_sql(s, planned, "payments", "orders-hourly")
    assert sql == (GOLDEN / "flink_sql_hop.sql").read_text()


def test_tumbling_windows_without_key_with_epoch_times() -> None:
    schema = {"type": "object", "properties": {"at": {"type": "integer"}, "amount": {"type": "integer"}}}
    aggregate = {
        "eventTimeField": "at",
        "windowSeconds": 60,
        "aggregations": [{"name": "n", "function": "count"}, {"name": "top", "function": "max", "field": "amount"}],
    }
    s = spec(validation={"jsonSchema": schema}, transform={"aggregate": aggregate})
    planned = plan([(0, 0, 100)]).model_copy(update={"replay_uid": UID})
    assert flink_sql(s, planned, "ns", "per-minute") == (GOLDEN / "flink_sql_tumble.sql").read_text()


def test_a_replay_without_aggregate_has_no_flink_equivalent() -> None:
    with pytest.raises(ValueError, match="only windowed-aggregate replays"):
        flink_sql(spec(), plan([(0, 0, 10)]), "ns", "r")


def test_a_plan_without_a_replay_uid_names_no_results_topic() -> None:
    aggregate = {"eventTimeField": "at", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}
    with pytest.raises(ValueError, match="no replay uid"):
        flink_sql(spec(transform={"aggregate": aggregate}), plan([(0, 0, 10)]), "ns", "r")


def _sql_epoch_ms(text: str) -> int | None:
    """What the exported SQL computes for a STRING event time (`flink_event_time.py`), step by step."""
    if re.match(NUMBER, text):
        return int(float(text))
    found = re.match(ISO, text)
    if found is None:
        return None
    part = dict(zip(PARTS, found.groups(), strict=True))
    local = datetime.fromisoformat(f"{part['t_date']} {part['t_hour']}:{part['t_minute']}:{part['t_second'] or '00'}")
    millis = int(((part["t_fraction"] or "") + "000")[:3])
    zone = int(part["t_zone_hour"] or 0) * 60 + int(part["t_zone_minute"] or 0)
    sign = -1 if part["t_sign"] == "-" else 1
    return int(local.replace(tzinfo=UTC).timestamp()) * 1000 + millis - sign * zone * 60000


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00.123Z",
        "2026-11-20T10:00:00.123456+02:00",
        "2026-11-20 10:00:00.5-03:30",
        "2026-11-20T10:00Z",
        "2026-11-20T10:00:00,250+0530",
        "2026-11-20T10:00:00.999999999-11",
        "2026-11-20T10:00:00",  # no zone: neither side has a time
        "yesterday",
    ],
)
def test_the_sqls_event_time_is_the_workers(text: str) -> None:
    worker = epoch_ms(text)
    assert _sql_epoch_ms(text) == (None if worker is None else int(worker))


def test_an_event_time_the_sql_reads_differently_is_the_one_its_header_names() -> None:
    assert epoch_ms("1800000000000") is None and _sql_epoch_ms("1800000000000") == 1_800_000_000_000


def test_an_applied_replays_manifest_exports_its_frozen_plan() -> None:
    frozen = plan([(0, 3, 9)]).model_copy(update={"replay_uid": UID})
    doc = {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "r", "namespace": "ns", "uid": UID},
        "spec": spec().model_dump(by_alias=True, exclude_none=True),
        "status": {"plan": frozen.model_dump(by_alias=True, exclude_none=True)},
    }
    assert from_documents("m.yaml", [doc]).frozen_plan == frozen
    assert from_documents("m.yaml", [{k: v for k, v in doc.items() if k != "status"}]).frozen_plan is None


REGISTRY = "http://registry:8080/apis/ccompat/v6"
PER_MINUTE = {"eventTimeField": "at", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}


def test_an_avro_source_is_read_through_the_registry_as_avro_confluent() -> None:
    source = {"bootstrapServers": "k:9092", "topic": "orders", "format": "avro", "schemaRegistry": {"url": REGISTRY}}
    planned = plan([(0, 0, 10)]).model_copy(update={"replay_uid": UID})
    sql = flink_sql(spec(source=source, transform={"aggregate": PER_MINUTE}), planned, "ns", "r")
    source_table = sql.split("CREATE TABLE replay_results")[0]
    assert "'format' = 'avro-confluent'" in source_table and f"'avro-confluent.url' = '{REGISTRY}'" in source_table
    assert "json.ignore-parse-errors" not in source_table
    assert "'value.format' = 'json'" in sql, "the results stay JSON, as the combine Job writes them"


@pytest.mark.parametrize(
    ("registry", "message"),
    [({"url": REGISTRY}, "jsonSchema has no Flink format"), ({"endpoint": "sr"}, "endpoint sr is a policy alias")],
)
def test_a_source_flink_cannot_read_is_refused(registry: dict[str, str], message: str) -> None:
    fmt = "jsonSchema" if "url" in registry else "avro"
    source = {"bootstrapServers": "k:9092", "topic": "orders", "format": fmt, "schemaRegistry": registry}
    planned = plan([(0, 0, 10)]).model_copy(update={"replay_uid": UID})
    with pytest.raises(ValueError, match=message):
        flink_sql(spec(source=source, transform={"aggregate": PER_MINUTE}), planned, "ns", "r")
