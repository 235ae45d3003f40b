"""Two replays promoting the same ids into one sink, against real Kafka and Redis: the second,
meeting the first's open claim, says in its promotion mirror whose claim it waits on and since
when (the operator's status.promotion.blockedBy reads it), keeps that `since` across its Job's
retries, and clears it once the first committed and it went on."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from eventreplay.worker.contract.checkpoints import PromotionCheckpoint
from eventreplay.worker.contract.exit_codes import CLAIM_HELD, EXIT_DONE, EXIT_RETRIABLE
from eventreplay.worker.contract.names import promotion_key
from eventreplay.worker.runtime.failpoints import FAILPOINT_ENV, OFFSET_PREFIX
from support.reconciliation_scenario import SOURCE_PARTITIONS, Scenario
from support.step_driver import StepDriver
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack


def _waits(redis_client: Any, sc: Scenario) -> dict[int, tuple[str, float]]:
    """Per sandbox partition whose promotion mirror names a wait: (the replay holding the claim, since)."""
    keys = [promotion_key(TASK_NAMESPACE, sc.uid, p) for p in range(SOURCE_PARTITIONS)]
    mirrors = [PromotionCheckpoint.from_json(raw) for raw in redis_client.mget(keys) if raw]
    return {m.partition: (m.blocked_by, m.blocked_since) for m in mirrors if m.blocked_by}


def test_a_promoter_waiting_on_another_replays_claim_names_it_in_its_mirror_until_it_commits(
    steps: StepDriver, redis_client: Any
) -> None:
    first, second, reports = steps.replayed_twice(per_partition=3000, seed=47)
    holder, waiter = (
        steps.small_promote_task(sc, r["reportHash"]) for sc, r in zip((first, second), reports, strict=True)
    )
    # The first promoter dies inside an open transaction: its claims on those ids stay pending
    # until it runs again (nothing else releases them), so the second meets them every time.
    pinned = steps.start_job(holder, **{FAILPOINT_ENV: f"{OFFSET_PREFIX}250"})
    assert pinned.wait(120) == -signal.SIGKILL, pinned.stderr.read() if pinned.stderr else ""
    assert _waits(redis_client, second) == {}

    blocked = steps.run_job(waiter)
    assert blocked.returncode == EXIT_RETRIABLE and CLAIM_HELD in blocked.stderr, blocked.stderr
    waits = _waits(redis_client, second)
    assert waits and {by for by, _ in waits.values()} == {first.uid}, waits
    assert all(since > 0 for _, since in waits.values())

    retried = steps.run_job(waiter)  # its Job's next attempt: still waiting, on the same claim, since then
    assert retried.returncode == EXIT_RETRIABLE, retried.stderr
    assert _waits(redis_client, second) == waits

    assert steps.run_job(holder).returncode == EXIT_DONE  # the first commits its claims
    done = steps.run_job(waiter)
    assert done.returncode == EXIT_DONE, done.stderr
    assert _waits(redis_client, second) == {}, "a finished promotion still names a wait"
