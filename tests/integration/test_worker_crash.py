"""Exactly once under SIGKILL and fencing, against real Kafka and Redis."""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from datagen.orders import ORDER_SCHEMA
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.exit_codes import EXIT_FENCED
from eventreplay.worker.contract.names import checkpoint_key, replay_prefix
from support.kafka_tools import read_partition, seed_orders
from support.oracle import replay
from support.worker_run import TASK_NAMESPACE, committed_progress, orders_task, run_worker, start_worker

pytestmark = pytest.mark.stack


def _committed(kafka_admin: Any, group: str, topic: str) -> int:
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])
    result = kafka_admin.list_consumer_group_offsets([request])[group].result()
    return int(result.topic_partitions[0].offset)


def _max_mark(redis_client: Any, ledger: str, uid: str) -> int:
    """The highest source offset carried by a ledger mark of this replay (its last 8 bytes)."""
    best = -1
    for key in redis_client.scan_iter(match=f"{replay_prefix(TASK_NAMESPACE, ledger, uid, 0)}*", count=1000):
        for value in redis_client.hvals(key):
            best = max(best, int.from_bytes(value[-8:], "big"))
    return best


def test_sigkill_many_times_gives_the_uninterrupted_output(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"crash-{unique}"
    records = seed_orders(kafka_admin, kafka_bootstrap, topic, 150_000, seed=23)
    tuning = {"batch_size": 500, "transaction_max_records": 1000, "transaction_max_seconds": 0.5}

    reference = orders_task(kafka_bootstrap, topic, f"ref{unique}", records, **tuning)
    assert run_worker(reference).returncode == 0
    expected = [(r.key, r.value) for r in read_partition(kafka_bootstrap, reference.output.sandbox_topic)]
    truth = replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA)
    assert expected == truth.emitted

    task = orders_task(kafka_bootstrap, topic, unique, records, **tuning)
    rng = random.Random(1234)
    kills = marked_past_commit = 0
    deadline = time.monotonic() + 600
    while kills < 24:
        assert time.monotonic() < deadline, "crash loop took too long"
        before = committed_progress(redis_client, unique)
        proc = start_worker(task)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.05, 0.8))  # during start-up: init, fencing, resume
        else:
            # Mid-run: once this attempt has committed something, at a random point after it.
            while committed_progress(redis_client, unique) == before and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.1))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            break  # finished before this kill; the output check below still applies
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        try:
            committed = _committed(kafka_admin, task.group_id, topic)
        except Exception:  # noqa: BLE001 - nothing committed yet
            committed = -1
        if _max_mark(redis_client, task.dedup.ledger, task.replay.uid) >= max(committed, 0):
            marked_past_commit += 1  # killed after marking the ledger, before the commit
    assert kills >= 20, f"only {kills} kills landed before the worker finished; slow the run down"
    assert marked_past_commit >= 1, "no kill fell between a ledger mark and its transaction commit"

    final = run_worker(task)
    assert final.returncode == 0, final.stderr
    got = [(r.key, r.value) for r in read_partition(kafka_bootstrap, task.output.sandbox_topic)]
    assert len(got) == len(expected), f"{len(got) - len(expected):+d} records vs the uninterrupted run"
    assert len({key for key, _ in got}) == len(got), "an event id appears twice in the sandbox"
    assert got == expected
    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert ckpt.digest == truth.digest
    assert ckpt.records == len(records)
    assert ckpt.reasons == dict(truth.reasons)


def test_a_second_worker_fences_the_first(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"fence-{unique}"
    records = seed_orders(kafka_admin, kafka_bootstrap, topic, 150_000, seed=31)
    task = orders_task(kafka_bootstrap, topic, unique, records, batch_size=200, transaction_max_records=1000)
    first = start_worker(task)
    deadline = time.monotonic() + 60
    while redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)) is None:  # the first worker has committed
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    # Hold the first worker so that it cannot finish its range before the second one starts.
    first.send_signal(signal.SIGSTOP)
    try:
        second = run_worker(task)
    finally:
        first.send_signal(signal.SIGCONT)
    first_code = first.wait(timeout=120)
    assert second.returncode == 0, second.stderr
    assert first_code == EXIT_FENCED, first.stderr.read() if first.stderr else ""

    truth = replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA)
    got = [(r.key, r.value) for r in read_partition(kafka_bootstrap, task.output.sandbox_topic)]
    assert got == truth.emitted
