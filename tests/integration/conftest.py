"""Fixtures shared by the integration modules: the Kubernetes client with the CRD installed."""

from __future__ import annotations

import pytest
from operator_helpers import install_crd, kube

from eventreplay.operator.kube import Kube


@pytest.fixture(scope="module")
def k(local_stack: dict[str, str]) -> Kube:
    """The admin client of the local control plane, once the generated CRD is Established."""
    client = kube()
    install_crd(client)
    return client
