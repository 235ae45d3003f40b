"""`dev/stack` as a user runs it: idempotent `up`, `status`, harness restarts, `down`.

This module stops the whole stack, so it lives in tests/zz_stack (collected last) and always
brings the stack back up before it ends, for whoever runs tests next.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import config, stack
from devstack.node import NodeHarness
from support.kube_probes import alive, apply, bare_pod, get, kubectl, wait_for

pytestmark = pytest.mark.stack

STACK = config.REPO / "dev" / "stack"


def dev_stack(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACK), *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=config.REPO
    )


def count(marker: str) -> int:
    """Live processes of THIS stack whose command line holds `marker` (pgrep -f also matches a
    zombie's name). Another stack on the machine (EVENTREPLAY_PORT_OFFSET) runs the same programs:
    ours name our state folder in their command line, or (Redis) our port."""
    out = subprocess.run(["pgrep", "-af", "--", marker], capture_output=True, text=True, check=False)
    ours = (str(config.state_dir()), f"{config.HOST}:{config.PORTS.redis}")
    pids = [int(line.split(" ", 1)[0]) for line in out.stdout.splitlines() if any(m in line for m in ours)]
    return sum(1 for pid in pids if alive(pid))


def markers() -> dict[str, str]:
    """The default stack's components (`dev/stack up` without names; the real node is opt-in)."""
    return {comp.name: comp.marker for comp in stack.select(None)}


def pod_status(name: str, ns: str) -> dict[str, Any]:
    return dict(get("pod", name, ns).get("status") or {})


@pytest.fixture
def scratch_namespace() -> Iterator[str]:
    assert dev_stack("up").returncode == 0
    name = f"zz-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def test_up_twice_status_harness_restart_down_up(scratch_namespace: str) -> None:
    ns = scratch_namespace
    try:
        again = dev_stack("up")
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("already running") == len(markers()), again.stdout
        for name, marker in markers().items():
            assert count(marker) == 1, f"{name}: {count(marker)} processes match {marker!r}"
        status = dev_stack("status")
        assert status.returncode == 0, status.stdout

        # A harness killed outright: terminal pods stay as they are, running pods are lost.
        apply(bare_pod("done", ns, ["true"]))
        apply(bare_pod("survivor", ns, ["sleep", "300"]))
        wait_for(lambda: pod_status("done", ns).get("phase") == "Succeeded", "pod done to succeed")

        def running_pid() -> int | None:
            st = pod_status("survivor", ns)
            cs = (st.get("containerStatuses") or [{}])[0]
            running = st.get("phase") == "Running" and "running" in cs.get("state", {})
            return int(cs["containerID"].removeprefix("proc://")) if running else None

        pid = wait_for(running_pid, "pod survivor to run")
        harness = NodeHarness().pid()
        assert harness is not None
        os.kill(harness, signal.SIGKILL)
        wait_for(lambda: not alive(pid), f"pod process {pid} to die with its harness", timeout=30)
        restarted = dev_stack("up", "node-harness")
        assert restarted.returncode == 0, restarted.stderr
        lost = wait_for(
            lambda: (st := pod_status("survivor", ns)).get("phase") == "Failed" and st,
            "the lost pod to be reported Failed",
        )
        term = lost["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (137, "ContainerStatusUnknown")
        assert pod_status("done", ns)["phase"] == "Succeeded"
        log = (config.log_dir() / "pods" / f"{ns}_done.log").read_text()
        assert log.count(" start ") == 1, log  # never re-run

        before = {comp.name: comp.pid() for comp in stack.components()}
        down = dev_stack("down")
        assert down.returncode == 0, down.stderr
        # Every process `up` started is gone. Another test session may start the stack again
        # right after `down` (its fixture calls stack.up()); such processes have new pids.
        survivors = {name: pid for name, pid in before.items() if pid is not None and alive(pid)}
        assert survivors == {}, down.stdout
        left = {name: count(marker) for name, marker in markers().items()}
        if not any(left.values()):
            assert dev_stack("status").returncode != 0
        else:
            print(f"another session restarted components right after down: {left}")
    finally:
        began = time.monotonic()
        up = dev_stack("up")
        print(f"dev/stack up after down: {time.monotonic() - began:.1f}s\n{up.stdout}")
    assert up.returncode == 0, up.stderr
    assert dev_stack("status").returncode == 0
