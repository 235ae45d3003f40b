"""No silent restart, against real Kafka and Redis: a worker or promoter retried after its
replay-private group was deleted (`AdminClient.delete_consumer_groups`, as offset expiry would)
never writes its range a second time. It resumes from the checkpoint mirror when the output proves
the mirror current, or fails permanently saying what to do; the output equals a clean run's."""

from __future__ import annotations

import signal
import time
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException

from datagen.orders import ORDER_SCHEMA
from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.names import checkpoint_key, promotion_key
from support.kafka_tools import read_partition, seed_orders, watermarks
from support.oracle import replay
from support.reconciliation_scenario import DEST_PARTITIONS, build, promote_task, reconcile_task, run_job
from support.worker_run import TASK_NAMESPACE, committed_progress, orders_task, run_worker, start_worker

pytestmark = pytest.mark.stack


def _delete_group(kafka_admin: Any, group: str) -> None:
    """The group's committed offsets gone (a refused worker never re-created the group: already so)."""
    try:
        kafka_admin.delete_consumer_groups([group], request_timeout=30)[group].result(timeout=60)
    except KafkaException as err:
        if err.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
            raise


def test_a_worker_whose_group_was_deleted_never_replays_its_range_twice(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"lost-{unique}"
    records = seed_orders(kafka_admin, kafka_bootstrap, topic, 40_000, seed=31)
    clean = replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA).emitted  # what a clean run writes
    tuning = {"batch_size": 500, "transaction_max_records": 1000, "transaction_max_seconds": 0.2}
    task = orders_task(kafka_bootstrap, topic, unique, records, **tuning)
    sandbox = task.output.sandbox_topic

    # Killed part-way, then its group's offsets are gone.
    proc = start_worker(task)
    deadline = time.monotonic() + 120
    while committed_progress(redis_client, unique) < 10_000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert 0 < committed_progress(redis_client, unique) < len(records), "killed part-way"
    _delete_group(kafka_admin, task.group_id)

    retried = run_worker(task)
    got = [(r.key, r.value) for r in read_partition(kafka_bootstrap, sandbox)]
    if retried.returncode == 0:  # the mirror was current: resumed from it, byte for byte a clean run
        assert got == clean
        assert "no committed offset; resuming at offset" in retried.stderr
        ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
        assert ckpt.state == "done" and ckpt.emitted == len(clean)
    else:  # killed between a commit and its mirror: refused, nothing written twice
        assert retried.returncode == EXIT_PERMANENT, retried.stderr
        assert "Create a new EventReplay" in retried.stderr
        assert got == clean[: len(got)]

    # No mirror left either (expired): the sandbox holds this replay's output, so it refuses.
    _delete_group(kafka_admin, task.group_id)
    redis_client.delete(checkpoint_key(TASK_NAMESPACE, unique, 0))
    before = watermarks(kafka_bootstrap, sandbox, 1)
    refused = run_worker(task)
    assert refused.returncode == EXIT_PERMANENT, refused.stderr
    assert "no committed offset" in refused.stderr and "no checkpoint mirror" in refused.stderr
    assert watermarks(kafka_bootstrap, sandbox, 1) == before, "not even a transaction marker"


def test_a_promoter_whose_group_was_deleted_writes_nothing_twice(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=1000, seed=37)
    reconciled = run_job(reconcile_task(sc))
    assert reconciled.returncode == 0, reconciled.stderr
    task = promote_task(sc, orjson.loads(reconciled.stdout)["reportHash"])
    done = run_job(task)
    assert done.returncode == 0, done.stderr
    after = watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS)

    # Finished partitions: the mirrors say done; a retry resumes at their ends and writes nothing.
    _delete_group(kafka_admin, task.group_id)
    again = run_job(task)
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout) == orjson.loads(done.stdout)
    assert watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS) == after

    # The group still has no offsets (a finished partition commits nothing more). A partition
    # part-way (its mirror says so) cannot prove what the destination holds, so it refuses.
    key = promotion_key(TASK_NAMESPACE, sc.uid, 0)
    ckpt = PromotionCheckpoint.from_json(redis_client.get(key))
    ckpt.committed_offset, ckpt.state = (ckpt.start_offset + ckpt.end_offset) // 2, "running"
    redis_client.set(key, ckpt.to_json())
    refused = run_job(task)
    assert refused.returncode == EXIT_PERMANENT, refused.stderr
    assert "no committed offset" in refused.stderr and "Reconcile again" in refused.stderr
    assert watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS) == after
