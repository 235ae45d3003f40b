"""Redis loses data mid-replay (FLUSHALL, or a SIGKILL with the AOF fsynced every second): the
worker completes with exactly the output of an undisturbed run, or fails loudly (exit 10, the
reason in its message and progress mirror) with a committed output that is exactly the undisturbed
run's up to its committed offset. Never a silent double: without the ledger's watermark
(`worker/ledger/watermark.py`) a worker going on after a FLUSHALL re-emits the repeats of ids the
ledger forgot.
"""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from support.fault_log import FAILED_LOUDLY, IDENTICAL
from support.replay_faults import FaultReplay, FaultyRun, counts, crash, flush_redis

pytestmark = pytest.mark.stack


def _identical_or_loud(run: FaultyRun) -> str:
    """Assert identical-or-loud; the outcome (`identical` or `failed loudly`)."""
    assert run.mirror is not None
    if run.returncode == 0:
        assert counts(run.mirror) == counts(run.clean.checkpoint) and run.mirror.digest == run.clean.checkpoint.digest
        assert run.outcome == IDENTICAL, "nothing lost, nothing doubled"
        return run.outcome
    assert run.returncode == EXIT_PERMANENT, run.stderr[-3000:]
    assert "lost marks" in run.stderr, run.stderr[-3000:]
    assert run.mirror.state == "failed" and "lost marks" in run.mirror.message
    # What was committed before the failure is exactly the undisturbed run's, up to that offset.
    assert 0 < run.committed < run.clean.checkpoint.end_offset
    assert run.outcome == FAILED_LOUDLY, "nothing doubled in the committed output"
    return run.outcome


def test_a_flushall_mid_replay_fails_loudly_never_doubles(replay_with: FaultReplay, redis_client: Any) -> None:
    outage = flush_redis(redis_client)
    run = replay_with("flushall-mid-replay", outage)
    # A flush lands mid-range (after the first commit, ~12 s before the end): the ledger is gone.
    assert _identical_or_loud(run) == FAILED_LOUDLY


def test_a_redis_crash_mid_replay_completes_or_fails_loudly(replay_with: FaultReplay) -> None:
    outage = crash("redis", 2)
    run = replay_with("redis-crash-mid-replay", outage)
    _identical_or_loud(run)
