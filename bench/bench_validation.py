"""Per-event cost of parsing and validating an order event with each candidate library."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import fastjsonschema
import jsonschema
import msgspec
import orjson
import pydantic

# The order generator is dev-only (dev/datagen, not in the installed package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))

from datagen.orders import CLEAN, ORDER_SCHEMA, generate


class Item(msgspec.Struct):
    sku: str
    qty: int
    price: float


class OrderStruct(msgspec.Struct):
    event_id: str
    order_id: str
    amount: Annotated[float, msgspec.Meta(ge=0)]
    currency: Literal["EUR", "USD", "GBP"]
    occurred_at: str
    items: list[Item] = []


class OrderModel(pydantic.BaseModel):
    event_id: str
    order_id: str
    amount: float = pydantic.Field(ge=0)
    currency: Literal["EUR", "USD", "GBP"]
    occurred_at: str
    items: list[dict[str, Any]] = []


def measure(name: str, fn: Callable[[bytes], object], values: list[bytes]) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for value in values:
            fn(value)
        best = min(best, time.perf_counter() - began)
    per = best / len(values) * 1e6
    print(f"{name:<44} {per:7.2f} µs/event")
    return per


def main() -> None:
    values = [r.value for r in generate(50_000, mix=CLEAN) if r.value]
    fast = fastjsonschema.compile(ORDER_SCHEMA)
    reference = jsonschema.Draft7Validator(ORDER_SCHEMA)
    struct_decoder = msgspec.json.Decoder(OrderStruct)
    print(f"{len(values)} events, mean {sum(map(len, values)) / len(values):.0f} bytes")
    measure("json.loads", json.loads, values)
    measure("orjson.loads", orjson.loads, values)
    measure("msgspec.json.decode (untyped)", msgspec.json.decode, values)
    measure("orjson.loads + fastjsonschema", lambda v: fast(orjson.loads(v)), values)
    measure("orjson.loads + jsonschema", lambda v: reference.is_valid(orjson.loads(v)), values)
    measure("msgspec decode into a Struct (typed)", struct_decoder.decode, values)
    measure("pydantic model_validate_json", OrderModel.model_validate_json, values)
    measure("orjson.loads + pydantic model_validate", lambda v: OrderModel.model_validate(orjson.loads(v)), values)


if __name__ == "__main__":
    main()
