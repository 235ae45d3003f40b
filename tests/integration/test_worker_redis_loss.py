"""Redis loses data mid-replay (FLUSHALL, or a SIGKILL with the AOF fsynced every second): the
worker completes with exactly the output of an undisturbed run, or fails loudly (exit 10, the
reason in its message and progress mirror) with a committed output that is exactly the undisturbed
run's up to its committed offset. Never a silent double: without the ledger's watermark
(`worker/ledger_watermark.py`) a worker going on after a FLUSHALL re-emits the repeats of ids the
ledger forgot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.names import checkpoint_key
from support.fault_log import FAILED_LOUDLY, IDENTICAL
from support.replay_faults import (
    clean_run,
    committed_offset,
    counts,
    crash,
    finish,
    flush_redis,
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
    """Run the fault; assert identical-or-loud; return the outcome (`identical` or `failed loudly`)."""
    clean = clean_run(kafka_admin, bootstrap, redis_client, unique, tmp_path)
    task = slow_task(bootstrap, clean.topic, unique)
    proc = start_slow(task, tmp_path)
    wait_committed(redis_client, unique, proc)
    outage()
    stderr = finish(proc)
    got = outputs(bootstrap, task)
    committed = committed_offset(kafka_admin, task)
    outcome = judge(fault, proc.returncode, got, clean, committed)
    mirror = Checkpoint.from_json(redis_client.get(checkpoint_key(unique, 0)))
    if proc.returncode == 0:
        assert counts(mirror) == counts(clean.checkpoint) and mirror.digest == clean.checkpoint.digest
        assert outcome == IDENTICAL, "nothing lost, nothing doubled"
        return outcome
    assert proc.returncode == EXIT_PERMANENT, stderr[-3000:]
    assert "lost marks" in stderr, stderr[-3000:]
    assert mirror.state == "failed" and "lost marks" in mirror.message
    # What was committed before the failure is exactly the undisturbed run's, up to that offset.
    assert 0 < committed < clean.checkpoint.end_offset
    assert outcome == FAILED_LOUDLY, "nothing doubled in the committed output"
    return outcome


def test_a_flushall_mid_replay_fails_loudly_never_doubles(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    outage = flush_redis(redis_client)
    outcome = _replay_through(
        "flushall-mid-replay", outage, kafka_admin, kafka_bootstrap, redis_client, unique=unique, tmp_path=tmp_path
    )
    # A flush lands mid-range (after the first commit, ~12 s before the end): the ledger is gone.
    assert outcome == FAILED_LOUDLY


def test_a_redis_crash_mid_replay_completes_or_fails_loudly(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    outage = crash("redis", 2)
    _replay_through(
        "redis-crash-mid-replay", outage, kafka_admin, kafka_bootstrap, redis_client, unique=unique, tmp_path=tmp_path
    )
