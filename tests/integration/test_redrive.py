"""Dead letters redriven exactly once, on real Kafka and Redis (`spec.source.deadLetters`).

A replay dead-letters the events its schema refuses (a string amount); the rest are promoted. The
schema is fixed, and a redrive reads the replay's dead-letter topic: it promotes exactly the fixed
events, each once, carrying its origin (the original source record's coordinates); a second redrive
of the same dead letters writes nothing. A Kafka Connect dead-letter queue (`__connect.errors.*`
headers) is redriven the same way; a record in it without those headers is a dead letter again.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.step_tasks import EventIdSource
from eventreplay.worker.contract.tasks import Task
from support.kafka_tools import create_topic, read_topic, watermarks
from support.reconciliation_scenario import Scenario
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

PARTITIONS, EVENTS = 2, 60
STRICT = {"type": "object", "properties": {"amount": {"type": "integer"}}, "required": ["event_id", "amount"]}
FIXED = {"type": "object", "properties": {"amount": {"type": ["integer", "string"]}}, "required": ["event_id"]}


def _order(n: int) -> dict[str, Any]:
    return {"event_id": f"e-{n:03d}", "amount": str(n) if n % 5 == 0 else n}


def _replay(steps: StepDriver, source: str, uid: str, sandbox: str, schema: dict[str, Any], **update: Any) -> Task:
    """Every partition of `source` replayed into `sandbox`; the last partition's task."""
    ends = watermarks(steps.bootstrap, source, PARTITIONS)
    for p, (_low, high) in enumerate(ends):
        task = make_task(steps.bootstrap, source, uid, high, partition=p, sandbox=sandbox, schema=schema)
        task = task.model_copy(update={"source": task.source.model_copy(update=update)})
        done = run_worker(task, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    return task


def _promote(steps: StepDriver, sc: Scenario) -> tuple[dict[str, int], int]:
    """Reconciled by the id field against the whole destination, then promoted: counts and written."""
    ends = watermarks(steps.bootstrap, sc.destination, PARTITIONS)
    whole = [{"partition": p, "startOffset": 0, "endOffset": high} for p, (_, high) in enumerate(ends)]
    task = steps.reconcile_task(sc, offsets=whole)
    task = task.model_copy(update={"event_id": EventIdSource(source="valueField", field="event_id")})
    done = steps.run_job(task)
    assert done.returncode == 0, done.stderr[-3000:]
    report = orjson.loads(done.stdout)
    return report["report"]["counts"], steps.promoted(sc, report["reportHash"])["written"]


def _scenario(steps: StepDriver, name: str, source: str, destination: str) -> Scenario:
    now = int(time.time() * 1000)
    sc = Scenario(f"{steps.unique}{name}", source, f"{source}-{name}-sb", destination, now - 600_000, now)
    create_topic(steps.admin, sc.sandbox, PARTITIONS)
    return sc


def test_a_redrive_promotes_exactly_the_fixed_dead_letters_once(steps: StepDriver, kafka_bootstrap: str) -> None:
    u = steps.unique
    source, destination = f"rd-src-{u}", f"rd-dst-{u}"
    for topic in (source, destination):
        create_topic(steps.admin, topic, PARTITIONS)
    producer = Producer({"bootstrap.servers": steps.bootstrap, "enable.idempotence": True})
    for n in range(EVENTS):
        producer.produce(source, orjson.dumps(_order(n)), f"k{n}".encode(), n % PARTITIONS)
    assert producer.flush(60) == 0
    placed = {f"e-{n:03d}": (n % PARTITIONS, n // PARTITIONS) for n in range(EVENTS)}

    first = _scenario(steps, "first", source, destination)
    replay = _replay(steps, source, first.uid, first.sandbox, STRICT)
    refused = {f"e-{n:03d}" for n in range(EVENTS) if n % 5 == 0}
    assert _promote(steps, first)[1] == EVENTS - len(refused)
    dlq = replay.output.dead_letter_topic

    for name, written in (("redrive", len(refused)), ("again", 0)):
        sc = _scenario(steps, name, dlq, destination)
        _replay(steps, dlq, sc.uid, sc.sandbox, FIXED, dead_letters="eventReplay")
        counts, promoted = _promote(steps, sc)
        assert (counts["replayedIds"], promoted) == (len(refused), written), (name, counts)

    records = [r for _, r in read_topic(kafka_bootstrap, destination, PARTITIONS)]
    ids = [orjson.loads(r.value or b"")["event_id"] for r in records]
    assert sorted(ids) == sorted(placed), "every event in the destination exactly once"
    for record in records:
        event_id = orjson.loads(record.value or b"")["event_id"]
        if event_id in refused:
            partition, offset = placed[event_id]
            names = ("er-origin-topic", "er-origin-partition", "er-origin-offset")
            assert tuple(record.headers[name] for name in names) == (
                source.encode(),
                str(partition).encode(),
                str(offset).encode(),
            ), "a redriven record names the source record it was first read from"
            assert record.headers["er-source-topic"] == dlq.encode()
        else:
            assert "er-origin-topic" not in record.headers


def test_a_connect_dead_letter_queue_is_redriven_the_same_way(steps: StepDriver, kafka_bootstrap: str) -> None:
    u = steps.unique
    dlq, destination = f"rd-connect-dlq-{u}", f"rd-connect-dst-{u}"
    for topic in (dlq, destination):
        create_topic(steps.admin, topic, PARTITIONS)
    producer = Producer({"bootstrap.servers": steps.bootstrap, "enable.idempotence": True})
    for n in range(20):
        connect = [
            ("__connect.errors.topic", b"payments"),
            ("__connect.errors.partition", b"4"),
            ("__connect.errors.offset", str(1000 + n).encode()),
            ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
        ]
        headers = connect if n != 7 else []  # one record that never came from Connect
        producer.produce(dlq, orjson.dumps(_order(n)), None, n % PARTITIONS, headers=headers)
    assert producer.flush(60) == 0

    sc = _scenario(steps, "connect", dlq, destination)
    task = _replay(steps, dlq, sc.uid, sc.sandbox, FIXED, dead_letters="connect")
    dead = [r for _, r in read_topic(kafka_bootstrap, task.output.dead_letter_topic, PARTITIONS)]
    assert [(r.headers["er-reason"], orjson.loads(r.value or b"")["event_id"]) for r in dead] == [(b"origin", "e-007")]
    assert _promote(steps, sc)[1] == 19
    offsets = sorted(
        int(r.headers["er-origin-offset"]) for _, r in read_topic(kafka_bootstrap, destination, PARTITIONS)
    )
    assert offsets == [1000 + n for n in range(20) if n != 7]
