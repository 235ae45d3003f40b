"""Status size at 1,000 partitions (the API server's object limit is far above, etcd's 1.5 MiB
request limit is shared by spec and status): the whole status stays under 256 KiB, and a pass
where nothing changed patches nothing."""

from __future__ import annotations

import copy
import json

from operator_fake_backends import FakeKafka
from operator_fakes import FakeKube, World, checkpoint, replay
from operator_fixtures import operator_config
from prometheus_client import REGISTRY

from eventreplay.worker.contract.checkpoints import Checkpoint

LIMIT = 256 * 1024


def thousand() -> World:
    world = World(kube=FakeKube(replay(worker={"parallelism": 1000})), kafka=FakeKafka(partitions=1000, high=10))
    world.sync()
    return world


def test_a_thousand_partition_status_stays_under_256_kib() -> None:
    world = thousand()
    assert len(world.kube.created) == 1000
    for p in range(1000):
        world.checkpoints.checkpoints[p] = checkpoint(p, 5, end=10, emitted=4, dead_lettered=1, reasons={"schema": 1})
    world.sync()
    size = len(json.dumps(world.status))
    assert len(world.status["partitions"]) == 1000
    assert size < LIMIT, f"{size} bytes"


def test_an_unchanged_pass_patches_nothing() -> None:
    world = thousand()
    world.sync()
    patches = len(world.kube.patches)
    world.sync()
    assert len(world.kube.patches) == patches


def _progress(p: int, committed: int) -> Checkpoint:
    return checkpoint(p, committed, end=10, emitted=committed)


def test_one_partitions_progress_patches_that_entry_not_the_list() -> None:
    world = thousand()
    world.checkpoints.checkpoints = {p: _progress(p, 5) for p in range(1000)}
    world.sync()
    full = copy.deepcopy(world.status)
    world.checkpoints.checkpoints[7] = _progress(7, 6)
    before = len(world.kube.patches)
    world.sync()
    [patch] = world.kube.patches[before:]
    ops = patch["jsonPatch"]
    assert [op["path"] for op in ops if op["path"].startswith("/status/partitions")] == [
        "/status/partitions/7/partition",
        "/status/partitions/7",
    ]
    assert len(json.dumps(ops)) < 4096  # the merge patch re-sent the list: ~125 KB
    assert world.status["partitions"][7]["committedOffset"] == 6
    assert world.status["partitions"][:7] == full["partitions"][:7]


def test_metric_series_of_a_deleted_replay_are_removed() -> None:
    world = thousand()
    world.checkpoints.checkpoints = {p: _progress(p, 5) for p in range(1000)}
    world.sync()
    series = lambda: sum(  # noqa: E731
        1
        for m in REGISTRY.collect()
        for s in m.samples
        if s.labels.get("replay") == "r" and s.labels.get("namespace") == "ns"
    )
    assert series() >= 5000
    world.kube.obj = None
    world.sync()
    assert series() == 0


def test_a_deleted_replay_leaves_no_per_process_memory() -> None:
    world = thousand()
    assert world.clients is not None
    assert "ns/r" in world.clients.locks and "u-1" in world.clients.ensured_topics
    assert world.kube.obj is not None
    world.kube.obj["metadata"]["deletionTimestamp"] = "2026-11-20T12:00:00Z"
    world.sync()
    assert world.clients.locks == {} and world.clients.ensured_topics == set()


def _replayed(retained: int | None, **spec: object) -> World:
    world = World(kube=FakeKube(replay(**spec)))
    world.kafka.retained = retained
    world.config = operator_config(max_unbounded_existing_records=1000)
    world.sync()
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    world.sync()
    return world


def test_an_offsets_window_over_a_large_destination_refuses_to_reconcile_it_whole() -> None:
    world = _replayed(5000)
    assert "r-reconcile" not in world.kube.jobs
    assert world.condition("Stalled") == ("True", "ExistingOutputUnbounded")
    assert world.condition("Reconciled") == ("False", "ExistingOutputUnbounded")
    ready = next(c for c in world.status["conditions"] if c["type"] == "Ready")
    assert "5000 records > 1000" in ready["message"] and "existingOffsets" in ready["message"]


def test_a_small_destination_or_an_explicit_window_reconciles() -> None:
    assert "r-reconcile" in _replayed(1000).kube.jobs
    explicit = {"existingOffsets": [{"partition": 0, "from": 0, "to": 10}]}
    assert "r-reconcile" in _replayed(5000, reconciliation=explicit).kube.jobs
