"""Fixtures shared by the integration modules: the Kubernetes client with the CRD installed, the drivers,
the gap watches' path, and the schema registry's client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from devstack import config
from eventreplay.operator import crdgen
from eventreplay.operator.kube import MERGE, Kube, KubeError
from support.chart_render import ChartDriver
from support.listener import Listener
from support.operator_driver import OperatorDriver, install_crd, kube
from support.replay_faults import FaultReplay, FaultyRun, replay_through
from support.step_driver import StepDriver


@pytest.fixture(scope="module")
def k(local_stack: dict[str, str]) -> Kube:
    """The admin client of the local control plane, once the generated CRD is Established."""
    client = kube()
    install_crd(client)
    return client


@pytest.fixture
def driver(k: Kube, namespace: str, tmp_path: Path) -> OperatorDriver:
    """The test's namespace on the local control plane: its replays, and the operator run for them."""
    return OperatorDriver(k, namespace, tmp_path)


@pytest.fixture
def watches(k: Kube, driver: OperatorDriver) -> Iterator[str]:
    """The EventReplayWatches' path in the test's namespace, with their CRD installed; emptied afterwards."""
    install_crd(k, crdgen.WATCH)
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{driver.namespace}/eventreplaywatches"
    yield path
    for item in k.call("GET", path).get("items") or []:
        name = item["metadata"]["name"]
        k.call("PATCH", f"{path}/{name}", {"metadata": {"finalizers": None}}, content_type=MERGE)
        try:
            k.call("DELETE", f"{path}/{name}")
        except KubeError as err:
            if err.status != 404:
                raise


@pytest.fixture(scope="session")
def chart(helm: Path) -> ChartDriver:
    """The Helm chart rendered (or linted) by the helm binary built from source."""
    return ChartDriver(helm)


@pytest.fixture
def steps(kafka_bootstrap: str, kafka_admin: Any, unique: str) -> StepDriver:
    """Reconciliation scenarios on the local Kafka, and the reconcile and promote Jobs run against them."""
    return StepDriver(kafka_bootstrap, kafka_admin, unique)


@pytest.fixture
def replay_with(kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path) -> FaultReplay:
    """replay_with(fault, outage): an undisturbed run, then the same range replayed again through `outage`."""

    def through(fault: str, outage: Callable[[], None]) -> FaultyRun:
        return replay_through(
            fault, outage, kafka_admin, kafka_bootstrap, redis_client, unique=unique, tmp_path=tmp_path
        )

    return through


@pytest.fixture(scope="module")
def registry(local_stack: dict[str, str]) -> SchemaRegistryClient:
    """The client of the schema registry the stack started (confluent-kafka's own)."""
    assert local_stack["EVENTREPLAY_SCHEMA_REGISTRY_URL"] == config.registry_url()
    return SchemaRegistryClient({"url": config.registry_url()})


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A fake TCP endpoint on 127.0.0.1 that records every connection and byte (support/listener.py)."""
    fake = Listener()
    yield fake
    fake.close()
