"""The window aggregations over orders that both the operator's run and the exported Flink job compute,
their results as the combine Job writes them, and the results production already holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from datagen.orders import Record
from support.kafka_tools import produce

Result = dict[str, Any]


def iso_ms(ms: int) -> str:
    """An epoch-ms time as the combine Job writes window times: RFC 3339, UTC, milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_result(start: int, size: int, key: str, **aggregated: Any) -> Result:
    """One window's result as the combine Job writes it: its id `<windowStart>|<key>`, its times and values."""
    window_start = iso_ms(start)
    return {
        "id": f"{window_start}|{key}",
        "windowStart": window_start,
        "windowEnd": iso_ms(start + size),
        "key": key,
        **aggregated,
    }


def amount_aggregations() -> list[dict[str, Any]]:
    """Per window and shop: the order count, and the sum, smallest and largest `amount` (a fresh list)."""
    return [
        {"name": "orders", "function": "count"},
        {"name": "revenue", "function": "sum", "field": "amount"},
        {"name": "smallest", "function": "min", "field": "amount"},
        {"name": "largest", "function": "max", "field": "amount"},
    ]


def by_shop(window_seconds: int, slide_seconds: int, aggregations: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """`spec.transform.aggregate` over hopping windows of the orders' `ts`, one result per `shop`;
    `more` adds fields (allowedLatenessSeconds)."""
    return {
        "eventTimeField": "ts",
        "keyField": "shop",
        "windowSeconds": window_seconds,
        "slideSeconds": slide_seconds,
        "aggregations": aggregations,
        **more,
    }


def write_flawed_results(
    bootstrap: str,
    sink: str,
    truth: dict[str, Result],
    *,
    missing: set[str],
    wrong: set[str],
    corrupt: Callable[[Result], Result],
) -> int:
    """Production's results as a flawed streaming job left them in `sink`: every result of `truth` in
    id order (keys sorted), but `missing` left out and each of `wrong` as `corrupt` makes it. How many were written."""
    held = {rid: corrupt(r) if rid in wrong else r for rid, r in sorted(truth.items()) if rid not in missing}
    sorted_keys = orjson.OPT_SORT_KEYS
    records = (Record(rid.encode(), orjson.dumps(r, option=sorted_keys), "valid", rid) for rid, r in held.items())
    return produce(bootstrap, sink, records)
