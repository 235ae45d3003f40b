"""`eventreplay export flink-sql MANIFEST`: the Flink SQL job equivalent to a windowed-aggregate
replay, for when a replay outgrows Jobs (unbounded input, state beyond one process).

Pure: the manifest and its plan in, SQL text out. The source reads exactly the planned offsets
(`scan.startup/bounded.specific-offsets`, read_committed), event time comes from the same field
with a watermark of zero out-of-orderness, windows are Flink's TUMBLE/HOP table functions with
the same size and slide, and results go to an upsert-kafka table keyed like the replay's results
(`<windowStart>|<key>`). Column types come from `validation.jsonSchema` where it says them.
What Flink does differently is written into the SQL as comments: it does not de-duplicate by id
(add a deduplication query if the source repeats ids), its lateness is judged on a watermark
shared by all partitions of a source subtask, and late rows are dropped rather than counted.
"""

from __future__ import annotations

from eventreplay.operator.api.v1alpha1 import Aggregate, Aggregation, EventReplaySpec, Plan
from eventreplay.worker.contract.names import flink_group_id

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "boolean": "BOOLEAN"}
FUNCTIONS = {
    "count": "COUNT(*)",
    "sum": "SUM({})",
    "min": "MIN({})",
    "max": "MAX({})",
    "distinctCount": "COUNT(DISTINCT {})",
}
# RFC 3339 event times in UTC with milliseconds (the session runs in UTC); others need their own pattern.
TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


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
    wanted: dict[str, str] = {}
    time_type = _schema_type(spec, agg.event_time_field, "STRING")
    wanted[agg.event_time_field] = "BIGINT" if time_type in ("BIGINT", "DOUBLE") else "STRING"
    if agg.key_field:
        wanted[agg.key_field] = "STRING"
    for item in agg.aggregations:
        if item.field and item.field not in wanted:
            default = "STRING" if item.function == "distinctCount" else "DOUBLE"
            wanted[item.field] = _schema_type(spec, item.field, default)
    return list(wanted.items())


def flink_sql(spec: EventReplaySpec, plan: Plan, namespace: str, name: str) -> str:
    agg = spec.transform.aggregate
    if agg is None:
        raise ValueError("spec.transform.aggregate is not set: only windowed-aggregate replays have a Flink equivalent")
    columns = _columns(spec, agg)
    time_col = quoted(agg.event_time_field)
    epoch = dict(columns)[agg.event_time_field] == "BIGINT"
    event_time = f"TO_TIMESTAMP_LTZ({time_col}, 3)" if epoch else f"TO_TIMESTAMP({time_col}, {literal(TIME_FORMAT)})"
    key = f"CAST({quoted(agg.key_field)} AS STRING)" if agg.key_field else "''"
    size, slide = agg.window_seconds, agg.slide_seconds or agg.window_seconds
    window = (
        f"TUMBLE(TABLE source_events, DESCRIPTOR(event_time), INTERVAL '{size}' SECOND)"
        if slide == size
        else f"HOP(TABLE source_events, DESCRIPTOR(event_time), INTERVAL '{slide}' SECOND, INTERVAL '{size}' SECOND)"
    )
    fmt = literal(TIME_FORMAT)
    selects = [
        f"CONCAT(DATE_FORMAT(window_start, {fmt}), '|', {key}) AS id",
        f"DATE_FORMAT(window_start, {fmt}) AS windowStart",
        f"DATE_FORMAT(window_end, {fmt}) AS windowEnd",
        f"{key} AS {quoted('key')}",
    ] + [f"{FUNCTIONS[a.function].format(quoted(a.field or ''))} AS {quoted(a.name)}" for a in agg.aggregations]
    sink_columns = ["id STRING", "windowStart STRING", "windowEnd STRING", "`key` STRING"] + [
        f"{quoted(a.name)} {_result_type(spec, a)}" for a in agg.aggregations
    ]
    group = "window_start, window_end" + (f", {quoted(agg.key_field)}" if agg.key_field else "")
    source_with, sink_with = _source_with(spec, plan, namespace, name), _sink_with(spec)
    lines = [
        *_header(plan, namespace, name, agg.allowed_lateness_seconds),
        "SET 'table.local-time-zone' = 'UTC';",
        "",
        "CREATE TABLE source_events (",
        *[f"  {quoted(column)} {kind}," for column, kind in columns],
        f"  event_time AS {event_time},",
        "  WATERMARK FOR event_time AS event_time",
        f") WITH (\n{source_with}\n);",
        "",
        "CREATE TABLE window_results (",
        *[f"  {column}," for column in sink_columns],
        "  PRIMARY KEY (id) NOT ENFORCED",
        f") WITH (\n{sink_with}\n);",
        "",
        "INSERT INTO window_results",
        "SELECT",
        ",\n".join(f"  {item}" for item in selects),
        f"FROM TABLE({window})",
        f"GROUP BY {group};",
    ]
    return "\n".join(lines) + "\n"


def _result_type(spec: EventReplaySpec, item: Aggregation) -> str:
    if item.function in ("count", "distinctCount"):
        return "BIGINT"
    return _schema_type(spec, item.field or "", "DOUBLE")


def _with(options: dict[str, str]) -> str:
    return ",\n".join(f"  {literal(k)} = {literal(v)}" for k, v in options.items())


def _header(plan: Plan, namespace: str, name: str, lateness: int) -> list[str]:
    """What the job is, and where it differs from the replay."""
    return [
        f"-- EventReplay {namespace}/{name}: plan {plan.hash} "
        f"({plan.records} records of {plan.topic}, as of {plan.as_of})",
        "-- as a Flink SQL job (Flink 2.x, flink-connector-kafka). Differences from the replay:",
        "--  * no de-duplication by event id: add a deduplication query if the source repeats ids;",
        "--  * the watermark is shared by the partitions a source subtask reads (the replay judges each",
        "--    partition on its own), and late rows are dropped rather than counted;",
        f"--  * allowed lateness ({lateness} s) needs table.exec.emit.allow-lateness",
        "--    and early/late firing options in Flink; results are written by upsert, not reconciled.",
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
            "format": "json",
            "json.ignore-parse-errors": "true",
        }
    )


def _sink_with(spec: EventReplaySpec) -> str:
    """The results table's connector options: upserts into the sink by result id."""
    return _with(
        {
            "connector": "upsert-kafka",
            "topic": spec.sink.topic,
            "properties.bootstrap.servers": spec.source.bootstrap_servers,
            "key.format": "raw",
            "value.format": "json",
        }
    )
