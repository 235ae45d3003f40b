"""`make demo`'s script end to end on the real stack: its printed figures equal the seeded truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from devstack import config

pytestmark = pytest.mark.stack


def test_demo_reports_the_seeded_truth(local_stack: dict[str, str], kube_api: Any) -> None:
    done = subprocess.run(
        [sys.executable, str(config.REPO / "examples" / "demo.py"), "--per-partition", "3000", "--timeout", "600"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PYTHONSAFEPATH": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    checks = summary["checks"]
    assert set(checks) >= {"emitted", "unchanged", "changed", "missing", "extra", "promoted"}
    for name, (expected, reported) in checks.items():
        assert expected == reported, name
    assert checks["promoted"][0] == checks["changed"][0] + checks["missing"][0] > 0
    for step in ("[1/6]", "[4/6] reconciliation report", "[5/6] approving", "[6/6] promotion summary"):
        assert step in done.stdout
