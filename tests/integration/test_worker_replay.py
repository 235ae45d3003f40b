"""The worker against real Kafka and Redis: exact buckets, sandbox content, dead-letter headers."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from datagen.orders import MESSY, ORDER_SCHEMA
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from eventreplay.worker.ledger import ProductionLedger
from eventreplay.worker.runtime import digest
from support.kafka_tools import create_topic, read_partition, seed_orders
from support.oracle import replay
from support.worker_run import REDIS_URL, TASK_NAMESPACE, make_task, orders_task, run_worker

pytestmark = pytest.mark.stack


def _seed(kafka_admin: Any, bootstrap: str, topic: str, count: int, seed: int = 11) -> list[Any]:
    return seed_orders(kafka_admin, bootstrap, topic, count, seed=seed, mix=MESSY)


def test_buckets_and_sandbox_equal_the_known_truth(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"orders-{unique}"
    records = _seed(kafka_admin, kafka_bootstrap, topic, 6000)
    task = orders_task(kafka_bootstrap, topic, unique, records, batch_size=250, transaction_max_records=1000)
    done = run_worker(task)
    assert done.returncode == 0, done.stderr

    truth = replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA)
    # The generator's own labels agree with the oracle (the seeded truth is what we think it is).
    assert truth.duplicate == sum(r.kind == "dup" for r in records)
    assert len(truth.emitted) == sum(r.kind == "ok" for r in records)

    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert ckpt.state == "done"
    assert ckpt.committed_offset == len(records)
    assert (ckpt.emitted, ckpt.duplicate, ckpt.processed) == (len(truth.emitted), truth.duplicate, 0)
    assert ckpt.reasons == dict(truth.reasons)
    assert ckpt.records == len(records)
    assert ckpt.digest == truth.digest
    assert json.loads(done.stdout)["digest"] == truth.digest

    sandbox = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert [(r.key, r.value) for r in sandbox] == truth.emitted
    first = sandbox[0]
    assert first.headers["er-source-topic"] == topic.encode()
    assert first.headers["er-source-partition"] == b"0"
    assert first.headers["er-replay-uid"] == unique.encode()
    assert int(first.headers["er-source-offset"]) == next(i for i, r in enumerate(records) if r.kind == "ok")
    # Anyone can recompute the digest from the sandbox alone.
    from_sandbox = [(int(r.headers["er-source-offset"]), r.key or b"", r.value or b"") for r in sandbox]
    assert digest.block_chain(from_sandbox).hex() == ckpt.digest

    dead = read_partition(kafka_bootstrap, task.output.dead_letter_topic)
    assert [int(r.headers["er-source-offset"]) for r in dead] == truth.dead_offsets
    by_reason: dict[str, int] = {}
    for rec in dead:
        reason = rec.headers["er-reason"].decode()
        by_reason[reason] = by_reason.get(reason, 0) + 1
        assert rec.headers["er-error"], "every dead letter says why"
        assert rec.value == records[int(rec.headers["er-source-offset"])].value, "the original bytes are kept"
    assert by_reason == dict(truth.reasons)


def test_skip_processed_uses_the_production_ledger(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"orders-{unique}"
    records = _seed(kafka_admin, kafka_bootstrap, topic, 3000, seed=5)
    ok = [r for r in records if r.kind == "ok"]
    same = ok[::3]  # production processed these, with the same content
    other = ok[1::50]  # production processed these ids with other content: conflicts
    production = {r.event_id: r.value for r in same}
    production.update({r.event_id: b'{"other": true}' for r in other})
    ledger = f"prod-{unique}"
    ProductionLedger(redis_client, ledger, namespace=TASK_NAMESPACE).mark(
        (eid, value) for eid, value in production.items()
    )

    task = make_task(
        kafka_bootstrap, topic, unique, len(records), schema=ORDER_SCHEMA, mode="skipProcessed", ledger=ledger
    )
    done = run_worker(task)
    assert done.returncode == 0, done.stderr

    truth = replay(
        list(enumerate(r.value for r in records)),
        ORDER_SCHEMA,
        production={k: v for k, v in production.items() if v is not None},
    )
    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert ckpt.processed == truth.processed > 0
    assert ckpt.reasons == dict(truth.reasons)
    assert ckpt.reasons["conflict"] >= len(other)
    sandbox = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert [(r.key, r.value) for r in sandbox] == truth.emitted
    # The production ledger was only read: the replay added nothing to it.
    assert not ProductionLedger(redis_client, ledger, namespace=TASK_NAMESPACE).contains(ok[2].event_id or "")


def test_a_sub_range_replays_only_its_offsets(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"orders-{unique}"
    records = _seed(kafka_admin, kafka_bootstrap, topic, 2000, seed=9)
    task = make_task(kafka_bootstrap, topic, unique, 1500, start=700, schema=ORDER_SCHEMA)
    done = run_worker(task)
    assert done.returncode == 0, done.stderr
    truth = replay([(i, records[i].value) for i in range(700, 1500)], ORDER_SCHEMA)
    sandbox = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert [(r.key, r.value) for r in sandbox] == truth.emitted
    assert min(int(r.headers["er-source-offset"]) for r in sandbox) >= 700
    assert max(int(r.headers["er-source-offset"]) for r in sandbox) < 1500


def test_project_transform_and_transactional_source_gaps(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> None:
    """A source written in transactions (with an aborted one) has offset gaps; the range still ends."""
    from confluent_kafka import Producer

    topic = f"tx-{unique}"
    create_topic(kafka_admin, topic, 1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"seed-{unique}"})
    producer.init_transactions(30)
    expected = []
    for txn in range(6):
        producer.begin_transaction()
        for i in range(10):
            doc = {"event_id": f"e-{txn}-{i}", "amount": i, "secret": "x", "currency": "EUR"}
            producer.produce(topic, orjson.dumps(doc), partition=0)
            if txn != 3:
                expected.append(orjson.dumps({"amount": i, "event_id": f"e-{txn}-{i}"}, option=orjson.OPT_SORT_KEYS))
        if txn == 3:
            producer.flush(30)  # the aborted records reach the log (and take offsets) before the abort
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "probe"})
    _, high = probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    probe.close()
    assert high == 66  # 60 records + 6 control markers

    task = make_task(kafka_bootstrap, topic, unique, high)
    task = task.model_copy(
        update={
            "transform": task.transform.model_copy(update={"function": "project", "fields": ["event_id", "amount"]})
        }
    )
    done = run_worker(task, timeout=120)
    assert done.returncode == 0, done.stderr
    sandbox = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert [r.value for r in sandbox] == expected


def test_ledger_mark_cli_writes_the_production_ledger(redis_client: Any, unique: str) -> None:
    import subprocess
    import sys

    lines = [orjson.dumps({"event_id": f"id-{i}", "amount": i}) for i in range(50)] + [b"not json", b'{"x": 1}']
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventreplay.worker",
            "ledger",
            "mark",
            "--redis-url",
            REDIS_URL,
            "--namespace",
            TASK_NAMESPACE,
            "--ledger",
            f"cli-{unique}",
            "-",
        ],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"marked 50 event(s)" in done.stdout and b"skipped 2 line(s)" in done.stdout
    ledger = ProductionLedger(redis_client, f"cli-{unique}", namespace=TASK_NAMESPACE)
    assert ledger.contains("id-0") and ledger.contains("id-49") and not ledger.contains("id-50")
