"""Fixtures shared by the integration modules: the Kubernetes client with the CRD installed, helm."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from operator_helpers import install_crd, kube

from devstack import config
from eventreplay.operator.kube import Kube


@pytest.fixture(scope="module")
def k(local_stack: dict[str, str]) -> Kube:
    """The admin client of the local control plane, once the generated CRD is Established."""
    client = kube()
    install_crd(client)
    return client


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm binary, built from its Go module by dev/helm/build.sh (cached)."""
    out = subprocess.run(["bash", str(config.REPO / "dev" / "helm" / "build.sh")], capture_output=True, text=True)
    assert out.returncode == 0, f"building helm failed: {out.stderr[-2000:]}"
    return Path(out.stdout.strip().splitlines()[-1])
