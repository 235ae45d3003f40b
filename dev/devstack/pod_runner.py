"""One thread per pod bound to the harness's node: run container[0] as a process, report status.

Lifecycle as the kubelet reports it: Pending -> Running (containerID proc://<pid>) ->
Succeeded/Failed with the container's `terminated` state. restartPolicy OnFailure/Always
restarts in place and bumps restartCount. A deletion request SIGTERMs the process group,
SIGKILLs after the grace period, reports Failed and deletes the pod with grace 0 and a uid
precondition. `activeDeadlineSeconds` fails the pod with reason DeadlineExceeded. Finalizers
are never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from . import config, pod_env, pod_volumes
from .kubeapi import JSON, Kube, KubeError, now
from .pod_status import conditions, container_status, delete_now, pod_log_path, report_lost, report_terminal
from .pod_status import terminated as terminated_state

log = logging.getLogger("node-harness")
SHUTDOWN_GRACE = 2.0
MAX_RUNNING_ENV = "EVENTREPLAY_NODE_MAX_RUNNING"
# A node's capacity, for benches that start hundreds of pods on 2 cores (bench/bench_operator_runs.py):
# at most this many containers run at once; the others stay Pending, as on a full node. Unset: no cap.
_cap = int(os.environ.get(MAX_RUNNING_ENV, "0") or 0)
_SLOTS = threading.BoundedSemaphore(_cap) if _cap > 0 else None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class PodWorker(threading.Thread):
    def __init__(self, kube: Kube, pod: JSON, shutdown: threading.Event) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.kube, self.pod, self.shutdown = kube, pod, shutdown
        self.ns, self.pod_name = str(meta["namespace"]), str(meta["name"])
        self.delete_grace: float | None = None
        self.finished = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._reported_terminal = False
        self.container: JSON = {}
        self.binds: list[pod_volumes.Bind] = []
        self.restarts = 0
        self.last: JSON = {}
        self.pid: int | None = None
        self.started_at: str = (pod.get("status") or {}).get("startTime") or now()

    def request_delete(self, grace: float) -> bool:
        """Ask the worker to stop and delete the pod. False when it has already finished."""
        with self._lock:
            if self.finished:
                return False
            if self.delete_grace is None or grace < self.delete_grace:
                self.delete_grace = grace
            self._wake.set()
            return True

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("pod %s/%s: worker failed", self.ns, self.pod_name)
        with self._lock:
            self.finished = True
            delete = self.delete_grace is not None
        if delete:
            try:
                if not self._reported_terminal:
                    report_lost(self.kube, self.pod, "The pod was deleted before its container ran")
                delete_now(self.kube, self.pod)
                log.info("pod %s/%s: deleted", self.ns, self.pod_name)
            except KubeError as err:
                log.warning("pod %s/%s: final delete failed: %s", self.ns, self.pod_name, err)

    def _stopping(self) -> bool:
        return self.delete_grace is not None or self.shutdown.is_set()

    def _run(self) -> None:
        spec = self.pod["spec"]
        try:
            self.container = pod_env.check_supported(spec)
            env = self._resolve_env()
            if env is None:
                return
            argv = pod_env.container_argv(self.container, env)
        except pod_env.UnsupportedPod as err:
            log.warning("pod %s/%s: unsupported: %s", self.ns, self.pod_name, err)
            state = terminated_state(128, None, "StartError", str(err))
            self._terminal("Failed", state, message=str(err), reason="UnsupportedPodSpec")
            return
        policy = spec.get("restartPolicy", "Always")
        ads = spec.get("activeDeadlineSeconds")
        deadline = time.monotonic() + float(ads) if ads else None
        if not self._slot():
            return
        try:
            self._run_container(argv, env, policy, deadline)
        finally:
            if _SLOTS is not None:
                _SLOTS.release()

    def _slot(self) -> bool:
        """Wait (Pending) for a free slot under the node's cap; False when the pod goes first."""
        while _SLOTS is not None and not _SLOTS.acquire(timeout=1.0):
            if self._stopping():
                return False
        return True

    def _run_container(self, argv: list[str], env: dict[str, str], policy: str, deadline: float | None) -> None:
        path = pod_log_path(self.ns, self.pod_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as out:
            while True:
                state, why = self._run_once(argv, env, out, deadline)
                code = int(state["exitCode"])
                if why != "exit" or policy == "Never" or (policy == "OnFailure" and code == 0):
                    break
                self.restarts, self.last = self.restarts + 1, {"terminated": state}
                message = f"back-off restarting failed container (exit code {code})"
                self._patch({"waiting": {"reason": "CrashLoopBackOff", "message": message}})
                self._wake.wait(min(10.0, 2.0 ** (self.restarts - 1)))
                self._wake.clear()
                if self._stopping():
                    why = "stop"
                    break
        if why == "deadline":
            message = "Pod was active on the node longer than the specified deadline"
            self._terminal("Failed", state, message=message, reason="DeadlineExceeded")
        else:
            self._terminal("Succeeded" if why == "exit" and code == 0 else "Failed", state)

    def _resolve_env(self) -> dict[str, str] | None:
        """Retry while a referenced Secret/ConfigMap is missing, as the kubelet does; the mounted
        ConfigMaps are written out too (`self.binds`)."""
        reported = ""
        while True:
            try:
                self.binds = pod_volumes.materialize(self.kube, self.pod, self.container)
                return pod_env.container_env(self.kube, self.pod, self.container)
            except pod_env.EnvError as err:
                if str(err) != reported:
                    reported = str(err)
                    log.info("pod %s/%s: waiting: %s", self.ns, self.pod_name, err)
                    waiting = {"reason": "CreateContainerConfigError", "message": reported}
                    self._patch({"waiting": waiting}, phase="Pending")
            self._wake.wait(2.0)
            self._wake.clear()
            if self._stopping():
                return None

    def _run_once(
        self, argv: list[str], env: dict[str, str], out: IO[bytes], deadline: float | None
    ) -> tuple[JSON, str]:
        began = now()
        cwd = Path(self.container.get("workingDir") or config.REPO)
        note = f"\n--- {began} start {argv}\n"
        if not cwd.is_dir():
            note += f"--- workingDir {cwd} does not exist here; using {config.REPO}\n"
            cwd = config.REPO
        out.write(note.encode())
        out.flush()
        exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            message = f'exec: "{argv[0]}": executable file not found in $PATH'
            out.write(f"--- {message}\n".encode())
            return terminated_state(128, began, "StartError", message), "startfail"
        # The process dies with the harness even when the harness is SIGKILLed.
        wrapper = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        try:
            proc = subprocess.Popen(
                [*wrapper, *pod_volumes.wrap(self.binds, [exe, *argv[1:]])],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as err:
            return terminated_state(128, began, "StartError", str(err)), "startfail"
        self.pid = proc.pid
        log.info("pod %s/%s: started pid %d: %s", self.ns, self.pod_name, proc.pid, argv)
        running = {
            "phase": "Running",
            "startTime": self.started_at,
            "hostIP": config.HOST,
            "hostIPs": [{"ip": config.HOST}],
            "podIP": config.HOST,
            "podIPs": [{"ip": config.HOST}],
            "conditions": conditions(True),
        }
        self._patch({"running": {"startedAt": began}}, extra=running, pid=proc.pid)
        why = self._wait(proc, deadline)
        code = 128 - proc.returncode if proc.returncode < 0 else proc.returncode
        _signal_group(proc.pid, signal.SIGKILL)  # a container's other processes end with it
        out.write(f"--- {now()} exit code {code} ({why})\n".encode())
        out.flush()
        log.info("pod %s/%s: pid %d exited with %d (%s)", self.ns, self.pod_name, proc.pid, code, why)
        return terminated_state(code, began), why

    def _wait(self, proc: subprocess.Popen[Any], deadline: float | None) -> str:
        while proc.poll() is None:
            self._wake.wait(0.5)
            self._wake.clear()
            late = deadline is not None and time.monotonic() > deadline
            if not (self._stopping() or late):
                continue
            grace = self.delete_grace
            if grace is None:
                default = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
                grace = SHUTDOWN_GRACE if self.shutdown.is_set() else default
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=max(grace, 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            return "deadline" if late and not self._stopping() else "stop"
        return "exit"

    def _patch(
        self, state: JSON, *, phase: str | None = None, extra: JSON | None = None, pid: int | None = None
    ) -> None:
        cstatus = container_status(
            self.container,
            state,
            restarts=self.restarts,
            last=self.last,
            ready=pid is not None,
            container_id=f"proc://{pid}" if pid else None,
        )
        status: JSON = {**(extra or {}), "containerStatuses": [cstatus]}
        if phase:
            status["phase"] = phase
        try:
            self.kube.patch_status(self.ns, self.pod_name, status)
        except KubeError as err:
            log.warning("pod %s/%s: status patch failed: %s", self.ns, self.pod_name, err)

    def _terminal(self, phase: str, state: JSON, *, message: str = "", reason: str | None = None) -> None:
        if self.shutdown.is_set() and not message:
            message = "the node harness shut down"
        for attempt in range(5):
            try:
                report_terminal(
                    self.kube,
                    self.pod,
                    phase,
                    {"terminated": state},
                    message=message,
                    reason=reason,
                    restarts=self.restarts,
                    last=self.last,
                    container_id=f"proc://{self.pid}" if self.pid else None,
                )
                self._reported_terminal = True
                log.info("pod %s/%s: %s (exit code %s)", self.ns, self.pod_name, phase, state["exitCode"])
                return
            except KubeError as err:
                if err.status == 404:
                    return
                log.warning("pod %s/%s: terminal status failed (%s): %s", self.ns, self.pod_name, attempt, err)
                time.sleep(1 + attempt)
