"""The stage after the replay, wired: read the facts `delta.decide` needs, create the Job it asks for.

Reads are lazy and few: the report only until it is recorded in status, the promotion
checkpoints only once the promotion Job succeeded, a worker's failure message only for a failed
Job. Status is the record: once status.reconciliation names a report (or status.promotion a
finished promotion), Redis is not read for it again, so an expired report does not unsettle it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from eventreplay.worker.contract.names import failure_key, report_key

from . import delta
from .api.v1alpha1 import EventReplaySpec, EventReplayStatus, Plan, PromotionStatus, ReconciliationStatus, Totals
from .checkpoints import CheckpointReader, CheckpointsUnavailable
from .conditions import Want
from .config import OperatorConfig
from .delta_jobs import promote_job, reconcile_job
from .jobs import Owner
from .kube import JSON, Kube

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageResult:
    wants: list[Want]
    reconciliation: ReconciliationStatus | None
    promotion: PromotionStatus | None


@dataclass
class DeltaStage:
    kube: Kube
    reader: CheckpointReader
    config: OperatorConfig
    owner: Owner
    now: str

    def run(
        self, spec: EventReplaySpec, plan: Plan, totals: Totals | None, old: EventReplayStatus, raw_jobs: list[JSON]
    ) -> StageResult:
        url, uid = spec.dedup.redis.url, self.owner.uid
        jobs = delta.step_jobs(raw_jobs)
        rj = delta.newest(jobs, "reconcile")
        rec = old.reconciliation if old.reconciliation and old.reconciliation.report_hash else None
        promo = old.promotion
        unavailable, failure = "", ""
        try:
            if rec is None and rj is not None and rj.state == "Succeeded":
                rec = self._report(url, rj.name)
            pj = delta.newest(jobs, "promote", rec.report_hash or "") if rec is not None else None
            recorded = (
                promo is not None and rec is not None and promo.report_hash == rec.report_hash and promo.completed_at
            )
            if rec is not None and pj is not None and pj.state == "Succeeded" and not recorded:
                promo = self._promotion(url, plan, rec.report_hash or "", pj.name, promo) or promo
            failed = pj if pj is not None else (rj if rec is None else None)
            if failed is not None and failed.state == "Failed":
                raw = self.reader.get(url, failure_key(uid, failed.step))
                failure = raw.decode(errors="replace") if raw else ""
        except CheckpointsUnavailable as err:
            unavailable = str(err)
            pj = delta.newest(jobs, "promote", rec.report_hash or "") if rec is not None else None
        decision = delta.decide(delta.Facts(spec, totals, rec, promo, rj, pj, failure, unavailable))
        if decision.create == "reconcile":
            job = reconcile_job(spec, plan, self.owner, self.config, attempt=decision.attempt)
            self._create(job)
            rec = ReconciliationStatus(job=job["metadata"]["name"])
        elif decision.create == "promote" and rec is not None and rec.report_hash:
            job = promote_job(spec, self.owner, self.config, rec.report_hash, attempt=decision.attempt)
            self._create(job)
            promo = PromotionStatus(report_hash=rec.report_hash, job=job["metadata"]["name"], started_at=self.now)
        elif rec is None and old.reconciliation is not None:
            rec = old.reconciliation  # keep the Job name recorded while it runs
        return StageResult(decision.wants, rec, promo)

    def _create(self, job: dict[str, Any]) -> None:
        created = self.kube.create_job(job)
        log.info(
            "%s Job %s/%s", "created" if created else "found", job["metadata"]["namespace"], job["metadata"]["name"]
        )

    def _report(self, url: str, job: str) -> ReconciliationStatus | None:
        raw = self.reader.get(url, report_key(self.owner.uid))
        if raw is None:
            return None
        summary = orjson.loads(raw)
        return delta.reconciliation_from(summary, job)

    def _promotion(
        self, url: str, plan: Plan, report_hash: str, job: str, old: PromotionStatus | None
    ) -> PromotionStatus | None:
        # The sandbox has the source's partition count (the operator created it so).
        mirrors = self.reader.promotions(url, self.owner.uid, range(plan.topic_partitions))
        if not any(c.report_hash == report_hash and c.state == "done" for c in mirrors.values()):
            return None
        done = delta.promotion_from(report_hash, mirrors, job, self.now)
        started = old.started_at if old is not None and old.report_hash == report_hash else None
        return done.model_copy(update={"started_at": started})
