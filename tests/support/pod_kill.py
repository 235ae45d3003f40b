"""A Job's pod SIGKILLed mid-work on the node harness, where a pod's container is a local process (its
containerID `proc://<pid>`, the process itself: the harness's wrappers exec it).

The process is caught as it starts and frozen (SIGSTOP), then let run in short slices until it holds
a TCP connection open (its Kafka clients are up: it is at work); still frozen, its work is checked
unfinished, and it is SIGKILLed, as the OOM killer or a node's loss ends a pod: no handler runs.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from eventreplay.operator.kube import Kube
from support.kube_probes import alive
from support.replay_waits import wait_for

SLICE = 0.01
"""Seconds the frozen process runs between two looks at its sockets."""


def kill_mid_work(k: Kube, ns: str, job: str, finished: Callable[[], bool], timeout: float = 120) -> str:
    """SIGKILL the Job's pod process while it works (connected, `finished()` still False): the pod's name."""
    pod, pid = _started(k, ns, job, timeout)
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while not _connected(pid):
        assert alive(pid), f"pod {ns}/{pod} ended before it was caught at work"
        assert time.monotonic() < deadline, f"pod {ns}/{pod} opened no connection in {timeout:.0f}s"
        os.kill(pid, signal.SIGCONT)
        time.sleep(SLICE)
        os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: _stopped(pid), 10, f"pid {pid} to stop", interval=0.01)
    assert not finished(), f"pod {ns}/{pod} had finished its work when caught"
    os.kill(pid, signal.SIGKILL)
    return pod


def _started(k: Kube, ns: str, job: str, timeout: float) -> tuple[str, int]:
    """The Job's first pod to run and its process's pid, looked for often: a scan lasts about a second."""

    def probe() -> tuple[str, int] | None:
        pods = k.call("GET", f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": f"job-name={job}"})
        for pod in pods.get("items") or []:
            status = pod.get("status") or {}
            for container in status.get("containerStatuses") or []:
                running = status.get("phase") == "Running" and "running" in (container.get("state") or {})
                if running and str(container.get("containerID", "")).startswith("proc://"):
                    return pod["metadata"]["name"], int(container["containerID"].removeprefix("proc://"))
        return None

    return wait_for(probe, timeout, f"a pod of Job {ns}/{job} to run", interval=0.02)


def _connected(pid: int) -> bool:
    """The process holds an established TCP connection (/proc's socket inodes against its TCP tables)."""
    sockets = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False  # gone (the caller says so)
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        established = "01"
        if any(row.split()[3] == established and row.split()[9] in sockets for row in rows):
            return True
    return False


def _stopped(pid: int) -> bool:
    """Every thread of the process stopped (state T), so nothing it does can race the check after."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        states = [(task / "stat").read_text().rsplit(")", 1)[-1].split()[0] for task in tasks]
    except OSError:
        return False  # a thread went meanwhile: look again
    return all(state in ("T", "t") for state in states)
