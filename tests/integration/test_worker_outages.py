"""Redis or the broker goes away mid-replay (the real ones of this stack, stopped and started;
Redis with AOF on): the worker retries in-process and completes with exactly the output of an
undisturbed run.

Compared with a clean run of the same range: digest, counts, sandbox and dead-letter bytes equal
(nothing lost, nothing doubled). A slow user transform keeps the replay running long enough to be
interrupted (`support/replay_faults.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from support.fault_log import IDENTICAL
from support.replay_faults import (
    bounce,
    clean_run,
    committed_offset,
    counts,
    finish,
    judge,
    outputs,
    slow_task,
    start_slow,
    wait_committed,
)

pytestmark = pytest.mark.stack


def _replay_through(
    fault: str,
    outage: Callable[[], None],
    kafka_admin: Any,
    bootstrap: str,
    redis_client: Any,
    *,
    unique: str,
    tmp_path: Path,
) -> str:
    clean = clean_run(kafka_admin, bootstrap, redis_client, unique, tmp_path)
    task = slow_task(bootstrap, clean.topic, unique)
    proc = start_slow(task, tmp_path)
    wait_committed(redis_client, unique, proc)
    outage()
    stderr = finish(proc)
    got = outputs(bootstrap, task)
    outcome = judge(fault, proc.returncode, got, clean, committed_offset(kafka_admin, task))
    assert proc.returncode == 0, stderr[-3000:]
    mirror = Checkpoint.from_json(redis_client.get(checkpoint_key(unique, 0)))
    assert counts(mirror) == counts(clean.checkpoint) and mirror.digest == clean.checkpoint.digest
    assert outcome == IDENTICAL and got == clean.outputs, "nothing lost, nothing doubled"
    return stderr


def test_a_redis_restart_mid_replay_is_outlived(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    outage = bounce("redis", 5)
    stderr = _replay_through(
        "redis-restart-mid-replay", outage, kafka_admin, kafka_bootstrap, redis_client, unique=unique, tmp_path=tmp_path
    )
    assert "retrying in" in stderr, "the Redis outage was retried in-process"


def test_a_broker_restart_mid_replay_is_outlived(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    # librdkafka may ride out a short outage by itself, or a transaction fails and the attempt is
    # retried in-process: either way the output is the undisturbed run's.
    outage = bounce("kafka", 3)
    _replay_through(
        "broker-restart-mid-replay",
        outage,
        kafka_admin,
        kafka_bootstrap,
        redis_client,
        unique=unique,
        tmp_path=tmp_path,
    )
