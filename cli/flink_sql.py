"""`eventreplay export flink-sql MANIFEST`: the Flink SQL job equivalent to a windowed-aggregate
replay's combine Job, for when a replay outgrows Jobs (state beyond one process).

Pure: the manifest and its plan in, SQL text out. A batch job (the source is bounded): it reads
exactly the planned offsets (`scan.startup/bounded.specific-offsets`, read_committed), applies the
replay's semantics step by step (`flink_sql_query.py`: first copy of an id, event time, per-partition
lateness, whole windows) and writes into the replay's results topic the records the combine Job
writes (key = result id, value = the result's JSON, header er-replay-uid), so reconciliation, the
report and the gate apply to Flink's output as they do to the combine Job's. Column types come from
`validation.jsonSchema` where it says them. What Flink still does differently is in the SQL's header.
"""

from __future__ import annotations

from eventreplay.operator.api.v1alpha1 import Aggregate, Aggregation, EventReplaySpec, Plan
from eventreplay.worker.contract.names import ReplayTopics, flink_group_id

from .flink_event_time import FORMATS
from .flink_sql_query import Views, aggregation_sql, quoted

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "boolean": "BOOLEAN"}


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _schema_type(spec: EventReplaySpec, field: str, default: str) -> str:
    props = (spec.validation.json_schema or {}).get("properties") or {}
    kind = (props.get(field) or {}).get("type")
    return SQL_TYPES.get(kind if isinstance(kind, str) else "", default)


def _offsets(plan: Plan, end: bool) -> str:
    return ";".join(
        f"partition:{p.partition},offset:{p.end_offset if end else p.start_offset}" for p in plan.partitions
    )


def _columns(spec: EventReplaySpec, agg: Aggregate) -> list[tuple[str, str]]:
    wanted: dict[str, str] = {spec.validation.event_id_field: "STRING"}
    time_type = _schema_type(spec, agg.event_time_field, "STRING")
    wanted.setdefault(agg.event_time_field, time_type if time_type in ("BIGINT", "DOUBLE") else "STRING")
    if agg.key_field:
        wanted.setdefault(agg.key_field, "STRING")
    for item in agg.aggregations:
        if item.field and item.field not in wanted:
            default = "STRING" if item.function == "distinctCount" else "DOUBLE"
            wanted[item.field] = _schema_type(spec, item.field, default)
    return list(wanted.items())


def _result_type(spec: EventReplaySpec, item: Aggregation) -> str:
    if item.function in ("count", "distinctCount"):
        return "BIGINT"
    return _schema_type(spec, item.field or "", "DOUBLE")


def flink_sql(spec: EventReplaySpec, plan: Plan, namespace: str, name: str) -> str:
    agg = spec.transform.aggregate
    if agg is None:
        raise ValueError("spec.transform.aggregate is not set: only windowed-aggregate replays have a Flink equivalent")
    if plan.replay_uid is None:
        raise ValueError("the plan names no replay uid: its results topic is unknown")
    columns = _columns(spec, agg)
    views = Views(agg, spec.validation.event_id_field, dict(columns)[agg.event_time_field])
    results = ReplayTopics.of(namespace, name, plan.replay_uid).results
    sink_columns = ["id STRING", "windowStart STRING", "windowEnd STRING", "`key` STRING"] + [
        f"{quoted(a.name)} {_result_type(spec, a)}" for a in agg.aggregations
    ]
    lines = [
        *_header(plan, namespace, name, results),
        "SET 'table.local-time-zone' = 'UTC';",
        "SET 'execution.runtime-mode' = 'batch';",
        "",
        "CREATE TABLE source_events (",
        *[f"  {quoted(column)} {kind}," for column, kind in columns],
        "  `partition` INT METADATA VIRTUAL,",
        "  `offset` BIGINT METADATA VIRTUAL",
        f") WITH (\n{_source_with(spec, plan, namespace, name)}\n);",
        "",
        "CREATE TABLE replay_results (",
        *[f"  {column}," for column in sink_columns],
        "  headers MAP<STRING, BYTES> METADATA",
        f") WITH (\n{_sink_with(spec, results)}\n);",
        "",
        *[f"{statement}\n" for statement in views.statements()],
        views.insert([aggregation_sql(a) for a in agg.aggregations], plan.replay_uid, plan),
    ]
    return "\n".join(lines) + "\n"


