"""The schema registry goes away mid-replay of an Avro topic (issue 27): retried, and the outcome is
the undisturbed run's or a loud failure; nothing lost, nothing doubled.

The topic holds three schema versions (three ids) in runs, so the worker must fetch the second id
mid-replay, after its first commit. The worker reaches the real registry through a proxy
(`support/registry_cut.py`) that cuts it exactly when that second id is asked for: the shared
registry itself is never stopped. Compared with an undisturbed run: digest, counts, sandbox and
dead-letter bytes (`support/replay_faults.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

from devstack import config
from eventreplay.worker.contract.exit_codes import EXIT_RETRIABLE
from eventreplay.worker.contract.tasks import Task, ValueFormat
from support.fault_log import FAILED_LOUDLY, IDENTICAL
from support.kafka_tools import create_topic
from support.registry_cut import RegistryCut
from support.replay_faults import CleanRun, committed_offset, counts, finish, judge, outputs
from support.schema_registry import avro_order, serialized
from support.worker_run import make_task, mirrored_checkpoint, run_worker, start_worker

pytestmark = pytest.mark.stack

VERSIONS = [  # (first offset, the fields the version adds): each version its own schema id
    (0, []),
    (1500, [{"name": "channel", "type": "string", "default": "web"}]),
    (2300, [{"name": "channel", "type": "string", "default": "web"}, {"name": "qty", "type": "long", "default": 1}]),
]
RECORDS = 3000
SECOND_ID_AT = VERSIONS[1][0]
"""The first record whose schema id the worker has not fetched when the registry goes away."""


def _seed(registry: SchemaRegistryClient, bootstrap: str, admin: AdminClient, topic: str) -> None:
    create_topic(admin, topic, 1)
    bounds = [first for first, _ in VERSIONS[1:]] + [RECORDS]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for (first, fields), end in zip(VERSIONS, bounds, strict=True):
        serializer = AvroSerializer(registry, json.dumps(avro_order(*fields)))
        extra = {f["name"]: f["default"] for f in fields}
        orders = [{"id": f"o-{i}", "amount": i, "note": None, **extra} for i in range(first, end)]
        for i, value in enumerate(serialized(serializer, topic, orders), start=first):
            producer.produce(topic, value, f"cust-{i}".encode(), 0)
    assert producer.flush(30) == 0


def _task(bootstrap: str, topic: str, uid: str, registry_url: str, budget: float) -> Task:
    task = make_task(
        bootstrap, topic, uid, RECORDS, batch_size=100, transaction_max_records=200, retry_budget_seconds=budget
    )
    fmt = ValueFormat.model_validate({"format": "avro", "schemaRegistry": {"url": registry_url}})
    validation = task.validation.model_copy(update={"event_id_field": "key"})
    return task.model_copy(update={"source_format": fmt, "validation": validation})


@pytest.fixture
def clean(
    registry: SchemaRegistryClient, kafka_admin: AdminClient, kafka_bootstrap: str, redis_client: Any, unique: str
) -> CleanRun:
    """The Avro topic and an undisturbed replay of it, straight to the registry."""
    topic = f"registry-outage-{unique}"
    _seed(registry, kafka_bootstrap, kafka_admin, topic)
    task = _task(kafka_bootstrap, topic, f"{unique}c", config.registry_url(), 60)
    done = run_worker(task, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = mirrored_checkpoint(redis_client, task.replay.uid)
    assert ckpt is not None and ckpt.state == "done" and ckpt.emitted == RECORDS
    return CleanRun(topic, ckpt, outputs(kafka_bootstrap, task))


@pytest.fixture
def cut() -> Iterator[RegistryCut]:
    """The registry as the worker sees it: gone once the worker asks for a second schema id."""
    proxy = RegistryCut(config.registry_url(), allow_ids=1)
    yield proxy
    proxy.close()


def _wait_for(condition: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.1)


def test_a_registry_back_within_the_retry_budget_gives_the_undisturbed_output(
    *, clean: CleanRun, cut: RegistryCut, kafka_admin: AdminClient, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    task = _task(kafka_bootstrap, clean.topic, unique, cut.url, 120)
    proc = start_worker(task)
    # The client's own retries of one request (1 + 3), then at least one more: the Job's retry.
    _wait_for(lambda: cut.refused >= 5 or proc.poll() is not None, "retried fetch while the registry is cut")
    assert proc.poll() is None, "the worker ended before the registry came back"
    mirror = mirrored_checkpoint(redis_client, unique)
    assert mirror is not None and 0 < mirror.committed_offset <= SECOND_ID_AT, "cut mid-replay, after a commit"
    cut.restore()
    stderr = finish(proc, timeout=300)
    committed = committed_offset(kafka_admin, task)
    outcome = judge("registry-outage-mid-replay", proc.returncode, outputs(kafka_bootstrap, task), clean, committed)
    assert proc.returncode == 0, stderr[-3000:]
    assert "retrying in" in stderr and "schema registry" in stderr, "the outage was retried in-process"
    mirror = mirrored_checkpoint(redis_client, unique)
    assert mirror is not None and counts(mirror) == counts(clean.checkpoint)
    assert mirror.digest == clean.checkpoint.digest
    assert outcome == IDENTICAL, "nothing lost, nothing doubled"


def test_a_registry_that_stays_away_fails_loudly_and_a_rerun_completes_identically(
    *, clean: CleanRun, cut: RegistryCut, kafka_admin: AdminClient, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    task = _task(kafka_bootstrap, clean.topic, unique, cut.url, 5)
    done = run_worker(task, timeout=300)
    assert done.returncode == EXIT_RETRIABLE, done.stderr[-3000:]
    assert "schema registry unreachable" in done.stderr.splitlines()[-1], done.stderr[-3000:]
    committed = committed_offset(kafka_admin, task)
    assert 0 < committed <= SECOND_ID_AT, "the checkpoint never passes a record it could not decode"
    mirror = mirrored_checkpoint(redis_client, unique)
    assert mirror is not None and mirror.state != "done" and mirror.committed_offset == committed
    outcome = judge("registry-gone-mid-replay", done.returncode, outputs(kafka_bootstrap, task), clean, committed)
    assert outcome == FAILED_LOUDLY, "the committed output is the undisturbed run's, up to the checkpoint"

    cut.restore()
    rerun = run_worker(task, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    mirror = mirrored_checkpoint(redis_client, unique)
    assert mirror is not None and counts(mirror) == counts(clean.checkpoint)
    assert mirror.digest == clean.checkpoint.digest
    rerun_outcome = judge("registry-back-after-failure", 0, outputs(kafka_bootstrap, task), clean, RECORDS)
    assert rerun_outcome == IDENTICAL, "nothing lost, nothing doubled"
