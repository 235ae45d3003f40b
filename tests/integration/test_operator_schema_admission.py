"""Inline schemas at admission, on the real API server and operator: a `$ref` outside the schema and a
schema above 64 KiB stall the replay as InvalidSpec with the reason, before any plan or Job.

Before: a `$ref` made every worker GET the URL (no timeout), and a 300 KB schema was copied into
every Job and pod (an env value over 128 KiB: pods that never started, etcd filled per retry).
CEL cannot measure an object of preserved unknown fields, so the API server admits both; the
operator's model refuses them.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.listener import Listener
from support.operator_driver import OperatorDriver
from support.orders_replay import spec

pytestmark = pytest.mark.stack


def _stalled_invalid(driver: OperatorDriver, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create the replay, wait for Stalled, and check nothing was planned or run."""
    with driver.running():
        driver.create(name, body)
        got = driver.wait_for(
            lambda: driver.condition(r := driver.get(name), "Stalled").get("status") == "True" and r,
            60,
            "stalled as InvalidSpec",
            interval=1,
        )
    cond = driver.condition(got, "Stalled")
    assert cond["reason"] == "InvalidSpec", cond
    assert "plan" not in (got.get("status") or {})
    assert driver.jobs(got) == []
    return cond


def test_a_schema_ref_outside_the_schema_stalls_and_reaches_nothing(
    driver: OperatorDriver, unique: str, listener: Listener
) -> None:
    url = f"http://{listener.address}/schema.json"
    schema = {"type": "object", "properties": {"event_id": {"$ref": url}}}
    body = spec(f"orders-{unique}", unique, validation={"eventIdField": "event_id", "jsonSchema": schema})
    cond = _stalled_invalid(driver, "remote-ref", body)
    assert f"$ref {url!r} at /properties/event_id/$ref points outside the schema" in cond["message"], cond
    assert (listener.connections, listener.received) == (0, b"")


def test_a_300_kb_schema_stalls_before_any_job(driver: OperatorDriver, unique: str) -> None:
    schema = {"type": "object", "description": "x" * 300_000}
    body = spec(f"orders-{unique}", unique, validation={"eventIdField": "event_id", "jsonSchema": schema})
    cond = _stalled_invalid(driver, "huge-schema", body)
    assert "above the 65536-byte bound" in cond["message"], cond
