"""The steps after the replay, wired: read the facts `decide` needs, create the Job it asks for.

Reads are lazy and few: the report only until it is recorded in status, the promotion
checkpoints while the promotion Job runs (a wait on another replay's claim) and once it
succeeded, a worker's failure message only for a failed Job, the sink's legacy ledger only while
chart 0.1.0's are not carried over for good and a new promotion Job is wanted. Status is the
record: once status.reconciliation names a report (or status.promotion a finished promotion),
Redis is not read for it again, so an expired report does not unsettle it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from eventreplay.worker.contract.names import ReplayTopics, failure_key
from eventreplay.worker.contract.sink_keys import legacy_sink_ledger_key

from ..api.v1alpha1 import (
    AggregationStatus,
    BlockedStep,
    EventReplaySpec,
    EventReplayStatus,
    Plan,
    PromotionStatus,
    ReconciliationStatus,
    Totals,
    parse_time,
)
from ..checkpoints import CheckpointsUnavailable
from ..clients import CheckpointPort, KafkaPort, KubePort
from ..conditions import Want
from ..config import OperatorConfig
from ..job_names import Owner
from ..job_state import JobView, newest_step
from ..jobs import combine_job, promotion_job, reconciliation_job
from ..kafka import KafkaUnavailable
from ..results_scan import ResultsScan
from .combine import decide_combine, read_aggregation
from .external import ExternalFacts, decide_external
from .facts import Decision, Facts, LegacyClaims, not_yet
from .promotion import decide_promotion, read_promotion, with_wait
from .reconciliation import decide_reconciliation, read_report
from .rollout_observe import finishes_promotion, observe_rollout

log = logging.getLogger(__name__)


def decide(f: Facts) -> Decision:
    """What the steps want, once every partition is replayed: reconcile, then promote."""
    rec = f.reconciliation
    if rec is None or rec.report_hash is None:
        return decide_reconciliation(f)
    return decide_promotion(f, rec)


@dataclass(frozen=True)
class StepResult:
    wants: list[Want]
    reconciliation: ReconciliationStatus | None
    promotion: PromotionStatus | None
    aggregation: AggregationStatus | None = None
    blocked: BlockedStep | None = None
    """The running step Job's pod cannot run (`phases/pods.step`)."""


