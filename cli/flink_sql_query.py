"""The query of the exported Flink job: the combine Job's window semantics (`worker/windows/aggregator.py`)
as batch SQL over the planned offsets.

Each step is a view, in the order the replay applies it: the first copy of each event id in log order
(the ledger keeps the first copy; `ROW_NUMBER` by partition then offset), the event time in epoch ms
(`flink_event_time.py`), the partition's watermark before each event (the largest event time read
before it in that partition, offset order: a batch OVER window, so lateness is the worker's rule
exactly), every window holding the event that the watermark has not closed
(`start + size + lateness > watermark`), then one result per (window, key) of the windows overlapping
the replay window (whole windows, `worker/contract/whole_windows.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from eventreplay.operator.api.v1alpha1 import Aggregate, Aggregation, Plan, parse_time
from eventreplay.worker.contract.headers import REPLAY_UID_HEADER
from eventreplay.worker.contract.whole_windows import WindowShape

from .flink_event_time import epoch_ms_sql, parts_sql

ISO_FORMAT = "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''"
FUNCTIONS = {
    "count": "COUNT(*)",
    "sum": "COALESCE(SUM({}), 0)",
    "min": "MIN({})",
    "max": "MAX({})",
    "distinctCount": "COUNT(DISTINCT {})",
}


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def iso_sql(ms: str) -> str:
    """RFC 3339 UTC text of an epoch-ms expression, as the worker writes window bounds."""
    return f"DATE_FORMAT(TO_TIMESTAMP_LTZ({ms}, 3), {ISO_FORMAT})"


@dataclass(frozen=True)
class Views:
    agg: Aggregate
    id_column: str
    time_type: str

    @property
    def shape(self) -> WindowShape:
        return WindowShape.of(self.agg)

    def statements(self) -> list[str]:
        return [self._first_copies(), self._timed(), self._watermarked(), self._assigned()]

    def _first_copies(self) -> str:
        ident = quoted(self.id_column)
        return (
            "-- The ledger keeps the first copy of an id: the first in the log (partition, then offset).\n"
            "CREATE TEMPORARY VIEW first_copies AS\nSELECT * FROM (\n"
            f"  SELECT *, ROW_NUMBER() OVER (PARTITION BY {ident} ORDER BY `partition`, `offset`) AS copy_number\n"
            f"  FROM source_events WHERE {ident} <> ''\n) WHERE copy_number = 1;"
        )

    def _timed(self) -> str:
        column = quoted(self.agg.event_time_field)
        source = "first_copies"
        if self.time_type == "STRING":
            parts = ",\n    ".join(parts_sql(column))
            source = f"(\n  SELECT *,\n    {parts}\n  FROM first_copies\n)"
        return (
            "CREATE TEMPORARY VIEW timed AS\n"
            f"SELECT *, {epoch_ms_sql(column, self.time_type)} AS event_ms\n"
            f"FROM {source};"
        )

    def _watermarked(self) -> str:
        keyed = f" AND {quoted(self.agg.key_field)} IS NOT NULL" if self.agg.key_field else ""
        return (
            "-- Each partition's watermark before an event: the largest event time before it in offset order.\n"
            "CREATE TEMPORARY VIEW watermarked AS\n"
            "SELECT *, MAX(event_ms) OVER (PARTITION BY `partition` ORDER BY `offset`\n"
            "  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_ms\n"
            f"FROM timed WHERE event_ms IS NOT NULL{keyed};"
        )

    def _assigned(self) -> str:
        shape = self.shape
        steps = ", ".join(f"({k})" for k in range(shape.size_ms // shape.slide_ms))
        start = f"last_start - CAST(k AS BIGINT) * {shape.slide_ms}"
        return (
            "-- Every window holding the event (starts at multiples of the slide) that its watermark has not closed.\n"
            "CREATE TEMPORARY VIEW assigned AS\n"
            f"SELECT *, {start} AS window_start FROM (\n"
            f"  SELECT *, event_ms - MOD(MOD(event_ms, {shape.slide_ms}) + {shape.slide_ms}, {shape.slide_ms})"
            " AS last_start\n  FROM watermarked\n"
            f") CROSS JOIN (VALUES {steps}) AS steps(k)\n"
            f"WHERE watermark_ms IS NULL OR {start} + {shape.size_ms + shape.lateness_ms} > watermark_ms;"
        )

    def insert(self, aggregations: list[str], uid: str, plan: Plan) -> str:
        key = quoted(self.agg.key_field) if self.agg.key_field else "''"
        start_iso = iso_sql("window_start")
        group = "window_start" + (f", {key}" if self.agg.key_field else "")
        filters = whole_windows(self.shape, plan)
        return "\n".join(
            [
                "INSERT INTO replay_results",
                "SELECT",
                f"  CONCAT({start_iso}, '|', {key}) AS id,",
                f"  {start_iso} AS windowStart,",
                f"  {iso_sql(f'window_start + {self.shape.size_ms}')} AS windowEnd,",
                f"  {key} AS `key`,",
                *[f"  {item}," for item in aggregations],
                f"  MAP['{REPLAY_UID_HEADER}', CAST('{uid}' AS BYTES)] AS headers",
                "FROM assigned",
                f"GROUP BY {group}" + (f"\nHAVING {' AND '.join(filters)}" if filters else "") + ";",
            ]
        )


def aggregation_sql(item: Aggregation) -> str:
    return f"{FUNCTIONS[item.function].format(quoted(item.field or ''))} AS {quoted(item.name)}"


def whole_windows(shape: WindowShape, plan: Plan) -> list[str]:
    """HAVING conditions: only windows overlapping the replay window, and none a partition read to the
    log's head has not closed (the combine Job reports those as incomplete; here they are left out)."""
    window = plan.requested_window
    if window is None or plan.read_range is None:
        return []
    from_ms = int(parse_time(window.from_).timestamp() * 1000)
    to_ms = int(parse_time(window.to).timestamp() * 1000)
    out = [f"window_start < {to_ms}", f"window_start + {shape.size_ms} > {from_ms}"]
    heads = ", ".join(str(p.partition) for p in plan.partitions if p.at_head)
    if heads:
        marks = f"SELECT MAX(event_ms) AS mark FROM watermarked WHERE `partition` IN ({heads}) GROUP BY `partition`"
        out.append(
            f"window_start + {shape.size_ms + shape.lateness_ms} <= "
            f"(SELECT COALESCE(MIN(mark), 9223372036854775807) FROM ({marks}))"
        )
    return out
