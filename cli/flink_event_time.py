"""Event time in Flink SQL: the epoch-millisecond expression for an event-time column, accepting
what the worker accepts (`worker/runtime/canonical.py` `epoch_ms`).

The worker takes a JSON number as epoch milliseconds (a fraction is cut: `int()`), and a string as
ISO 8601 with a zone (`datetime.fromisoformat`, `Z` for UTC); anything else has no event time and
is left out. Flink's JSON format gives a STRING column a number's text, so a STRING column is tried
as a number first, then as `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]](Z|+HH[[:]MM]|-HH[[:]MM])` (a
fraction's digits past milliseconds are cut, like the worker's `int()`). Differences, stated in the
SQL: a JSON string of digits counts as epoch ms (the worker leaves it out: a string must be a date),
and the ISO basic/week forms Python also reads (`20260101T100000Z`, `2026-W01-1`) have no event time.
"""

from __future__ import annotations

NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
ISO = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(:([0-9]{2})([.,]([0-9]+))?)?"
    r"(Z|([-+])([0-9]{2})(:?([0-9]{2}))?)$"
)
FORMATS = (
    "JSON number: epoch milliseconds (a fraction is cut)",
    "ISO 8601 string with a zone: YYYY-MM-DD[T ]HH:MM[:SS[.fraction]] then Z, +HH, +HHMM or +HH:MM",
)


PARTS = (
    "t_date",
    "t_hour",
    "t_minute",
    "",
    "t_second",
    "",
    "t_fraction",
    "",
    "t_sign",
    "t_zone_hour",
    "",
    "t_zone_minute",
)
"""The ISO pattern's groups, by number (blank: a group that only nests others)."""


def parts_sql(column: str) -> list[str]:
    """The select items naming the ISO parts of a STRING event-time column (NULL where it is no such date)."""
    return [f"REGEXP_EXTRACT({column}, '{ISO}', {n}) AS {part}" for n, part in enumerate(PARTS, 1) if part]


def _iso_ms() -> str:
    """Epoch ms from the ISO parts; the session time zone is UTC, so the local time reads as UTC."""
    local = (
        "UNIX_TIMESTAMP(CONCAT(t_date, ' ', t_hour, ':', t_minute, ':', COALESCE(t_second, '00')), "
        "'yyyy-MM-dd HH:mm:ss') * 1000"
    )
    millis = "CAST(RPAD(COALESCE(t_fraction, ''), 3, '0') AS BIGINT)"
    zone = "(CAST(COALESCE(t_zone_hour, '0') AS BIGINT) * 60 + CAST(COALESCE(t_zone_minute, '0') AS BIGINT))"
    return f"{local} + {millis} - (CASE WHEN t_sign = '-' THEN -1 ELSE 1 END) * {zone} * 60000"


def epoch_ms_sql(column: str, sql_type: str) -> str:
    """A BIGINT expression: the column's event time in epoch ms, NULL when it has none (a STRING
    column reads its ISO parts from `parts_sql`)."""
    if sql_type in ("BIGINT", "DOUBLE"):
        return f"CAST({column} AS BIGINT)"
    return (
        f"CASE WHEN REGEXP({column}, '{NUMBER}') THEN CAST(CAST({column} AS DOUBLE) AS BIGINT)\n"
        f"    WHEN t_date IS NOT NULL THEN {_iso_ms()}\n"
        "    END"
    )
