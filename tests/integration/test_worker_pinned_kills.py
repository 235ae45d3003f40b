"""A worker SIGKILLed at pinned points of its range — 10 %, 50 % and 90 % committed, and between
its last commit and the final "done" mirror — then run again: the sandbox AND the dead-letter
topic hold exactly what an undisturbed run of the same range wrote (key, value, source offset,
reason), digest and counts equal. Real Kafka and Redis, the worker as a process.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from eventreplay.worker.runtime.failpoints import BEFORE_FINAL_MIRROR, FAILPOINT_ENV, OFFSET_PREFIX
from support.fault_log import IDENTICAL
from support.replay_faults import (
    RECORDS,
    SLOW_TRANSFORM,
    CleanRun,
    clean_run,
    counts,
    judge,
    outputs,
    slow_task,
)
from support.worker_run import mirrored_checkpoint, run_worker, user_code_env

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def clean(kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, tmp_path_factory: Any) -> CleanRun:
    """One undisturbed run of the range, the reference of every pinned kill."""
    where = tmp_path_factory.mktemp("clean")
    return clean_run(kafka_admin, kafka_bootstrap, redis_client, uuid.uuid4().hex[:10], where)


@pytest.mark.parametrize("point", ["10%", "50%", "90%", BEFORE_FINAL_MIRROR])
def test_a_worker_killed_at_a_pinned_point_resumes_to_the_undisturbed_output(
    point: str, *, clean: CleanRun, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    (tmp_path / "slow_code.py").write_text(SLOW_TRANSFORM)
    task = slow_task(kafka_bootstrap, clean.topic, unique)
    # Pinned by the worker's own failpoints (commits land only every ~1,000 records): at 10/50/90 %
    # the records up to that offset are produced and marked in the ledger, their transaction open.
    armed = point if point == BEFORE_FINAL_MIRROR else f"{OFFSET_PREFIX}{RECORDS * int(point.rstrip('%')) // 100}"
    killed = run_worker(task, env={**user_code_env(task, tmp_path), FAILPOINT_ENV: armed})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    at = mirrored_checkpoint(redis_client, unique)
    if point == BEFORE_FINAL_MIRROR:
        assert at is not None and at.committed_offset == RECORDS and at.state != "done", "killed before 'done'"
    else:
        assert at is None or at.committed_offset < RECORDS, "killed mid-range"
    resumed = run_worker(task, env=user_code_env(task, tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    outcome = judge(f"worker-sigkill-{point}", 0, outputs(kafka_bootstrap, task), clean, RECORDS)
    assert outcome == IDENTICAL, "sandbox and dead-letter records equal the undisturbed run's"
    ckpt = mirrored_checkpoint(redis_client, unique)
    assert ckpt is not None and ckpt.state == "done"
    assert counts(ckpt) == counts(clean.checkpoint)
    assert ckpt.digest == clean.checkpoint.digest
    assert clean.outputs[1], "the range dead-letters records, so the dead-letter topic is compared too"
