"""The window aggregations over orders that both the operator's run and the exported Flink job compute."""

from __future__ import annotations

from typing import Any


def amount_aggregations() -> list[dict[str, Any]]:
    """Per window and shop: the order count, and the sum, smallest and largest `amount` (a fresh list)."""
    return [
        {"name": "orders", "function": "count"},
        {"name": "revenue", "function": "sum", "field": "amount"},
        {"name": "smallest", "function": "min", "field": "amount"},
        {"name": "largest", "function": "max", "field": "amount"},
    ]
