"""A JSON Schema pattern that backtracks (`^(a+)+$`) against hostile values, on the real worker,
Kafka and Redis: the hostile records are dead-lettered with the schema's reason and counted, the
rest go to the sandbox, and the partition is Done in seconds, not never (patterns run on RE2)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from datagen.orders import Record
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from support.kafka_tools import create_topic, produce, read_partition
from support.worker_run import TASK_NAMESPACE, make_task, run_worker

pytestmark = pytest.mark.stack

BACKTRACKING = {
    "type": "object",
    "required": ["event_id", "code"],
    "properties": {"event_id": {"type": "string"}, "code": {"type": "string", "pattern": "^(a+)+$"}},
}


def test_a_backtracking_schema_pattern_dead_letters_hostile_values_and_finishes(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"hostile-pattern-{unique}"
    create_topic(kafka_admin, topic, 1)
    codes = ["aaaa", "a" * 30_000 + "!", "aa", "a" * 64 + "b", "a" * 100]
    records = [
        Record(f"e{i}".encode(), orjson.dumps({"event_id": f"e{i}", "code": c}), "", f"e{i}")
        for i, c in enumerate(codes)
    ]
    produce(kafka_bootstrap, topic, records)
    task = make_task(kafka_bootstrap, topic, unique, len(records), schema=BACKTRACKING)
    # Were the pattern run by Python's `re`, one hostile value alone would outlive this timeout
    # (2^30,000 paths); the run would be killed and the test fail.
    done = run_worker(task, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert ckpt.state == "done" and ckpt.committed_offset == len(records)
    assert (ckpt.emitted, ckpt.dead_lettered, ckpt.reasons) == (3, 2, {"schema": 2})
    sandbox = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert sorted(r.key for r in sandbox) == [b"e0", b"e2", b"e4"]
    dead = read_partition(kafka_bootstrap, task.output.dead_letter_topic)
    assert sorted(r.key for r in dead) == [b"e1", b"e3"]
    for rec in dead:
        assert rec.headers["er-reason"] == b"schema"
        assert b"must match pattern" in rec.headers["er-error"]
