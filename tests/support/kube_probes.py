"""Polling, kubectl and pod/Job probes for the tests that drive the local control plane and node harness."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from devstack import config, kube

T = TypeVar("T")
TIMEOUT = 120.0
IMAGE = "eventreplay:dev"  # the node harness runs any image as a local process


def wait_for(
    probe: Callable[[], T | None],
    what: str,
    timeout: float = TIMEOUT,
    *,
    interval: float = 0.5,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Poll until probe() returns something truthy; fail with `what` after `timeout` seconds.
    Errors of the `retry_on` types count as "not yet" (the last one is reported)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
            last = value
        except retry_on as err:
            last = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def kubectl(*args: str, stdin: str | None = None) -> str:
    out = kube.kubectl(*args, stdin=stdin)
    assert out.returncode == 0, f"kubectl {' '.join(args)} failed: {out.stderr}"
    return out.stdout


def apply(doc: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", stdin=json.dumps(doc))


def get(kind: str, name: str, ns: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", kind, name, "-n", ns, "-o", "json")))


def bare_pod(name: str, ns: str, command: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": IMAGE, "command": command}],
            **spec,
        },
    }


def job(
    name: str, ns: str, command: list[str], *, backoff: int = 0, restart: str = "Never", **container: Any
) -> dict[str, Any]:
    spec = {"name": "main", "image": IMAGE, "command": command, **container}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {"restartPolicy": restart, "containers": [spec]},
            },
        },
    }


def job_condition(name: str, ns: str) -> str | None:
    """ "Complete" or "Failed" once the Job controller has decided, else None."""
    for cond in get("job", name, ns).get("status", {}).get("conditions") or []:
        if cond["type"] in ("Complete", "Failed") and cond["status"] == "True":
            return str(cond["type"])
    return None


def job_pods(name: str, ns: str) -> list[dict[str, Any]]:
    out = json.loads(kubectl("get", "pods", "-n", ns, "-l", f"job-name={name}", "-o", "json"))
    return list(out["items"])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def running_pid(name: str, ns: str) -> int:
    """The host pid of a pod's running container (the harness's container id is `proc://<pid>`)."""

    def probe() -> int | None:
        status = get("pod", name, ns).get("status", {})
        for cs in status.get("containerStatuses") or []:
            if status.get("phase") == "Running" and "running" in cs.get("state", {}):
                return int(cs["containerID"].removeprefix("proc://"))
        return None

    return wait_for(probe, f"pod {ns}/{name} to run")


def pod_gone(name: str, ns: str) -> bool:
    out = subprocess.run(
        [str(kube.kubectl_path()), "get", "pod", name, "-n", ns, "--ignore-not-found", "-o", "name"],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(config.kubeconfig_path())},
        check=False,
    )
    return out.returncode == 0 and not out.stdout.strip()
