"""The worker's exit codes and messages when the task cannot be done; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import TopicPartition

from datagen.orders import CLEAN, generate
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT, EXIT_RETRIABLE
from eventreplay.worker.contract.names import checkpoint_key
from support.kafka_tools import create_topic, produce, read_partition
from support.worker_run import TASK_NAMESPACE, make_task, run_worker

pytestmark = pytest.mark.stack


@pytest.fixture
def seeded(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> str:
    topic = f"fail-{unique}"
    create_topic(kafka_admin, topic, 1)
    produce(kafka_bootstrap, topic, generate(100, mix=CLEAN))
    return topic


def _nothing_written(bootstrap: str, kafka_admin: Any, topic: str) -> bool:
    if topic not in kafka_admin.list_topics(timeout=10).topics:
        return True
    return read_partition(bootstrap, topic) == []


def test_retention_expired_start_is_permanent(kafka_admin: Any, kafka_bootstrap: str, seeded: str, unique: str) -> None:
    kafka_admin.delete_records([TopicPartition(seeded, 0, 40)])[TopicPartition(seeded, 0, 40)].result()
    task = make_task(kafka_bootstrap, seeded, unique, 100, start=10)
    done = run_worker(task, timeout=120)
    assert done.returncode == EXIT_PERMANENT
    assert "retention expired" in done.stderr and "log start offset 40" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert _nothing_written(kafka_bootstrap, kafka_admin, task.output.sandbox_topic)


def test_unknown_topic_and_partition_are_permanent(
    kafka_admin: Any, kafka_bootstrap: str, seeded: str, unique: str
) -> None:
    missing = run_worker(make_task(kafka_bootstrap, f"nope-{unique}", unique, 10), timeout=120)
    assert missing.returncode == EXIT_PERMANENT
    assert "does not exist" in missing.stderr
    partition = run_worker(make_task(kafka_bootstrap, seeded, unique, 10, partition=3), timeout=120)
    assert partition.returncode == EXIT_PERMANENT
    assert "no partition 3" in partition.stderr


def test_redis_down_is_retriable(kafka_admin: Any, kafka_bootstrap: str, seeded: str, unique: str) -> None:
    task = make_task(kafka_bootstrap, seeded, unique, 100, redis_url="redis://127.0.0.1:1/0", retry_budget_seconds=3)
    done = run_worker(task, timeout=120)
    assert done.returncode == EXIT_RETRIABLE
    assert "cannot reach Redis at 127.0.0.1:1" in done.stderr
    # Retried in-process (backoff within the 3 s budget) before the pod gives up.
    assert "attempt 1 failed" in done.stderr and "giving up after" in done.stderr
    assert _nothing_written(kafka_bootstrap, kafka_admin, task.output.sandbox_topic)


def test_an_evicting_redis_is_refused(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, seeded: str, unique: str
) -> None:
    """volatile-* and allkeys-* policies would evict ledger buckets (duplicates let through)."""
    before = redis_client.config_get("maxmemory-policy")["maxmemory-policy"]
    assert int(redis_client.config_get("maxmemory")["maxmemory"]) > 0
    task = make_task(kafka_bootstrap, seeded, unique, 100)
    try:
        redis_client.config_set("maxmemory-policy", "volatile-lru")
        done = run_worker(task, timeout=120)
    finally:
        redis_client.config_set("maxmemory-policy", before)
    assert done.returncode == EXIT_PERMANENT, done.stderr
    assert "evicts keys under memory pressure (maxmemory-policy volatile-lru)" in done.stderr
    assert _nothing_written(kafka_bootstrap, kafka_admin, task.output.sandbox_topic)
    # The failure is mirrored for the operator's status, although the check refused the ledger.
    mirrored = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert mirrored.state == "failed" and "noeviction" in mirrored.message
    assert run_worker(task, timeout=120).returncode == 0, "with noeviction back, the same task runs"


def test_an_unknown_kafka_setting_is_permanent(
    kafka_admin: Any, kafka_bootstrap: str, seeded: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_task(kafka_bootstrap, seeded, unique, 100)
    task = task.model_copy(update={"kafka": task.kafka.model_copy(update={"settings_env": "TEST_KAFKA_SETTINGS"})})
    monkeypatch.setenv("TEST_KAFKA_SETTINGS", "no.such.property=1\n")
    done = run_worker(task, timeout=120)
    assert done.returncode == EXIT_PERMANENT, done.stderr
    assert "Kafka client settings" in done.stderr and "no.such.property" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_broker_down_is_retriable(kafka_bootstrap: str, unique: str) -> None:
    done = run_worker(make_task("127.0.0.1:1", "any", unique, 100, retry_budget_seconds=30), timeout=120)
    assert done.returncode == EXIT_RETRIABLE
    assert "attempt 1 failed" in done.stderr and "giving up after" in done.stderr
    assert "cannot reach Kafka at 127.0.0.1:1" in done.stderr


def test_bad_task_is_permanent(unique: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "eventreplay.worker", "run"],
        env={"EVENTREPLAY_TASK": '{"version": 1}', "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == EXIT_PERMANENT
    assert done.stderr.startswith("eventreplay-worker: permanent: bad task")
