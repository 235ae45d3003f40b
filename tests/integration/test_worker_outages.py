"""Redis or the broker goes away mid-replay (the real ones of this stack, stopped and started;
Redis with AOF on): the worker retries in-process and completes with exactly the output of an
undisturbed run.

Compared with a clean run of the same range: digest, counts, sandbox and dead-letter bytes equal
(nothing lost, nothing doubled). A slow user transform keeps the replay running long enough to be
interrupted (`support/replay_faults.py`).
"""

from __future__ import annotations

import pytest

from support.fault_log import IDENTICAL
from support.replay_faults import FaultReplay, FaultyRun, bounce, counts

pytestmark = pytest.mark.stack


def _outlived(run: FaultyRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.mirror is not None and counts(run.mirror) == counts(run.clean.checkpoint)
    assert run.mirror.digest == run.clean.checkpoint.digest
    assert run.outcome == IDENTICAL, "nothing lost, nothing doubled"


def test_a_redis_restart_mid_replay_is_outlived(replay_with: FaultReplay) -> None:
    outage = bounce("redis", 5)
    run = replay_with("redis-restart-mid-replay", outage)
    _outlived(run)
    assert "retrying in" in run.stderr, "the Redis outage was retried in-process"


def test_a_broker_restart_mid_replay_is_outlived(replay_with: FaultReplay) -> None:
    # librdkafka may ride out a short outage by itself, or a transaction fails and the attempt is
    # retried in-process: either way the output is the undisturbed run's.
    outage = bounce("kafka", 3)
    run = replay_with("broker-restart-mid-replay", outage)
    _outlived(run)
