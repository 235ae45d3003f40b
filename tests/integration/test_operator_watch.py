"""The gap watch on the real stack, the operator run in-process as a subprocess and its scan Jobs
run by the node harness: a consumer dropped a window of events; the watch finds the gap within one
period (status, metric, one Warning Event), drafts one EventReplay for it with the gap's window, and
neither a second scan nor an operator restart between scan and draft drafts it again."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from devstack import config
from eventreplay.operator import crdgen
from eventreplay.operator.kube import MERGE, Kube, KubeError
from support.kafka_tools import create_topic, produce
from support.operator_driver import OperatorDriver, install_crd
from support.operator_process import free_port
from support.prom_rules import scrape, series_name

pytestmark = pytest.mark.stack

RECORDS = 60
LOST = range(20, 30)
"""Offsets (= seconds after the base time) the consumer never wrote to the sink."""
WORKER = f"{sys.executable} -P -m eventreplay.worker run"
"""This checkout's worker (`-P`: the harness's working directory is not put first on sys.path)."""


@pytest.fixture
def watches(k: Kube, driver: OperatorDriver) -> Iterator[str]:
    """The watches' path in the test's namespace, with their CRD installed; emptied afterwards."""
    install_crd(k, crdgen.WATCH)
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{driver.namespace}/eventreplaywatches"
    yield path
    for item in k.call("GET", path).get("items") or []:
        name = item["metadata"]["name"]
        k.call("PATCH", f"{path}/{name}", {"metadata": {"finalizers": None}}, content_type=MERGE)
        try:
            k.call("DELETE", f"{path}/{name}")
        except KubeError as err:
            if err.status != 404:
                raise


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _seed(admin: Any, bootstrap: str, source: str, sink: str, base: int) -> None:
    create_topic(admin, source, 1)
    create_topic(admin, sink, 1)
    records = []
    for i in range(RECORDS):
        event_id = f"o-{i:03d}"
        records.append(Record(event_id.encode(), orjson.dumps({"event_id": event_id}), "valid", event_id))
    produce(bootstrap, source, records, partition=0, timestamp_ms=[base + i * 1000 for i in range(RECORDS)])
    kept = [i for i in range(RECORDS) if i not in LOST]
    produce(bootstrap, sink, [records[i] for i in kept], partition=0, timestamp_ms=[base + i * 1000 for i in kept])


def _watch(name: str, ns: str, source: str, sink: str, unique: str) -> dict[str, Any]:
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
            "template": {"dedup": {"ledger": f"gaps-{unique}"}, "dryRun": True},
        },
    }
    meta = {"name": name, "namespace": ns}
    return {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplayWatch", "metadata": meta, "spec": spec}


def _drafts(driver: OperatorDriver) -> list[dict[str, Any]]:
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{driver.namespace}/eventreplays"
    items = driver.k.call("GET", path, query={"labelSelector": "eventreplay.io/watch=orders"}).get("items") or []
    return list(items)


def _gap_events(driver: OperatorDriver, watch: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in driver.events(watch) if e["reason"] == "GapFound"]


def test_the_watch_finds_a_dropped_window_once_and_drafts_it_once(
    driver: OperatorDriver, watches: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    source, sink = f"watch-src-{unique}", f"watch-dst-{unique}"
    base = (int(time.time()) - 900) * 1000
    _seed(kafka_admin, kafka_bootstrap, source, sink, base)
    port = free_port()
    env = {"EVENTREPLAY_WORKER_COMMAND": WORKER, "EVENTREPLAY_METRICS_PORT": str(port)}
    k, path = driver.k, f"{watches}/orders"

    def scanned(number: int) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            got = k.call("GET", path)
            last = (got.get("status") or {}).get("lastScan") or {}
            assert last.get("result") != "Failed", last
            return got if last.get("number", 0) >= number else None

        return driver.wait_for(done, 120, f"scan {number} of the watch")

    with driver.running(env) as op:
        k.call("POST", watches, _watch("orders", driver.namespace, source, sink, unique))
        first = scanned(1)
        status = first["status"]
        (gap,) = status["gaps"]
        assert (gap["partition"], gap["firstOffset"], gap["lastOffset"], gap["missing"]) == (0, 20, 29, 10)
        assert gap["from"] == _iso(base + 20_000) and gap["to"] == _iso(base + 29_000)
        assert gap["sampleIds"] == [f"o-{i:03d}" for i in range(20, 25)]
        assert status["missingEvents"] == 10
        ready = {c["type"]: c for c in status["conditions"]}
        assert (ready["Ready"]["status"], ready["Degraded"]["reason"]) == ("True", "GapsFound")
        driver.wait_for(lambda: len(_gap_events(driver, first)) == 1, 30, "one GapFound Event")
        missing = series_name("eventreplay_watch_missing_events", {"namespace": driver.namespace, "watch": "orders"})
        driver.wait_for(
            lambda: any(series_name(n, labels) == missing and v == 10 for n, labels, v in scrape(port)),
            30,
            "the metric",
        )
        (draft,) = driver.wait_for(lambda: _drafts(driver) or None, 30, "the draft EventReplay")
        assert draft["metadata"]["name"] == gap["draft"]
        assert draft["metadata"]["ownerReferences"][0]["uid"] == first["metadata"]["uid"]
        window = draft["spec"]["window"]["timestamps"]
        assert (window["from"], window["to"]) == (_iso(base + 15_000)[:19] + "Z", _iso(base + 35_000)[:19] + "Z")
        assert draft["spec"]["promotion"] == {"policy": "Manual"} and draft["spec"]["source"]["partitions"] == ["0"]
        # A kill between the scan and its draft: status without the draft's record, the draft made.
        op.kill()
        undrafted = {key: value for key, value in gap.items() if key != "draft"}
        k.call("PATCH", path + "/status", {"status": {"gaps": [undrafted]}}, content_type=MERGE)
        with driver.running(env):
            restarted(driver, k, path, gap, scanned)


def restarted(driver: OperatorDriver, k: Kube, path: str, gap: dict[str, Any], scanned: Any) -> None:
    """The restarted operator records the draft it finds, and its next scan drafts nothing new."""
    driver.wait_for(lambda: k.call("GET", path)["status"]["gaps"][0].get("draft") == gap["draft"], 60, "redrafted")
    second = scanned(2)
    assert second["status"]["gaps"][0]["key"] == gap["key"]
    assert [d["metadata"]["name"] for d in _drafts(driver)] == [gap["draft"]]
    assert len(_gap_events(driver, second)) == 1
    k.call("DELETE", path)
    driver.wait_for(lambda: not _drafts(driver), 60, "the drafts to go with the watch")
