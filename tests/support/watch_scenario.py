"""The gap watch's scenario on the real stack, shared by the watch's integration modules: a source
of RECORDS events of which the sink lacks the window LOST, the watch over them, and the probes of
what the watch did (its scans, its drafts, its GapFound Events, its missing-events metric)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from datagen.orders import Record
from devstack import config
from support.kafka_tools import create_topic, produce
from support.operator_driver import OperatorDriver
from support.prom_rules import scrape, series_name

RECORDS = 60
LOST = range(20, 30)
"""Offsets (= seconds after the base time) the consumer never wrote to the sink."""
DROPPED = {f"o-{i:03d}" for i in LOST}
WATCH = "orders"
"""The watch's name (its drafts carry it in the `eventreplay.io/watch` label)."""


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def seed(admin: Any, bootstrap: str, source: str, sink: str, base: int) -> None:
    """RECORDS events one second apart from `base` in the source, all but LOST in the sink."""
    create_topic(admin, source, 1)
    create_topic(admin, sink, 1)
    records = []
    for i in range(RECORDS):
        event_id = f"o-{i:03d}"
        records.append(Record(event_id.encode(), orjson.dumps({"event_id": event_id}), "valid", event_id))
    produce(bootstrap, source, records, partition=0, timestamp_ms=[base + i * 1000 for i in range(RECORDS)])
    kept = [i for i in range(RECORDS) if i not in LOST]
    produce(bootstrap, sink, [records[i] for i in kept], partition=0, timestamp_ms=[base + i * 1000 for i in kept])


def watch_manifest(ns: str, source: str, sink: str, unique: str, *, dry_run: bool = True) -> dict[str, Any]:
    """The watch over source and sink; its drafts dry runs, or (`dry_run=False`) Manual-gate replays."""
    template: dict[str, Any] = {"dedup": {"ledger": f"gaps-{unique}"}, **({"dryRun": True} if dry_run else {})}
    spec = {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": source},
        "sink": {"topic": sink},
        "redis": {"url": config.redis_url()},
        "lookbackSeconds": 1800,
        "settleSeconds": 0,
        "joinSeconds": 5,
        "schedule": {"intervalSeconds": 60},
        "draft": {
            "enabled": True,
            "marginSeconds": 5,
            "template": template,
        },
    }
    meta = {"name": WATCH, "namespace": ns}
    return {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplayWatch", "metadata": meta, "spec": spec}


def replays_path(driver: OperatorDriver) -> str:
    return f"/apis/eventreplay.io/v1alpha1/namespaces/{driver.namespace}/eventreplays"


def drafts(driver: OperatorDriver) -> list[dict[str, Any]]:
    """The EventReplays the watch drafted."""
    query = {"labelSelector": f"eventreplay.io/watch={WATCH}"}
    return list(driver.k.call("GET", replays_path(driver), query=query).get("items") or [])


def gap_events(driver: OperatorDriver, watch: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in driver.events(watch) if e["reason"] == "GapFound"]


def scanned(driver: OperatorDriver, path: str, number: int) -> dict[str, Any]:
    """The watch once its scan `number` (or a later one) has finished; a failed scan fails the test."""

    def done() -> dict[str, Any] | None:
        got = driver.k.call("GET", path)
        last = (got.get("status") or {}).get("lastScan") or {}
        return got if last.get("number", 0) >= number or last.get("result") == "Failed" else None

    got = driver.wait_for(done, 120, f"scan {number} of the watch")
    last = got["status"]["lastScan"]
    assert last["result"] != "Failed", last
    return got


def metric_is(driver: OperatorDriver, port: int, value: float) -> None:
    """The watch's missing-events gauge on the operator's metrics endpoint reaches `value`."""
    missing = series_name("eventreplay_watch_missing_events", {"namespace": driver.namespace, "watch": WATCH})
    driver.wait_for(
        lambda: any(series_name(n, labels) == missing and v == value for n, labels, v in scrape(port)),
        30,
        f"the metric at {value}",
    )