@dataclass
class PostReplaySteps:
    kube: KubePort
    reader: CheckpointPort
    kafka: KafkaPort
    config: OperatorConfig
    owner: Owner
    now: str

    def run(
        self, spec: EventReplaySpec, plan: Plan, totals: Totals | None, old: EventReplayStatus, jobs: list[JobView]
    ) -> StepResult:
        if spec.transform.aggregate is not None and not (old.aggregation and old.aggregation.completed_at):
            produce = self._external if spec.external_engine else self._combine
            return produce(spec, plan, totals, old, jobs)
        refresh = spec.reconciliation.refresh
        rj = newest_step(jobs, "reconcile", refresh=refresh)
        rec = old.reconciliation if old.reconciliation and old.reconciliation.report_hash else None
        if rec is not None and (rec.refresh or 0) != refresh and not _promoting(jobs, rec):
            rec = None  # refreshed: reconcile again (a promotion under way finishes first)
        facts, settled = self._observe(spec, plan, totals, rec=rec, promo=old.promotion, rj=rj, jobs=jobs)
        decision = decide(facts)
        if decision.create == "promote" and not settled:  # a 0.1.0 promotion into this sink still open?
            facts = self._legacy_claims(facts)
            decision = decide(facts)
        if facts.unavailable and decision.create is not None:
            decision = not_yet(decision, facts.unavailable_reason, facts.unavailable)
        return self._act(spec, plan, old, facts, decision)

    def _observe(
        self,
        spec: EventReplaySpec,
        plan: Plan,
        totals: Totals | None,
        *,
        rec: ReconciliationStatus | None,
        promo: PromotionStatus | None,
        rj: JobView | None,
        jobs: list[JobView],
    ) -> tuple[Facts, bool]:
        """What `decide` decides from; and whether 0.1.0's sink ledgers in this Redis are carried
        over for good (False also when Redis could not tell)."""
        url, ns, uid = spec.dedup.redis.url, plan.key_tenant(self.owner.namespace), self.owner.uid
        unavailable, failure, settled, roll = "", "", False, None
        try:
            settled = self.reader.carry_legacy_sink_ledgers(url)  # before a Job reads or writes a sink ledger
            if rec is None and rj is not None and rj.state == "Succeeded":
                rec = read_report(self.reader, url, ns, uid, rj.name)
            pj = newest_step(jobs, "promote", rec.report_hash or "") if rec is not None else None
            recorded = (
                promo is not None and rec is not None and promo.report_hash == rec.report_hash and promo.completed_at
            )
            finished = pj is not None and pj.state == "Succeeded" and not recorded
            if rec is not None and pj is not None and finished and finishes_promotion(spec, rec, pj):
                done = read_promotion(
                    self.reader,
                    url,
                    ns,
                    uid,
                    plan,
                    report_hash=rec.report_hash or "",
                    job=pj.name,
                    old=promo,
                    now=self.now,
                )
                promo = done or promo
            promo = self._wait(spec, plan, pj, promo)
            if rec is not None:
                ports, where = (self.reader, self.kafka), (url, ns, uid)
                roll = observe_rollout(spec, plan, rec, promo, pj, ports=ports, where=where, now=parse_time(self.now))
            failed = pj if pj is not None else (rj if rec is None else None)
            if failed is not None and failed.state == "Failed" and failed.step is not None:
                raw = self.reader.get(url, failure_key(ns, uid, failed.step))
                failure = raw.decode(errors="replace") if raw else ""
        except CheckpointsUnavailable as err:
            unavailable = str(err)
            pj = newest_step(jobs, "promote", rec.report_hash or "") if rec is not None else None
        return Facts(spec, totals, rec, promo, rj, pj, failure, unavailable, rollout=roll), settled

    def _legacy_claims(self, facts: Facts) -> Facts:
        """`facts` with the open claims of a 0.1.0 promotion in the sink's legacy ledger (that
        ledger's committed entries carried over first); or with why they could not be read."""
        spec = facts.spec
        bootstrap, topic = spec.source.bootstrap_servers, spec.sink.topic
        try:
            cluster = self.kafka.cluster_id(bootstrap)
            count = self.reader.legacy_sink_claims(spec.dedup.redis.url, cluster, topic)
        except (KafkaUnavailable, CheckpointsUnavailable) as err:
            why = f"cannot tell whether a chart 0.1.0 promotion into {topic} is open: {err}"
            return replace(facts, unavailable=why, unavailable_reason=err.reason)
        return replace(facts, legacy_claims=LegacyClaims(legacy_sink_ledger_key(cluster, topic), count))

    def _act(
        self, spec: EventReplaySpec, plan: Plan, old: EventReplayStatus, facts: Facts, decision: Decision
    ) -> StepResult:
        """The Job `decision` asks for created; the reconciliation and promotion status to record."""
        rec, promo, rj = facts.reconciliation, facts.promotion, facts.reconcile_job
        if decision.create == "reconcile":
            job = reconciliation_job(spec, plan, self.owner, self.config, attempt=decision.attempt)
            self._create(job)
            rec = ReconciliationStatus(job=job["metadata"]["name"])
        elif decision.create == "promote" and rec is not None and rec.report_hash:
            step, attempt = decision.rollout_step, decision.attempt
            job = promotion_job(spec, plan, self.owner, self.config, rec.report_hash, attempt=attempt, rollout=step)
            self._create(job)
            ours = promo is not None and promo.report_hash == rec.report_hash and promo.started_at
            started = promo.started_at if ours and promo is not None else self.now
            promo = PromotionStatus(report_hash=rec.report_hash, job=job["metadata"]["name"], started_at=started)
        elif rec is None and old.reconciliation is not None and not old.reconciliation.report_hash:
            rec = old.reconciliation  # keep the Job name recorded while it runs
        elif rec is None and rj is not None:
            rec = ReconciliationStatus(job=rj.name)  # a refresh's Job runs: the old report is void
        if decision.rollout is not None and rec is not None and rec.report_hash:
            mine = promo is not None and promo.report_hash == rec.report_hash
            base = promo if mine and promo is not None else PromotionStatus(report_hash=rec.report_hash)
            promo = base.model_copy(update={"rollout": decision.rollout})
        return StepResult(decision.wants, rec, promo, old.aggregation)

    def _combine(
        self, spec: EventReplaySpec, plan: Plan, totals: Totals | None, old: EventReplayStatus, jobs: list[JobView]
    ) -> StepResult:
        """Aggregate replays: the combine Job first; reconciliation starts once its results are recorded."""
        url, ns, uid = spec.dedup.redis.url, plan.key_tenant(self.owner.namespace), self.owner.uid
        cj = newest_step(jobs, "combine")
        unavailable, failure, agg = "", "", old.aggregation
        try:
            if cj is not None and cj.state == "Succeeded":
                agg = read_aggregation(self.reader, url, ns, uid, cj.name) or agg
            elif cj is not None and cj.state == "Failed":
                raw = self.reader.get(url, failure_key(ns, uid, "combine"))
                failure = raw.decode(errors="replace") if raw else ""
        except CheckpointsUnavailable as err:
            unavailable = str(err)
        if agg is not None and agg.completed_at:
            return self.run(spec, plan, totals, old.model_copy(update={"aggregation": agg}), jobs)
        decision = decide_combine(spec.retry, cj, failure, unavailable)
        if decision.create == "combine":
            job = combine_job(spec, plan, self.owner, self.config, attempt=decision.attempt)
            self._create(job)
            agg = AggregationStatus(job=job["metadata"]["name"])
        return StepResult(decision.wants, old.reconciliation, old.promotion, agg)

    def _wait(
        self, spec: EventReplaySpec, plan: Plan, pj: JobView | None, promo: PromotionStatus | None
    ) -> PromotionStatus | None:
        """While the promotion Job runs, its promoters' wait on another replay's claim (from their
        mirrors); none once it stopped running."""
        if promo is None or pj is None or promo.report_hash != pj.report_hash:
            return promo
        if pj.state != "Running":
            return with_wait(promo, {}) if promo.blocked_by else promo
        url, ns, uid = spec.dedup.redis.url, plan.key_tenant(self.owner.namespace), self.owner.uid
        return with_wait(promo, self.reader.promotions(url, ns, uid, range(plan.topic_partitions)))

    def _external(
        self, spec: EventReplaySpec, plan: Plan, totals: Totals | None, old: EventReplayStatus, jobs: list[JobView]
    ) -> StepResult:
        """`engine: External`: no combine Job; the results an external job wrote, once signalled and verified."""
        owner, ext = self.owner, spec.reconciliation.external_results
        topic = ReplayTopics.of(owner.namespace, owner.name, owner.uid).results
        complete = ext is not None and ext.complete
        scan: ResultsScan | None = None
        unavailable = ""
        if complete:
            try:
                scan = self.kafka.scan_results(spec.source.bootstrap_servers, topic, owner.uid)
            except KafkaUnavailable as err:
                unavailable = str(err)
        verdict = decide_external(ExternalFacts(owner, topic, complete, scan, unavailable), self.now)
        if verdict.aggregation is not None:
            return self.run(spec, plan, totals, old.model_copy(update={"aggregation": verdict.aggregation}), jobs)
        return StepResult(verdict.wants, old.reconciliation, old.promotion, old.aggregation)

    def _create(self, job: dict[str, Any]) -> None:
        created = self.kube.create_job(job)
        log.info(
            "%s Job %s/%s", "created" if created else "found", job["metadata"]["namespace"], job["metadata"]["name"]
        )


def _promoting(jobs: list[JobView], rec: ReconciliationStatus) -> bool:
    """A promotion Job of the recorded report is still running."""
    pj = newest_step(jobs, "promote", rec.report_hash or "")
    return pj is not None and pj.state not in ("Succeeded", "Failed")
