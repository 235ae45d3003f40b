"""The step tests' driver: reconciliation scenarios built on the test's Kafka, and the reconcile and
promote Jobs run against them as worker processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

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

    def reconciled(self, sc: Scenario) -> dict[str, Any]:
        """The reconcile Job's summary (report and its hash) once it has run to success."""
        done = run_job(reconcile_task(sc))
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))

    def promoted(self, sc: Scenario, report_hash: str) -> dict[str, Any]:
        """The promote Job's summary (written, alreadyPromoted, ...) once it has run to success."""
        done = run_job(promote_task(sc, report_hash))
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))
