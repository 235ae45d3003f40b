"""The API on a real kind cluster (pytest-kind), where a Docker engine exists: a laptop or hosted CI.

Here (no Docker engine) conftest skips these with the reason; the same CRD and examples are
exercised against the local control plane by tests/integration/test_operator_api.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import config

pytestmark = pytest.mark.kind


def test_crd_and_examples_apply_on_kind(kind_cluster: Any, tmp_path: Path) -> None:
    kind_cluster.kubectl("apply", "--server-side", "-f", str(config.REPO / "crds"))
    kind_cluster.kubectl("wait", "--for=condition=Established", "crd/eventreplays.eventreplay.io", "--timeout=60s")
    for manifest in sorted((config.REPO / "examples").glob("*.yaml")):
        namespace = manifest.read_text().split("namespace:", 1)[1].split()[0]
        ns_file = tmp_path / f"{namespace}.yaml"
        ns_file.write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n")
        kind_cluster.kubectl("apply", "-f", str(ns_file))
        kind_cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(manifest))
