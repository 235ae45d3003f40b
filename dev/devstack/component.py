"""The shape every stack component shares, so `stack up|down|status` treats them alike."""

from __future__ import annotations

import abc

from . import procs


class Component(abc.ABC):
    name: str
    #: A string that appears in the component's command line (guards against stale pid files).
    marker: str
    #: Seconds `up` waits for readiness before it fails with the log tail.
    start_timeout: float = 60.0
    #: Optional components (the real node) start only when named: `dev/stack up node`.
    optional: bool = False

    @abc.abstractmethod
    def install(self) -> None:
        """Install or build what the component needs; cached, so cheap when done before."""

    @abc.abstractmethod
    def launch(self) -> None:
        """Start the process (called only when it is not running)."""

    @abc.abstractmethod
    def healthy(self) -> bool:
        """True when the component answers as it should."""

    def env(self) -> dict[str, str]:
        """Variables a client needs to reach the component."""
        return {}

    def pid(self) -> int | None:
        return procs.running_pid(self.name, self.marker)

    def up(self) -> bool:
        """Start unless already running and healthy. Returns True if it started a process."""
        if self.pid() is not None:
            procs.wait_until(self.name, self.marker, self.healthy, self.start_timeout, "healthy")
            return False
        self.install()
        self.launch()
        procs.wait_until(self.name, self.marker, self.healthy, self.start_timeout, "healthy")
        return True

    def down(self) -> bool:
        return procs.stop(self.name, self.marker)
