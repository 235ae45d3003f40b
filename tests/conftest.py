"""Session fixtures: the real local stack (Kafka, Redis, Kubernetes control plane + node harness).

The stack is brought up once per session (or attached to when it already runs). A component
that cannot start fails the session with the tail of its log; nothing is silently skipped.
Tests that need a Docker engine (pytest-kind) are marked `kind` and skip with a stated reason.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import config, procs, stack


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("kind" in item.keywords for item in items) and not _docker_engine():
        skip = pytest.mark.skip(reason="no Docker engine (`docker info` fails): kind cannot create a cluster")
        for item in items:
            if "kind" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def local_stack() -> dict[str, str]:
    """Bring every component up (idempotent); fail with the broken component's log tail."""
    try:
        stack.up(verbose=False)
    except procs.ComponentError as err:
        pytest.fail(f"the local stack did not come up: {err}", pytrace=False)
    return stack.env()


@pytest.fixture(scope="session")
def real_node(local_stack: dict[str, str]) -> dict[str, str]:
    """The real node too (containerd + kubelet, `dev/stack up node`); fail with the log tail."""
    try:
        stack.up(["node"], verbose=False)
    except procs.ComponentError as err:
        pytest.fail(f"the real node did not come up: {err}", pytrace=False)
    return stack.env()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_stack: dict[str, str]) -> str:
    return config.kafka_bootstrap()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def kafka_producer(kafka_bootstrap: str) -> Iterator[Any]:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5})
    yield producer
    producer.flush(30)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic names, ledger prefixes and namespaces."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def redis_client(local_stack: dict[str, str]) -> Any:
    import redis

    return redis.Redis.from_url(config.redis_url())


@pytest.fixture(scope="session")
def kube_api(local_stack: dict[str, str]) -> Any:
    """A kubernetes ApiClient for the admin kubeconfig of the local control plane."""
    from kubernetes import config as kconfig

    return kconfig.new_client_from_config(config_file=str(config.kubeconfig_path()))


@pytest.fixture
def namespace(kube_api: Any, unique: str) -> Iterator[str]:
    """A fresh namespace, deleted after the test (its Jobs and pods go with it)."""
    from kubernetes import client

    core = client.CoreV1Api(kube_api)
    name = f"t-{unique}"
    core.create_namespace({"metadata": {"name": name, "labels": {"eventreplay.io/test": "true"}}})
    yield name
    core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm binary, built from its Go module by dev/helm/build.sh (cached)."""
    out = subprocess.run(["bash", str(config.REPO / "dev" / "helm" / "build.sh")], capture_output=True, text=True)
    assert out.returncode == 0, f"building helm failed: {out.stderr[-2000:]}"
    return Path(out.stdout.strip().splitlines()[-1])
