"""A realistic order-event stream with a known truth, for tests, benchmarks and the demo.

Each generated record says what it is (`kind`), so the expected outcome of a replay is known by
construction: ok -> emitted; dup -> an earlier ok event repeated byte for byte; conflict -> an
earlier ok event's id with other content; malformed / schema / missing_id / tombstone -> dead
letters. Values are ~300-byte JSON objects. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

ORDER_SCHEMA = {
    "type": "object",
    "required": ["event_id", "order_id", "amount", "currency", "occurred_at"],
    "properties": {
        "event_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
        "items": {"type": "array"},
    },
}


def avro_record(name: str, fields: list[dict[str, Any]], namespace: str | None = None) -> dict[str, Any]:
    """An Avro record schema (without a namespace: a nested record's is its parent's)."""
    space = {"namespace": namespace} if namespace is not None else {}
    return {"type": "record", "name": name, **space, "fields": fields}


def _avro_fields(types: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "type": kind} for name, kind in types.items()]


ITEM_AVRO = avro_record("Item", _avro_fields({"sku": "string", "qty": "int", "price": "double"}))
ORDER_AVRO = avro_record(
    "Order",
    _avro_fields(
        {
            "event_id": "string",
            "order_id": "string",
            "customer_id": "string",
            "amount": "double",
            "currency": "string",
            "status": "string",
            "channel": "string",
            "items": {"type": "array", "items": ITEM_AVRO},
            "occurred_at": "string",
        }
    ),
    "eventreplay.bench",
)
"""The generated order (`_order`) as an Avro record (what bench/bench_formats.py writes Avro with)."""
KINDS = ("ok", "dup", "conflict", "malformed", "schema", "missing_id", "tombstone")
DEAD_REASON = {
    "conflict": "conflict",
    "malformed": "malformed_json",
    "schema": "schema",
    "missing_id": "missing_id",
    "tombstone": "tombstone",
}


@dataclass(frozen=True, slots=True)
class Record:
    key: bytes | None
    value: bytes | None
    kind: str
    event_id: str | None


@dataclass(frozen=True)
class Mix:
    dup: float = 0.03
    conflict: float = 0.005
    malformed: float = 0.004
    schema: float = 0.006
    missing_id: float = 0.003
    tombstone: float = 0.002


CLEAN = Mix(0, 0, 0, 0, 0, 0)
# Every kind within a few thousand records: for tests that check each outcome.
MESSY = Mix(dup=0.05, conflict=0.01, malformed=0.01, schema=0.01, missing_id=0.01, tombstone=0.01)


def _order(rng: random.Random, event_id: str, when: datetime) -> dict[str, object]:
    lines = [
        (f"SKU-{rng.randrange(10_000):05d}", rng.randrange(1, 4), round(rng.uniform(2, 120), 2))
        for _ in range(rng.randrange(1, 3))
    ]
    items = [{"sku": sku, "qty": qty, "price": price} for sku, qty, price in lines]
    return {
        "event_id": event_id,
        "order_id": f"ORD-{rng.randrange(10**9):09d}",
        "customer_id": f"CUST-{rng.randrange(10**6):06d}",
        "amount": round(sum(price * qty for _, qty, price in lines), 2),
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "status": rng.choice(["created", "paid", "shipped"]),
        "channel": rng.choice(["web", "ios", "android", "store"]),
        "items": items,
        "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def generate(
    count: int, seed: int = 7, mix: Mix = Mix(), start: datetime | None = None, step_ms: int = 10
) -> Iterator[Record]:
    rng = random.Random(seed)
    when = start or datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    seen: list[tuple[str, bytes]] = []
    thresholds = []
    acc = 0.0
    for kind in KINDS[1:]:
        acc += getattr(mix, kind)
        thresholds.append((acc, kind))
    for _ in range(count):
        when += timedelta(milliseconds=step_ms)
        roll = rng.random()
        kind = next((k for limit, k in thresholds if roll < limit), "ok")
        if kind in ("dup", "conflict") and not seen:
            kind = "ok"
        if kind == "ok":
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            value = orjson.dumps(_order(rng, event_id, when))
            seen.append((event_id, value))
            if len(seen) > 5000:
                seen.pop(0)
            yield Record(event_id.encode(), value, kind, event_id)
        elif kind == "dup":
            event_id, value = rng.choice(seen)
            yield Record(event_id.encode(), value, kind, event_id)
        elif kind == "conflict":
            event_id, _ = rng.choice(seen)
            yield Record(event_id.encode(), orjson.dumps(_order(rng, event_id, when)), kind, event_id)
        elif kind == "malformed":
            yield Record(None, b'{"event_id": "' + uuid.uuid4().hex.encode()[:8] + b'", "amount": ', kind, None)
        elif kind == "schema":
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            bad = _order(rng, event_id, when)
            bad["amount"] = -abs(float(bad["amount"])) - 1  # type: ignore[arg-type]
            yield Record(event_id.encode(), orjson.dumps(bad), kind, event_id)
        elif kind == "missing_id":
            bad = _order(rng, "x", when)
            del bad["event_id"]
            yield Record(None, orjson.dumps(bad), kind, None)
        else:
            event_id, _ = rng.choice(seen)
            yield Record(event_id.encode(), None, kind, event_id)
