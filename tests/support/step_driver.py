"""The step tests' driver: reconciliation scenarios built on the test's Kafka, and the reconcile and
promote Jobs run against them as worker processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eventreplay.worker.contract.step_tasks import PromoteTask, RolloutStep
from support.reconciliation_scenario import (
    Scenario,
    build,
    promote_task,
    reconcile_task,
    replayed_again,
    run_job,
    start_job,
)


@dataclass
class StepDriver:
    """Kafka's bootstrap servers and admin client, and the test's unique suffix (the first scenario's uid).

    The tasks and the worker processes need no state; they ride along so a test imports nothing else."""

    reconcile_task = staticmethod(reconcile_task)
    promote_task = staticmethod(promote_task)
    run_job = staticmethod(run_job)
    start_job = staticmethod(start_job)
    bootstrap: str
    admin: Any
    unique: str

    def build(self, per_partition: int = 4000, seed: int = 11, *, run_workers: bool = True) -> Scenario:
        return build(self.bootstrap, self.admin, self.unique, per_partition, seed, run_workers=run_workers)

    def replayed_again(self, sc: Scenario, ranges: list[tuple[int, int]] | None = None) -> Scenario:
        return replayed_again(self.bootstrap, self.admin, sc, ranges)

    def replayed_twice(self, per_partition: int, seed: int) -> tuple[Scenario, Scenario, list[dict[str, Any]]]:
        """One window replayed twice (the second a new replay of the first's range), both reconciled
        before either is promoted: the two scenarios and their reconcile summaries."""
        first = self.build(per_partition, seed)
        second = self.replayed_again(first)
        return first, second, [self.reconciled(first), self.reconciled(second)]

    def reconciled(self, sc: Scenario) -> dict[str, Any]:
        """The reconcile Job's summary (report and its hash) once it has run to success."""
        done = run_job(reconcile_task(sc))
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))

    def small_promote_task(self, sc: Scenario, report_hash: str) -> PromoteTask:
        """A promote task in small transactions (batches of 50, 100 records a transaction): many
        commits for a kill to fall between, or for concurrent promoters to interleave."""
        return promote_task(sc, report_hash, batch_size=50, transaction_max_records=100)

    def step_task(
        self,
        sc: Scenario,
        report_hash: str,
        index: int,
        quota: dict[str, int] | None,
        rate: float | None = None,
        **tuning: Any,
    ) -> PromoteTask:
        """The promote task of one rollout step: `quota` per sandbox partition (None: the last step)."""
        step = RolloutStep(index=index, quota=quota, max_records_per_second=rate)
        return promote_task(sc, report_hash, **tuning).model_copy(update={"rollout": step})

    def promoted(self, sc: Scenario, report_hash: str) -> dict[str, Any]:
        """The promote Job's summary (written, alreadyPromoted, ...) once it has run to success."""
        done = run_job(promote_task(sc, report_hash))
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))
