"""A reconciliation killed mid-spill leaves no orphaned working set (issue #14): every key it wrote
carries the report's TTL, and the next run drops them before it spills, keeping only its own (and
the stored report's), so Redis holds one run's working set per replay, not one per crash."""

from __future__ import annotations

import signal
import time
from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.names import spill_route
from support.reconciliation_scenario import build, reconcile_task, run_job, start_job
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack


def runs(redis_client: Any, uid: str) -> dict[str, list[bytes]]:
    """The working-set keys of each reconciliation run of `uid`."""
    prefix = spill_route(TASK_NAMESPACE, uid) + ":"
    found: dict[str, list[bytes]] = {}
    for key in redis_client.scan_iter(match=prefix + "*", count=1000):
        run = key.decode()[len(prefix) :].split(":", 1)[0]
        found.setdefault(run, []).append(key)
    return found


def test_a_killed_reconciliation_leaves_nothing_the_next_run_keeps(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=4000, seed=61)
    task = reconcile_task(sc)
    ttl = task.report.redis.ttl_seconds
    proc = start_job(task)
    deadline = time.monotonic() + 120
    while not any(len(keys) > 5 for keys in runs(redis_client, sc.uid).values()):  # spilling
        assert proc.poll() is None, "reconcile finished before it could be killed"
        assert time.monotonic() < deadline, "reconcile never spilled"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (killed,) = runs(redis_client, sc.uid)
    left = runs(redis_client, sc.uid)[killed]
    assert all(0 < redis_client.ttl(key) <= ttl for key in left), "a key of the killed run never expires"

    done = run_job(task)
    assert done.returncode == 0, done.stderr
    stored = orjson.loads(done.stdout)["run"]
    after = runs(redis_client, sc.uid)
    assert killed not in after and set(after) == {stored}, f"left behind: {sorted(set(after) - {stored})}"
    assert all(0 < redis_client.ttl(key) <= ttl for key in after[stored])
    print(f"killed run left {len(left)} keys (each with a TTL <= {ttl} s); the next run dropped them all")
