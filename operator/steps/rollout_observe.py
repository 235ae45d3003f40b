"""What a rollout decides from (`rollout.RolloutFacts`), gathered: the quotas its report's delta
gives, the steps status records, the records its promoters handled once a step Job succeeded, and
the consumer groups' lag between steps. Reads Redis (the promoters' checkpoints) and Kafka (the
lag); a lag that cannot be read is None, and the rollout waits for it."""

from __future__ import annotations

from datetime import datetime

from eventreplay.worker.contract.names import Tenant

from ..api.v1alpha1 import EventReplaySpec, Plan, PromotionStatus, ReconciliationStatus
from ..clients import CheckpointPort, KafkaPort
from ..job_state import JobView
from ..kafka import KafkaUnavailable
from .rollout import RolloutFacts, quotas


def observe_rollout(
    spec: EventReplaySpec,
    plan: Plan,
    rec: ReconciliationStatus,
    promo: PromotionStatus | None,
    pj: JobView | None,
    *,
    ports: tuple[CheckpointPort, KafkaPort],
    where: tuple[str, Tenant, str],
    now: datetime,
) -> RolloutFacts | None:
    """The rollout's facts (None without a rollout). `where`: the Redis URL, the key tenant, the uid.
    CheckpointsUnavailable propagates (the caller's Redis outage)."""
    rollout = spec.promotion.rollout
    if rollout is None or not rec.report_hash:
        return None
    reader, kafka = ports
    url, tenant, uid = where
    status = promo.rollout if promo is not None and promo.report_hash == rec.report_hash else None
    steps = quotas(rollout, rec.delta_by_partition or {})
    handled = None
    if pj is not None and pj.state == "Succeeded" and 0 < pj.rollout_step < len(steps):
        mirrors = reader.promotions(url, tenant, uid, range(plan.topic_partitions))
        mine = [c for c in mirrors.values() if c.report_hash == rec.report_hash]
        handled = sum(c.handled for c in mine)
    lag = None
    if rollout.analysis is not None and (pj is None or pj.terminal):
        try:
            lag = kafka.consumer_lag(spec.source.bootstrap_servers, spec.sink.topic, rollout.analysis.consumer_groups)
        except KafkaUnavailable:
            lag = None  # the rollout waits and reads again next pass
    return RolloutFacts(rollout, steps, status, pj, handled, lag, now)


def finishes_promotion(spec: EventReplaySpec, rec: ReconciliationStatus, pj: JobView) -> bool:
    """Whether a succeeded promotion Job ends the promotion: a whole one, or a rollout's last step (an
    earlier step leaves partitions `paused`; those without delta are `done` from the first step on)."""
    rollout = spec.promotion.rollout
    if rollout is None or pj.rollout_step == 0:
        return True
    return pj.rollout_step >= len(quotas(rollout, rec.delta_by_partition or {}))
