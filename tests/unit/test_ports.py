"""The unit tests' fakes stand for the operator's ports (`operator/clients.py`): mypy checks this
module (pyproject's `modules`), so a fake whose methods drift from a port fails type-checking, and
at run time each fake has every method its port names."""

from __future__ import annotations

import inspect

import pytest
from operator_fake_backends import FakeCheckpoints, FakeKafka
from operator_fakes import FakeKube, World
from watch_fakes import FakeWatchKube

from eventreplay.operator.clients import CheckpointPort, KafkaPort, KubePort
from eventreplay.operator.watch.kube import WatchKube, WatchKubePort

KUBE: KubePort = FakeKube(None)
WATCH_KUBE: WatchKubePort = FakeWatchKube(None)
KAFKA: KafkaPort = FakeKafka()
CHECKPOINTS: CheckpointPort = FakeCheckpoints()


def members(port: type) -> list[str]:
    return [name for name, _ in inspect.getmembers(port, inspect.isfunction) if not name.startswith("_")]


@pytest.mark.parametrize(
    ("port", "fake"),
    [
        (KubePort, FakeKube),
        (KafkaPort, FakeKafka),
        (CheckpointPort, FakeCheckpoints),
        (WatchKubePort, FakeWatchKube),
        (WatchKubePort, WatchKube),
    ],
)
def test_each_fake_has_its_ports_methods_with_the_same_parameters(port: type, fake: type) -> None:
    for name in members(port):
        wanted = list(inspect.signature(getattr(port, name)).parameters)
        assert list(inspect.signature(getattr(fake, name)).parameters) == wanted, f"{fake.__name__}.{name}"


def test_the_world_wires_its_fakes_as_the_clients() -> None:
    world = World()
    world.sync()
    assert world.clients is not None
    assert (world.clients.kube, world.clients.kafka, world.clients.checkpoints) == (
        world.kube,
        world.kafka,
        world.checkpoints,
    )