def _with(options: dict[str, str]) -> str:
    return ",\n".join(f"  {literal(k)} = {literal(v)}" for k, v in options.items())


def _header(plan: Plan, namespace: str, name: str, results: str) -> list[str]:
    """What the job is, and where it still differs from the replay."""
    return [
        f"-- EventReplay {namespace}/{name}: plan {plan.hash} "
        f"({plan.records} records of {plan.topic}, as of {plan.as_of})",
        f"-- as a Flink SQL batch job (Flink 2.x, flink-connector-kafka) writing the results into {results}.",
        "-- Event times read: " + "; ".join(FORMATS) + ".",
        "-- Same as the combine Job: first copy of an id in log order, lateness per partition in offset order",
        "-- (window end + allowed lateness <= the partition's largest earlier event time: left out), only",
        "-- windows overlapping the replay window, those a partition read to the log's head leaves open left out.",
        "-- Differences from the replay:",
        "--  * no validation beyond the event id (jsonSchema and model checks are the replay's; Flink's JSON",
        "--    format reads a value of another type as NULL or as text), and a JSON string of digits is an epoch-ms",
        "--    event time here (the worker leaves it out); ISO 8601 basic and week forms have no event time here;",
        "--  * a repeated id across partitions: the replay keeps the copy its workers met first (a race), this",
        "--    job the copy in the lowest partition; within a partition both keep the lowest offset;",
        "--  * a `number` field sums as DOUBLE (3.0, where the replay writes 3 when every value is an integer);",
        "--  * results go to Kafka's default partition of their key (the combine Job: crc32 of the key), and",
        "--    a retried job appends again (the combine Job writes once, in one transaction).",
    ]


def _source_with(spec: EventReplaySpec, plan: Plan, namespace: str, name: str) -> str:
    """The source table's connector options: exactly the plan's offsets, read committed."""
    return _with(
        {
            "connector": "kafka",
            "topic": plan.topic,
            "properties.bootstrap.servers": spec.source.bootstrap_servers,
            "properties.group.id": flink_group_id(namespace, name),
            "properties.isolation.level": "read_committed",
            "scan.startup.mode": "specific-offsets",
            "scan.startup.specific-offsets": _offsets(plan, end=False),
            "scan.bounded.mode": "specific-offsets",
            "scan.bounded.specific-offsets": _offsets(plan, end=True),
            **_source_format(spec),
        }
    )


def _source_format(spec: EventReplaySpec) -> dict[str, str]:
    """How Flink decodes the source's values: JSON, or Avro through the registry (`avro-confluent`)."""
    source = spec.source
    if source.format == "json":
        return {"format": "json", "json.ignore-parse-errors": "true"}
    if source.format != "avro" or source.schema_registry is None:
        raise ValueError(
            f"source.format {source.format} has no Flink format (Flink reads plain json and avro-confluent): "
            "run this replay's combine Job instead"
        )
    registry = source.schema_registry
    if registry.endpoint is not None:
        raise ValueError(f"source.schemaRegistry.endpoint {registry.endpoint} is a policy alias: name its url")
    return {"format": "avro-confluent", "avro-confluent.url": registry.url}


def _sink_with(spec: EventReplaySpec, results: str) -> str:
    """The results table's connector options: key = result id (raw), value = every column as JSON."""
    return _with(
        {
            "connector": "kafka",
            "topic": results,
            "properties.bootstrap.servers": spec.source.bootstrap_servers,
            "key.format": "raw",
            "key.fields": "id",
            "value.format": "json",
            "value.fields-include": "ALL",
        }
    )
