"""The gap watch on the real stack, the operator run in-process as a subprocess and its scan Jobs
run by the node harness: a consumer dropped a window of events; the watch finds the gap within one
period (status, metric, one Warning Event), drafts one EventReplay for it with the gap's window, and
neither a second scan nor an operator restart between scan and draft drafts it again. The draft,
approved, fills the gap exactly (the dropped events once each, nothing else), and the next scan
finds no gap and drafts nothing."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import orjson
import pytest

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.kube import MERGE, Kube
from support.kafka_tools import read_topic
from support.operator_driver import OperatorDriver
from support.operator_process import CHECKOUT_WORKER, free_port
from support.reconciliation_checks import COUNTS
from support.watch_scenario import (
    DROPPED,
    LOST,
    RECORDS,
    drafts,
    gap_events,
    iso,
    metric_is,
    replays_path,
    scanned,
    seed,
    watch_manifest,
)

pytestmark = pytest.mark.stack


def test_the_watch_finds_a_dropped_window_once_and_drafts_it_once(
    driver: OperatorDriver, watches: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    source, sink = f"watch-src-{unique}", f"watch-dst-{unique}"
    base = (int(time.time()) - 900) * 1000
    seed(kafka_admin, kafka_bootstrap, source, sink, base)
    port = free_port()
    env = {"EVENTREPLAY_WORKER_COMMAND": CHECKOUT_WORKER, "EVENTREPLAY_METRICS_PORT": str(port)}
    k, path = driver.k, f"{watches}/orders"
    with driver.running(env) as op:
        k.call("POST", watches, watch_manifest(driver.namespace, source, sink, unique))
        first = scanned(driver, path, 1)
        status = first["status"]
        (gap,) = status["gaps"]
        assert (gap["partition"], gap["firstOffset"], gap["lastOffset"], gap["missing"]) == (0, 20, 29, 10)
        assert gap["from"] == iso(base + 20_000) and gap["to"] == iso(base + 29_000)
        assert gap["sampleIds"] == [f"o-{i:03d}" for i in range(20, 25)]
        assert status["missingEvents"] == 10
        ready = {c["type"]: c for c in status["conditions"]}
        assert (ready["Ready"]["status"], ready["Degraded"]["reason"]) == ("True", "GapsFound")
        driver.wait_for(lambda: len(gap_events(driver, first)) == 1, 30, "one GapFound Event")
        metric_is(driver, port, 10)
        (draft,) = driver.wait_for(lambda: drafts(driver) or None, 30, "the draft EventReplay")
        assert draft["metadata"]["name"] == gap["draft"]
        assert draft["metadata"]["ownerReferences"][0]["uid"] == first["metadata"]["uid"]
        window = draft["spec"]["window"]["timestamps"]
        assert (window["from"], window["to"]) == (iso(base + 15_000)[:19] + "Z", iso(base + 35_000)[:19] + "Z")
        assert draft["spec"]["promotion"] == {"policy": "Manual"} and draft["spec"]["source"]["partitions"] == ["0"]
        # A kill between the scan and its draft: status without the draft's record, the draft made.
        op.kill()
        undrafted = {key: value for key, value in gap.items() if key != "draft"}
        k.call("PATCH", path + "/status", {"status": {"gaps": [undrafted]}}, content_type=MERGE)
        with driver.running(env):
            restarted(driver, k, path, gap)


def restarted(driver: OperatorDriver, k: Kube, path: str, gap: dict[str, Any]) -> None:
    """The restarted operator records the draft it finds, and its next scan drafts nothing new."""
    driver.wait_for(lambda: k.call("GET", path)["status"]["gaps"][0].get("draft") == gap["draft"], 60, "redrafted")
    second = scanned(driver, path, 2)
    assert second["status"]["gaps"][0]["key"] == gap["key"]
    assert [d["metadata"]["name"] for d in drafts(driver)] == [gap["draft"]]
    assert len(gap_events(driver, second)) == 1
    k.call("DELETE", path)
    driver.wait_for(lambda: not drafts(driver), 60, "the drafts to go with the watch")


def test_the_approved_draft_fills_the_gap_exactly_and_the_next_scan_finds_none(
    driver: OperatorDriver, watches: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    source, sink = f"watch-src-{unique}", f"watch-dst-{unique}"
    base = (int(time.time()) - 900) * 1000
    seed(kafka_admin, kafka_bootstrap, source, sink, base)
    port = free_port()
    env = {"EVENTREPLAY_WORKER_COMMAND": CHECKOUT_WORKER, "EVENTREPLAY_METRICS_PORT": str(port)}
    k, path = driver.k, f"{watches}/orders"
    with driver.running(env):
        k.call("POST", watches, watch_manifest(driver.namespace, source, sink, unique, dry_run=False))
        first = scanned(driver, path, 1)
        (draft,) = driver.wait_for(lambda: drafts(driver) or None, 30, "the draft EventReplay")
        name = draft["metadata"]["name"]
        assert draft["spec"].get("dryRun") is not True and draft["spec"]["promotion"] == {"policy": "Manual"}
        # The report: the draft's window (the gap plus its 5 s margins) holds the dropped events and
        # the delivered ones of the margins (offsets 15-19, 30-34); the sink is read with the default
        # slack (600 s), so its other delivered events are extra (there, not replayed).
        got = driver.wait_for_condition(name, "Reconciled", timeout=300)
        report = got["status"]["reconciliation"]
        beside = 2 * 5
        outside = RECORDS - len(LOST) - beside
        expected = {**dict.fromkeys(COUNTS, 0), "unchanged": beside, "missing": len(LOST), "extra": outside}
        assert {c: report[c] for c in COUNTS} == expected
        assert report["samples"]["missing"] == sorted(DROPPED)[:5]
        assert driver.condition(got, "Promoted")["reason"] == "AwaitingApproval"
        assert len(read_topic(kafka_bootstrap, sink, 1)) == RECORDS - len(LOST), "written before approval"
        # The approval as `eventreplay approve` writes it: the hash and the approver in one patch.
        digest = report["reportHash"]
        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"promotion": {"approvedReportHash": digest}},
        }
        k.call("PATCH", f"{replays_path(driver)}/{name}", approval, content_type=MERGE)
        done = driver.wait_for_replay(
            name, lambda r: driver.condition(r, "Ready").get("status") == "True", "promoted", timeout=300
        )
        assert done["status"]["phase"] == "Promoted"
        promotion = done["status"]["promotion"]
        assert (promotion["written"], promotion["skippedIdentical"]) == (len(LOST), beside)
        assert promotion["reportHash"] == digest and promotion["approvedBy"] == "reviewer"
        _filled(kafka_bootstrap, sink, f"{driver.namespace}/{name}", digest)
        clean = scanned(driver, path, _first_scan_after_now(k, path))
        _no_gap(driver, port, clean, first, name)


def _filled(bootstrap: str, sink: str, promoted_by: str, digest: str) -> None:
    """The sink holds every source event exactly once: the delivered ones as they were, the dropped
    ones written by the promotion of this report, with the source's values."""
    records = [rec for _, rec in read_topic(bootstrap, sink, 1)]
    ids = Counter(rec.key.decode() for rec in records if rec.key is not None)
    assert ids == Counter({f"o-{i:03d}": 1 for i in range(RECORDS)}), "each event once, none twice"
    promoted = [rec for rec in records if "er-promoted-by" in rec.headers]
    assert {rec.key.decode() for rec in promoted if rec.key is not None} == DROPPED
    for rec in promoted:
        assert (rec.headers["er-promoted-by"], rec.headers["er-report-hash"]) == (promoted_by.encode(), digest.encode())
        assert rec.key is not None and orjson.loads(rec.value) == {"event_id": rec.key.decode()}


def _first_scan_after_now(k: Kube, path: str) -> int:
    """The number of the first scan certain to start after this call: a scan running now may have
    read the sink before the promotion, so the one after it."""
    status = k.call("GET", path)["status"]
    return int((status.get("activeScan") or status["lastScan"])["number"]) + 1


def _no_gap(driver: OperatorDriver, port: int, clean: dict[str, Any], first: dict[str, Any], name: str) -> None:
    """A scan after the promotion: no gap in status or metric, no new Event, no second draft."""
    status = clean["status"]
    assert (status["lastScan"]["result"], status["lastScan"]["missing"]) == ("Succeeded", 0)
    assert (status.get("gaps") or [], status["missingEvents"], status["gapsTotal"]) == ([], 0, 0)
    degraded = driver.condition(clean, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("False", "NoGaps")
    metric_is(driver, port, 0)
    assert [d["metadata"]["name"] for d in drafts(driver)] == [name]
    assert len(gap_events(driver, first)) == 1
