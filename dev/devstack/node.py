"""The node harness as a stack component: a Python process standing in for kubelet and scheduler."""

from __future__ import annotations

import json
import sys
import time

from . import config, procs
from .component import Component
from .node_harness import NODE_NAME, ready_file

__all__ = ["NODE_NAME", "NodeHarness"]


class NodeHarness(Component):
    name = "node-harness"
    marker = "devstack.node_harness"
    start_timeout = 60.0

    def install(self) -> None:
        """Nothing to build: it runs from this package with the virtualenv's Python."""

    def launch(self) -> None:
        ready_file().unlink(missing_ok=True)
        procs.start(
            self.name,
            [sys.executable, "-m", self.marker, "--kubeconfig", str(config.kubeconfig_path())],
            cwd=config.REPO / "dev",
            env={"PYTHONPATH": str(config.REPO / "dev")},  # works with PYTHONSAFEPATH set (make does)
        )

    def healthy(self) -> bool:
        """Ready file written by this very process after a heartbeat within the last 45 s."""
        path = ready_file()
        pid = self.pid()
        if pid is None or not path.exists():
            return False
        return json.loads(path.read_text()).get("pid") == pid and time.time() - path.stat().st_mtime < 45
