"""Redis loses the reconciliation's working set between its passes (FLUSHALL, or a SIGKILL and
restart with the AOF fsynced every second): the run refuses to store a report that lacks ids
(retriable, with the broken invariant named) or stores exactly the undisturbed report; a new run
then stores the undisturbed report. Real Kafka and Redis; the fault is injected in-process at an
exact point between two passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.names import report_key
from eventreplay.worker.reconciliation.reconcile import Reconciler
from eventreplay.worker.runtime.spill import Spill
from support.fault_log import FAILED_LOUDLY, IDENTICAL, lost_and_doubled, record
from support.kafka_tools import read_topic
from support.reconciliation_scenario import SOURCE_PARTITIONS, build, reconcile_task, run_job, unique_id
from support.replay_faults import crash, flush_redis
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack


class _FaultAfter(Reconciler):
    """A reconciliation whose Redis suffers `fault` once the named pass is over."""

    def __init__(self, task: Any, after: str, fault: Callable[[], None]) -> None:
        super().__init__(task)
        self.after, self.fault = after, fault

    def _spill_existing(self, spill: Spill, *args: Any) -> None:
        if self.after == "replayed":
            self.fault()
        super()._spill_existing(spill, *args)

    def _compare(self, spill: Spill, bits: int) -> dict[str, Any]:
        if self.after == "existing":
            self.fault()
        return super()._compare(spill, bits)

    def _publish(self, spill: Spill, *args: Any) -> int:
        if self.after == "compare":
            self.fault()
        return super()._publish(spill, *args)


def _listed(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """The (id, class) records a reconciliation published to its report topic (delta and extra ids)."""
    return [(rec.key, rec.value) for _, rec in read_topic(bootstrap, topic, SOURCE_PARTITIONS)]


def _reconcile_through(
    fault: str, outage: Callable[[], None], kafka_admin: Any, bootstrap: str, redis_client: Any, *, after: str
) -> tuple[str, str]:
    """(`identical` or `failed loudly`, the failure's reason)."""
    sc = build(bootstrap, kafka_admin, unique_id(), per_partition=600, seed=7)
    clean = run_job(reconcile_task(sc))
    assert clean.returncode == 0, clean.stderr
    clean_summary = orjson.loads(clean.stdout)
    redis_client.delete(report_key(TASK_NAMESPACE, sc.uid))
    task = reconcile_task(sc)  # its own report topic: what it publishes is told apart from the clean run's
    task = task.model_copy(update={"report": task.report.model_copy(update={"topic": f"{task.report.topic}-f"})})
    try:
        summary = _FaultAfter(task, after, outage).run()
    except RetriableFailure as err:
        stored = redis_client.get(report_key(TASK_NAMESPACE, sc.uid))
        record(fault, FAILED_LOUDLY if stored is None else "stored after failing", 0, 0)
        assert stored is None, "a report lacking ids was stored"
        outcome, reason = FAILED_LOUDLY, str(err)
    else:
        delta = _listed(bootstrap, task.report.topic)
        lost, doubled = lost_and_doubled(_listed(bootstrap, reconcile_task(sc).report.topic), delta)
        same = summary["reportHash"] == clean_summary["reportHash"] and (lost, doubled) == (0, 0)
        record(fault, IDENTICAL if same else "report differs", lost, doubled)
        assert same, "the stored report and its published delta are the undisturbed ones"
        outcome, reason = IDENTICAL, ""
    again = run_job(reconcile_task(sc))  # the Job's retry: a new run, a fresh working set
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["reportHash"] == clean_summary["reportHash"]
    return outcome, reason


@pytest.mark.parametrize("after", ["replayed", "existing", "compare"])
def test_a_flushall_between_passes_is_refused_never_stored(
    after: str, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any
) -> None:
    flush = flush_redis(redis_client)
    fault = "flushall-between-reconcile-passes"
    outcome, reason = _reconcile_through(fault, flush, kafka_admin, kafka_bootstrap, redis_client, after=after)
    assert outcome == "failed loudly"
    assert "the report is incomplete, not stored" in reason and "marker key is gone" in reason


@pytest.mark.parametrize("after", ["replayed", "compare"])
def test_a_redis_crash_between_passes_stores_the_report_whole_or_not_at_all(
    after: str, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any
) -> None:
    # Either the connection drops (Redis at ...: retriable) or it is back in time and the
    # invariants judge what survived; never a stored report that lacks ids.
    fault = "redis-crash-between-reconcile-passes"
    _reconcile_through(fault, crash("redis", 1), kafka_admin, kafka_bootstrap, redis_client, after=after)
