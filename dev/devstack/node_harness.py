"""`python -m devstack.node_harness`: a process "kubelet" (and scheduler) for one Node.

It registers the Node `eventreplay-local` as Ready and heartbeats it, binds every unscheduled
Pending pod to it, and runs each pod bound to it as a local process (see pod_runner.py).
It is also the stack's only scheduler: a pod whose nodeSelector its node lacks (e.g. the
PodNodeSelector annotation of a namespace meant for the real node, see devstack/kubelet.py) is
bound to the first Ready node that has those labels instead, or left Pending with PodScheduled=False
(reason Unschedulable), as kube-scheduler says it.
After a restart it leaves terminal pods alone and reports pods that were Running under an
earlier harness as Failed with exit code 137, like a container lost with its node.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import config
from .kubeapi import JSON, Kube, KubeError, now, pod_path
from .pod_runner import PodWorker
from .pod_status import TERMINAL, delete_now, node_status, report_lost

NODE_NAME = "eventreplay-local"
HEARTBEAT_SECONDS = 10.0
log = logging.getLogger("node-harness")


def pick_node(selector: dict[str, str], nodes: list[JSON]) -> str | None:
    """The first Ready, schedulable node (by name) whose labels include the pod's nodeSelector."""
    for node in sorted(nodes, key=lambda n: str(n["metadata"]["name"])):
        labels = node["metadata"].get("labels") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )
        if ready and not (node.get("spec") or {}).get("unschedulable") and selector.items() <= labels.items():
            return str(node["metadata"]["name"])
    return None


def ready_file() -> Path:
    """Rewritten after every successful heartbeat once both pod watches have listed."""
    return config.state_dir() / "run" / "node-harness.ready"


