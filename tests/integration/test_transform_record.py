"""`spec.sink.key: transform` on real Kafka and Redis: a registered transform (installed the way an
image installs one) returns a `Record` per event: the corrected value, the customer key and a header.
The replay is reconciled by event id and promoted into an empty sink: every promoted record carries
the transform's key and header, the source's kept headers and timestamp, and sits in the partition
Kafka's own Java producer puts its key in. An event the transform returns a plain dict for is a
`transform` dead letter, never promoted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.step_tasks import EventIdSource
from support.java_producer import java_produce
from support.kafka_tools import create_topic, read_topic
from support.plugins import register
from support.reconciliation_scenario import Scenario
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker, worker_env

pytestmark = pytest.mark.stack

PARTITIONS, SINK_PARTITIONS, EVENTS, NOT_A_RECORD = 2, 4, 40, 17
PLUGIN = f"""
from eventreplay.worker.contract.transform_record import Record


def fix(order):
    if order["n"] == {NOT_A_RECORD}:
        return {{"forgot": "the record"}}
    fixed = {{**order, "vat": order["n"] * 2}}
    return Record(value=fixed, key="cust-%d" % (order["n"] % 7), headers=[("fixed-by", "er-test")])
"""


def test_a_transforms_record_is_promoted_with_its_key_headers_and_java_partition(
    steps: StepDriver, kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "er_fixes.py").write_text(PLUGIN)
    register(tmp_path, transforms=["er_fixes:fix"])
    u, base_ms = steps.unique, int(time.time() * 1000) - 3600_000
    sc = Scenario(u, f"rec-src-{u}", f"rec-src-{u}-sb", f"rec-dst-{u}", base_ms, base_ms + 60_000)
    for topic in (sc.source, sc.sandbox):
        create_topic(steps.admin, topic, PARTITIONS)
    create_topic(steps.admin, sc.destination, SINK_PARTITIONS)
    producer = Producer({"bootstrap.servers": steps.bootstrap, "enable.idempotence": True})
    for n in range(EVENTS):
        value = orjson.dumps({"event_id": f"e-{n:02d}", "n": n})
        headers = [("trace-id", f"t{n}".encode())]
        producer.produce(sc.source, value, b"source-key", n % PARTITIONS, headers=headers, timestamp=base_ms + n)
    assert producer.flush(60) == 0

    shape = {"key": "transform", "headers": {"allow": ["trace-id"]}, "timestamp": "source"}  # as resolved
    for p in range(PARTITIONS):
        task = make_task(
            steps.bootstrap, sc.source, u, EVENTS // PARTITIONS, partition=p, sandbox=sc.sandbox, sink=shape
        )
        task = task.model_copy(update={"transform": task.transform.model_copy(update={"function": "er_fixes:fix"})})
        paths = [str(tmp_path), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**worker_env(task), "PYTHONPATH": os.pathsep.join(paths)}  # the image's site-packages
        done = run_worker(task, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    dead = [r for _, r in read_topic(kafka_bootstrap, task.output.dead_letter_topic, PARTITIONS)]
    assert [(r.headers["er-reason"], orjson.loads(r.value or b"")["n"]) for r in dead] == [(b"transform", NOT_A_RECORD)]

    reconcile = steps.reconcile_task(
        sc, offsets=[{"partition": p, "startOffset": 0, "endOffset": 0} for p in range(SINK_PARTITIONS)]
    )
    reconcile = reconcile.model_copy(update={"event_id": EventIdSource(source="valueField", field="event_id")})
    reconciled = steps.run_job(reconcile)
    assert reconciled.returncode == 0, reconciled.stderr[-3000:]
    report = orjson.loads(reconciled.stdout)
    assert report["report"]["counts"]["missing"] == EVENTS - 1
    assert steps.promoted(sc, report["reportHash"])["written"] == EVENTS - 1

    keys = sorted({f"cust-{n % 7}" for n in range(EVENTS)})
    probe = f"{sc.destination}-probe"  # a topic of the sink's partition count: where Java puts each key
    create_topic(steps.admin, probe, SINK_PARTITIONS)
    java = java_produce(kafka_bootstrap, probe, [(k, "{}") for k in keys])
    promoted = read_topic(kafka_bootstrap, sc.destination, SINK_PARTITIONS)
    assert len(promoted) == EVENTS - 1
    for partition, rec in promoted:
        order = orjson.loads(rec.value or b"")
        n = order["n"]
        assert order["vat"] == 2 * n and rec.key == f"cust-{n % 7}".encode()
        assert (rec.headers["fixed-by"], rec.headers["trace-id"], rec.timestamp_ms) == (
            b"er-test",
            f"t{n}".encode(),
            base_ms + n,
        )
        assert partition == java[f"cust-{n % 7}"], (
            f"cust-{n % 7} is in {partition}, Java put it in {java[f'cust-{n % 7}']}"
        )
