"""The gap watch's scan Job SIGKILLed mid-scan, on the real stack (issue #31: "a kill of the operator
or the scan Job drafts nothing twice"; the operator's kill is in test_operator_watch.py). The scan's
pod process, caught while it works (its Kafka connection open, its summary not yet in Redis), is
SIGKILLed on the node harness; the Job's retry completes the same scan; the gap is recorded once,
drafted once and announced once, and the next scan drafts nothing new."""

from __future__ import annotations

import time
from typing import Any

import pytest

from eventreplay.operator.kube import Kube
from eventreplay.operator.watch.owner import scan_job_name
from eventreplay.worker.contract.names import watch_scan_key
from support.operator_driver import OperatorDriver
from support.operator_process import CHECKOUT_WORKER
from support.pod_kill import kill_mid_work
from support.watch_scenario import WATCH, drafts, gap_events, scanned, seed, watch_manifest

pytestmark = pytest.mark.stack

SIGKILLED = 128 + 9
"""The exit code the node reports for a container ended by SIGKILL."""


def test_a_scan_job_killed_mid_scan_drafts_its_gap_once(
    driver: OperatorDriver, watches: str, *, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    source, sink = f"watch-src-{unique}", f"watch-dst-{unique}"
    seed(kafka_admin, kafka_bootstrap, source, sink, (int(time.time()) - 900) * 1000)
    k, path = driver.k, f"{watches}/{WATCH}"
    with driver.running({"EVENTREPLAY_WORKER_COMMAND": CHECKOUT_WORKER}):
        watch = k.call("POST", watches, watch_manifest(driver.namespace, source, sink, unique))
        summary = watch_scan_key(driver.namespace, watch["metadata"]["uid"], 1)
        job = scan_job_name(WATCH, 1)
        killed = kill_mid_work(k, driver.namespace, job, lambda: bool(redis_client.exists(summary)))
        first = scanned(driver, path, 1)
        assert (first["status"]["lastScan"]["number"], first["status"]["lastScan"]["result"]) == (1, "Succeeded")
        exits = _exits(k, driver.namespace, job)
        assert exits.pop(killed) == ("Failed", SIGKILLED)
        assert list(exits.values()) == [("Succeeded", 0)], "scan 1 completed by the Job's retry"
        (gap,) = first["status"]["gaps"]
        assert (gap["partition"], gap["firstOffset"], gap["lastOffset"], gap["missing"]) == (0, 20, 29, 10)
        recorded = driver.wait_for(lambda: k.call("GET", path)["status"]["gaps"][0]["draft"], 30, "the draft recorded")
        (draft,) = driver.wait_for(lambda: drafts(driver) or None, 30, "the draft EventReplay")
        assert draft["metadata"]["name"] == recorded
        driver.wait_for(lambda: len(gap_events(driver, first)) == 1, 30, "one GapFound Event")
        # The next scan sees the same gap: known, so no second draft and no second Event.
        second = scanned(driver, path, 2)
        assert (second["status"]["lastScan"]["number"], second["status"]["lastScan"]["result"]) == (2, "Succeeded")
        assert [(g["key"], g.get("draft")) for g in second["status"]["gaps"]] == [(gap["key"], recorded)]
        assert [d["metadata"]["name"] for d in drafts(driver)] == [recorded]
        assert len(gap_events(driver, second)) == 1
        assert [e["reason"] for e in driver.events(second)].count("Drafted") == 1


def _exits(k: Kube, ns: str, job: str) -> dict[str, tuple[str, int]]:
    """The Job's pods by name: each one's phase and its container's exit code."""
    pods = k.call("GET", f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": f"job-name={job}"})["items"]
    out: dict[str, tuple[str, int]] = {}
    for pod in pods:
        (container,) = pod["status"]["containerStatuses"]
        out[pod["metadata"]["name"]] = (pod["status"]["phase"], int(container["state"]["terminated"]["exitCode"]))
    return out