class Harness:
    def __init__(self, kube: Kube, node: str) -> None:
        self.kube, self.node = kube, node
        self.stop = threading.Event()
        self.workers: dict[str, PodWorker] = {}
        self.deleted: set[str] = set()
        self.listed: set[str] = set()
        self.lock = threading.Lock()
        self.started = now()

    # --- the Node ---------------------------------------------------------------------------
    @property
    def labels(self) -> dict[str, str]:
        return {
            "kubernetes.io/hostname": self.node,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "eventreplay.io/node-harness": "true",
        }

    def register(self) -> None:
        meta = {
            "name": self.node,
            "annotations": {"eventreplay.io/harness-pid": str(os.getpid())},
            "labels": self.labels,
        }
        try:
            self.kube.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": meta})
        except KubeError as err:
            if err.status != 409:
                raise
        # Admission adds a not-ready taint; no node-lifecycle controller runs to lift it.
        self.kube.call(
            "PATCH",
            f"/api/v1/nodes/{self.node}",
            {"metadata": meta, "spec": {"taints": None}},
            content_type="application/strategic-merge-patch+json",
        )
        self.heartbeat()

    def heartbeat(self) -> None:
        stamp = now()
        status = node_status(self.node, stamp, self.started)
        self.kube.call(
            "PATCH",
            f"/api/v1/nodes/{self.node}/status",
            {"status": status},
            content_type="application/strategic-merge-patch+json",
        )
        if {"binder", "pods"} <= self.listed:
            ready_file().write_text(json.dumps({"pid": os.getpid(), "time": stamp}))

    def heartbeat_loop(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            try:
                self.heartbeat()
            except Exception as err:  # noqa: BLE001 - keep beating through API hiccups
                log.warning("heartbeat failed: %s", err)

    # --- watches ----------------------------------------------------------------------------
    def watch_loop(
        self,
        name: str,
        selector: str,
        handle: Callable[[str, JSON], None],
        relisted: Callable[[set[str]], None] | None = None,
    ) -> None:
        """List, then watch from the list's resourceVersion; re-list after 410 or any error."""
        while not self.stop.is_set():
            try:
                items, version = self.kube.list_pods(selector)
                for item in items:
                    handle("ADDED", item)
                if relisted is not None:
                    relisted({item["metadata"]["uid"] for item in items})
                self.listed.add(name)
                while not self.stop.is_set():
                    for event in self.kube.watch_pods(selector, version):
                        version = event["object"]["metadata"].get("resourceVersion") or version
                        if event["type"] != "BOOKMARK":
                            handle(event["type"], event["object"])
            except KubeError as err:
                if err.status == 410:
                    log.info("%s watch expired; re-listing", name)
                    continue
                log.warning("%s watch failed: %s", name, err)
                self.stop.wait(1.0)
            except Exception:  # re-list on anything a stream can raise
                log.exception("%s watch broke; re-listing", name)
                self.stop.wait(1.0)

    def bind(self, kind: str, pod: JSON) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        if kind == "DELETED" or spec.get("nodeName") or spec.get("schedulingGates"):
            return
        if meta.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") != "Pending":
            return
        target = self.node
        selector = spec.get("nodeSelector") or {}
        if not selector.items() <= self.labels.items():
            target = pick_node(selector, self.kube.call("GET", "/api/v1/nodes")["items"]) or ""
            if not target:
                log.info("pod %s/%s: no Ready node matches %s; left Pending", meta["namespace"], meta["name"], selector)
                self.unschedulable(pod, f"0/1 nodes are available: no Ready node matches nodeSelector {selector}.")
                return
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "uid": meta["uid"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": target},
        }
        try:
            self.kube.call("POST", pod_path(meta["namespace"], meta["name"], "binding"), body)
            log.info("pod %s/%s: bound to %s", meta["namespace"], meta["name"], target)
        except KubeError as err:
            if err.status not in (404, 409):
                log.warning("pod %s/%s: binding failed: %s", meta["namespace"], meta["name"], err)

    def unschedulable(self, pod: JSON, message: str) -> None:
        """Say so in the pod's PodScheduled condition, as kube-scheduler does (once: the patch is
        itself a pod event)."""
        meta = pod["metadata"]
        said = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"]
        if said and said[0].get("reason") == "Unschedulable":
            return
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        try:
            self.kube.patch_status(
                meta["namespace"], meta["name"], {"conditions": [{**condition, "lastTransitionTime": now()}]}
            )
        except KubeError as err:
            log.warning("pod %s/%s: cannot mark it unschedulable: %s", meta["namespace"], meta["name"], err)

    def on_pod(self, kind: str, pod: JSON) -> None:
        meta = pod["metadata"]
        uid, status = meta["uid"], pod.get("status") or {}
        with self.lock:
            worker = self.workers.get(uid)
            if kind == "DELETED":
                self.workers.pop(uid, None)
                self.deleted.discard(uid)
                if worker is not None:
                    worker.request_delete(0)  # force-deleted: stop the process now
                return
            if meta.get("deletionTimestamp"):
                grace = float(meta.get("deletionGracePeriodSeconds") or 0)
                if worker is not None and worker.request_delete(grace):
                    return
                if uid not in self.deleted:
                    self.deleted.add(uid)
                    threading.Thread(target=self._finish_orphan, args=(pod,), daemon=True).start()
                return
            if worker is not None or status.get("phase") in TERMINAL:
                return
            started = [
                c
                for c in status.get("containerStatuses") or []
                if {"running", "terminated"} & set((c.get("state") or {}).keys())
            ]
            if status.get("phase") == "Running" or started:
                if uid not in self.deleted:
                    self.deleted.add(uid)  # never re-run: report it lost
                    threading.Thread(target=self._report_lost, args=(pod,), daemon=True).start()
                return
            worker = PodWorker(self.kube, pod, self.stop)
            self.workers[uid] = worker
        worker.start()

    def relisted(self, uids: set[str]) -> None:
        """Pods that vanished while the watch was down: stop their processes."""
        with self.lock:
            gone = [uid for uid in self.workers if uid not in uids]
            for uid in gone:
                self.workers.pop(uid).request_delete(0)

    def _report_lost(self, pod: JSON) -> None:
        meta = pod["metadata"]
        try:
            report_lost(self.kube, pod, "The container could not be located when the pod was terminated")
            log.info("pod %s/%s: lost by an earlier harness; reported Failed", meta["namespace"], meta["name"])
        except KubeError as err:
            log.warning("pod %s/%s: could not report lost: %s", meta["namespace"], meta["name"], err)
            self.deleted.discard(meta["uid"])

    def _finish_orphan(self, pod: JSON) -> None:
        """A deleted pod without a running process: report Failed unless terminal, then delete."""
        meta = pod["metadata"]
        try:
            if (pod.get("status") or {}).get("phase") not in TERMINAL:
                report_lost(self.kube, pod, "The pod was deleted before its container ran")
            delete_now(self.kube, pod)
        except KubeError as err:
            log.warning("pod %s/%s: delete failed: %s", meta["namespace"], meta["name"], err)
            self.deleted.discard(meta["uid"])

    # --- run --------------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.register()
                break
            except Exception as err:  # noqa: BLE001 - the apiserver may still be starting
                log.warning("node registration failed (%s); retrying", err)
                self.stop.wait(2.0)
        threads = [
            threading.Thread(target=self.heartbeat_loop, name="heartbeat", daemon=True),
            threading.Thread(
                target=self.watch_loop,
                name="binder",
                daemon=True,
                args=("binder", "spec.nodeName=,status.phase=Pending", self.bind),
            ),
            threading.Thread(
                target=self.watch_loop,
                name="pods",
                daemon=True,
                args=("pods", f"spec.nodeName={self.node}", self.on_pod, self.relisted),
            ),
        ]
        for thread in threads:
            thread.start()
        while not self.stop.is_set() and not {"binder", "pods"} <= self.listed:
            self.stop.wait(0.2)
        if not self.stop.is_set():
            self.heartbeat()
            log.info("node %s registered and watching pods (pid %d)", self.node, os.getpid())
        self.stop.wait()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop every pod process (SIGTERM, SIGKILL after 2 s) and wait for final reports."""
        ready_file().unlink(missing_ok=True)
        with self.lock:
            workers = [w for w in self.workers.values() if w.is_alive()]
        log.info("shutting down: stopping %d pod process(es)", len(workers))
        for worker in workers:
            worker.wake()
        deadline = time.monotonic() + 12.0
        for worker in workers:
            worker.join(max(0.1, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.node_harness", description=__doc__)
    parser.add_argument("--kubeconfig", default=str(config.kubeconfig_path()))
    parser.add_argument("--node-name", default=NODE_NAME)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    harness = Harness(Kube(args.kubeconfig), args.node_name)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        harness.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    harness.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
