"""Pod and Node status documents as the kubelet writes them, and its final grace-0 delete."""

from __future__ import annotations

import platform
from pathlib import Path

from . import config, kube
from .kubeapi import JSON, Kube, KubeError, now, pod_path

TERMINAL = ("Succeeded", "Failed")


def pod_log_path(ns: str, name: str) -> Path:
    return config.log_dir() / "pods" / f"{ns}_{name}.log"


def conditions(ready: bool, reason: str | None = None) -> list[JSON]:
    stamp = now()
    out: list[JSON] = [
        {"type": kind, "status": "True", "lastTransitionTime": stamp}
        for kind in ("PodReadyToStartContainers", "Initialized")
    ]
    for kind in ("ContainersReady", "Ready"):
        cond: JSON = {"type": kind, "status": "True" if ready else "False", "lastTransitionTime": stamp}
        if reason:
            cond["reason"] = reason
        out.append(cond)
    return out


def terminated(code: int, started: str | None, reason: str | None = None, message: str = "") -> JSON:
    """A container's `state.terminated`; reason Completed for exit code 0, else Error."""
    out: JSON = {
        "exitCode": code,
        "reason": reason or ("Completed" if code == 0 else "Error"),
        "startedAt": started,
        "finishedAt": now(),
    }
    if message:
        out["message"] = message
    return out


def container_status(
    container: JSON,
    state: JSON,
    *,
    restarts: int = 0,
    last: JSON | None = None,
    ready: bool = False,
    container_id: str | None = None,
) -> JSON:
    """One containerStatuses entry; the other state keys are nulled so a strategic merge drops them."""
    out: JSON = {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": "",
        "ready": ready,
        "started": ready,
        "restartCount": restarts,
        "lastState": last or {},
        "state": {"running": None, "waiting": None, "terminated": None, **state},
    }
    if container_id:
        out["containerID"] = container_id
    return out


def report_terminal(
    kube: Kube,
    pod: JSON,
    phase: str,
    state: JSON,
    *,
    message: str = "",
    reason: str | None = None,
    restarts: int = 0,
    last: JSON | None = None,
    container_id: str | None = None,
) -> None:
    """Patch the pod to a terminal phase with every container in `state`."""
    containers = pod["spec"].get("containers") or []
    status: JSON = {
        "phase": phase,
        "conditions": conditions(False, "PodCompleted"),
        "containerStatuses": [
            container_status(c, state, restarts=restarts, last=last, container_id=container_id) for c in containers
        ],
        "hostIP": config.HOST,
        "podIP": config.HOST,
    }
    if not (pod.get("status") or {}).get("startTime"):
        status["startTime"] = now()
    if message:
        status["message"] = message
    if reason:
        status["reason"] = reason
    meta = pod["metadata"]
    kube.patch_status(meta["namespace"], meta["name"], status)


def report_lost(kube: Kube, pod: JSON, message: str) -> None:
    """Failed with exit code 137, as the kubelet reports a container it can no longer find."""
    report_terminal(kube, pod, "Failed", {"terminated": terminated(137, None, "ContainerStatusUnknown", message)})


def delete_now(kube: Kube, pod: JSON) -> None:
    """The kubelet's final delete: grace 0 with a uid precondition; gone or replaced is fine."""
    meta = pod["metadata"]
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": meta["uid"]},
    }
    try:
        kube.call("DELETE", pod_path(meta["namespace"], meta["name"]), body)
    except KubeError as err:
        if err.status not in (404, 409):
            raise


def node_status(node: str, stamp: str, started: str) -> JSON:
    """A Ready node status with its heartbeat at `stamp` (what the kubelet posts every 10 s)."""
    conds = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "node harness is posting ready status",
        }
    ]
    conds += [
        {"type": t, "status": "False", "reason": f"KubeletHasNo{t}"}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    for cond in conds:
        cond.update(lastHeartbeatTime=stamp, lastTransitionTime=started)
    size = {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    status = {
        "conditions": conds,
        "capacity": size,
        "allocatable": size,
        "addresses": [
            {"type": "InternalIP", "address": config.HOST},
            {"type": "Hostname", "address": node},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": started,
            "kernelVersion": platform.release(),
            "osImage": "eventreplay node harness",
            "containerRuntimeVersion": "proc://1",
            "kubeletVersion": f"v{kube.K8S_VERSION}",
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }
    return status
