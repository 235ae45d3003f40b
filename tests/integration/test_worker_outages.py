"""Redis goes away mid-replay (the real one of this stack, stopped and started, AOF on): the worker
retries in-process and completes with exactly the output of an undisturbed run. (A broker stop is
not covered yet: see docs/reliability.md.)

Compared with a clean run of the same range: digest, counts, sandbox and dead-letter bytes equal
(nothing lost, nothing doubled). A slow user transform keeps the replay running long enough to be
interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datagen.orders import MESSY, ORDER_SCHEMA
from devstack import stack
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from support.kafka_tools import read_partition, seed_orders
from support.worker_run import make_task, run_worker, start_worker, user_code_env

pytestmark = pytest.mark.stack

RECORDS = 6000
SLOW_TRANSFORM = """
import time


def slow(doc):
    time.sleep(0.002)  # ~12 s for the range: time to stop and start a component mid-replay
    return doc
"""


def _task(bootstrap: str, topic: str, uid: str) -> Any:
    task = make_task(bootstrap, topic, uid, RECORDS, schema=ORDER_SCHEMA, batch_size=200, transaction_max_records=500)
    return task.model_copy(update={"transform": task.transform.model_copy(update={"function": "slow_code:slow"})})


def _outputs(bootstrap: str, task: Any) -> tuple[list[Any], list[Any]]:
    def records(topic: str) -> list[Any]:
        read = read_partition(bootstrap, topic)
        return [(r.key, r.value, r.headers.get("er-source-offset"), r.headers.get("er-reason")) for r in read]

    return records(task.output.sandbox_topic), records(task.output.dead_letter_topic)


def _counts(ckpt: Checkpoint) -> tuple[Any, ...]:
    return (ckpt.state, ckpt.committed_offset, ckpt.emitted, ckpt.duplicate, ckpt.dead_lettered, ckpt.reasons)


def _wait_committed(redis_client: Any, uid: str, proc: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = redis_client.get(checkpoint_key(uid, 0))
        if raw and 0 < Checkpoint.from_json(raw).committed_offset < RECORDS:
            return
        assert proc.poll() is None, "the replay ended before the outage"
        time.sleep(0.1)
    raise AssertionError("no transaction committed within 60 s")


def _replay_through(
    outage: Callable[[], None], kafka_admin: Any, bootstrap: str, redis_client: Any, *, unique: str, tmp_path: Path
) -> str:
    (tmp_path / "slow_code.py").write_text(SLOW_TRANSFORM)
    topic = f"outage-{unique}"
    seed_orders(kafka_admin, bootstrap, topic, RECORDS, seed=3, mix=MESSY)
    clean = _task(bootstrap, topic, f"{unique}c")
    done = run_worker(clean, timeout=300, env=user_code_env(clean, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]

    task = _task(bootstrap, topic, unique)
    proc = start_worker(task, env=user_code_env(task, tmp_path))
    try:
        _wait_committed(redis_client, unique, proc)
        outage()
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    ok = Checkpoint.from_json(redis_client.get(checkpoint_key(f"{unique}c", 0)))
    got = Checkpoint.from_json(redis_client.get(checkpoint_key(unique, 0)))
    assert _counts(got) == _counts(ok) and got.digest == ok.digest
    assert _outputs(bootstrap, task) == _outputs(bootstrap, clean), "nothing lost, nothing doubled"
    return stderr


def _bounce(component: str, seconds: float) -> Callable[[], None]:
    def outage() -> None:
        stack.down([component], verbose=False)
        time.sleep(seconds)
        stack.up([component], verbose=False)

    return outage


def test_a_redis_restart_mid_replay_is_outlived(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    outage = _bounce("redis", 5)
    stderr = _replay_through(outage, kafka_admin, kafka_bootstrap, redis_client, unique=unique, tmp_path=tmp_path)
    assert "retrying in" in stderr, "the Redis outage was retried in-process"
