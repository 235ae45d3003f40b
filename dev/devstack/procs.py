"""Background processes with pid files: start once, find again, stop for good.

Each component runs in its own session (process group) so `down` can kill it with its
children. A pid file alone is not trusted: the pid must be alive and its command line must
still name the component, or the file is stale.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import config


class ComponentError(RuntimeError):
    """A component failed to start; the message carries the tail of its log."""


def pid_file(name: str) -> Path:
    return config.state_dir() / "run" / f"{name}.pid"


def log_file(name: str) -> Path:
    return config.log_dir() / f"{name}.log"


def log_tail(name: str, lines: int = 40) -> str:
    path = log_file(name)
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running_pid(name: str, marker: str) -> int | None:
    """The pid of the component if it runs; `marker` must appear in its command line."""
    path = pid_file(name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    line = _cmdline(pid)
    # An empty command line is a process in the middle of exec (the java launcher re-execs).
    return pid if not line or marker in line else None


def start(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start argv detached in its own session, output appended to the component's log."""
    config.log_dir().mkdir(parents=True, exist_ok=True)
    pid_file(name).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file(name), "ab") as log:
        log.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_file(name).write_text(str(proc.pid))
    return proc.pid


def stop(name: str, marker: str, timeout: float = 20.0) -> bool:
    """SIGTERM the component's process group, SIGKILL after `timeout`. True if it was running."""
    pid = running_pid(name, marker)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port: int, host: str = config.HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(
    name: str,
    marker: str,
    ready: Callable[[], bool],
    timeout: float,
    what: str,
) -> None:
    """Poll `ready` until true; fail with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - any failure of a probe means "not ready yet"
            pass
        if running_pid(name, marker) is None:
            raise ComponentError(f"{name} exited before {what}; last log lines:\n{log_tail(name)}")
        time.sleep(0.2)
    raise ComponentError(f"{name}: {what} not reached in {timeout:.0f}s; last log lines:\n{log_tail(name)}")


def unmount_under(root: Path) -> list[str]:
    """Lazily unmount every mount point at or below `root`, deepest first (a stopped kubelet or
    containerd leaves its pods' volume and rootfs mounts behind, which keep `rm -rf` of the state
    folder and the next start from working). Returns what was unmounted."""
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        # The kernel escapes blanks in mount points as octal (\\040).
        point = line.split()[1].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    return points
