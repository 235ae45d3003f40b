"""Refreshing a report: bumping spec.reconciliation.refresh starts a new reconciliation Job, voids
the recorded report, and a new report needs its own approval (the promotion binds to the hash)."""

from __future__ import annotations

from operator_fake_backends import FakeCheckpoints, FakeKafka
from operator_fakes import FakeKube
from operator_fixtures import operator_config, plan, spec
from summary_fixtures import report_summary

from eventreplay.operator.api.v1alpha1 import EventReplayStatus, ReconciliationStatus, Totals
from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_state import read_jobs
from eventreplay.operator.steps.post_replay import PostReplaySteps
from eventreplay.worker.contract.names import report_key

OLD, NEW = "ab" * 32, "cd" * 32
OWNER = Owner("ns", "r", "u-1")
TOTALS = Totals(read=200, emitted=200, dead_lettered=0)


def _steps(kube: FakeKube, reader: FakeCheckpoints) -> PostReplaySteps:
    return PostReplaySteps(kube, reader, FakeKafka(), operator_config(), OWNER, "2026-11-20T12:00:00Z")


def _summary(report_hash: str, refresh: int) -> bytes:
    return report_summary(report_hash, unchanged=100, changed=0, missing=0, already_promoted=20, refresh=refresh)


def test_bumping_refresh_reconciles_again_and_the_old_approval_does_not_promote() -> None:
    kube, reader = FakeKube(None), FakeCheckpoints()
    approved = {"policy": "Manual", "approvedReportHash": OLD}
    old = EventReplayStatus(reconciliation=ReconciliationStatus(report_hash=OLD, changed=20, refresh=0))

    same = _steps(kube, reader).run(spec(promotion=approved), plan([(0, 0, 100)]), TOTALS, old, [])
    assert kube.created == ["r-promote-" + OLD[:12]]  # refresh 0 = the recorded report: promote it
    kube.jobs.clear()
    kube.created.clear()
    assert same.reconciliation is not None and same.reconciliation.report_hash == OLD

    bumped = spec(promotion=approved, reconciliation={"refresh": 1})
    first = _steps(kube, reader).run(bumped, plan([(0, 0, 100)]), TOTALS, old, [])
    assert kube.created == ["r-reconcile-f1"]  # a new Job, not the old one found again
    assert first.reconciliation is not None and first.reconciliation.report_hash is None
    job = kube.jobs["r-reconcile-f1"]
    assert job["metadata"]["annotations"]["eventreplay.io/refresh"] == "1"

    kube.finish("r-reconcile-f1")
    reader.keys[report_key(OWNER.namespace, OWNER.uid)] = _summary(NEW, 1)
    views = read_jobs(list(kube.jobs.values()))
    assert [v.refresh for v in views] == [1]
    status = EventReplayStatus(reconciliation=first.reconciliation)
    done = _steps(kube, reader).run(bumped, plan([(0, 0, 100)]), TOTALS, status, views)
    assert done.reconciliation is not None
    assert (done.reconciliation.report_hash, done.reconciliation.refresh) == (NEW, 1)
    assert done.reconciliation.already_promoted == 20
    assert kube.created == ["r-reconcile-f1"]  # approval names OLD: the new report waits for its own


def test_a_refresh_waits_for_a_running_promotion_of_the_recorded_report() -> None:
    kube, reader = FakeKube(None), FakeCheckpoints()
    approved = {"policy": "Manual", "approvedReportHash": OLD}
    old = EventReplayStatus(reconciliation=ReconciliationStatus(report_hash=OLD, changed=20, refresh=0))
    _steps(kube, reader).run(spec(promotion=approved), plan([(0, 0, 100)]), TOTALS, old, [])
    views = read_jobs(list(kube.jobs.values()))  # the promotion Job, running
    bumped = spec(promotion=approved, reconciliation={"refresh": 1})
    kept = _steps(kube, reader).run(bumped, plan([(0, 0, 100)]), TOTALS, old, views)
    assert kube.created == ["r-promote-" + OLD[:12]]  # no reconciliation Job yet
    assert kept.reconciliation is not None and kept.reconciliation.report_hash == OLD
