"""Which replays the status timer may skip, and which Job events wake a replay: pure deciders.

A replay waits on exactly two things: its Jobs (watched: a Job event wakes its owner) and its
spec (kopf's update handler). The timer exists only to poll progress while workers run and to
retry what waits on an outside system (Kafka or Redis unreachable). A replay at rest -- promoted,
a closed gate, a dry run, stalled until someone edits the spec -- costs no API call per tick: the
decision is read off the body kopf already holds from its watch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api.v1alpha1 import GROUP, KIND, VERSION
from .job_names import LABEL_UID

AT_REST = frozenset(
    {
        # Ready=True, nothing left to do
        "Promoted",
        "DryRun",
        # the gate is closed: only a spec change (approval, thresholds, policy) opens it
        "Reconciled",
        "AwaitingApproval",
        "ThresholdExceeded",
        "PolicyNever",
        # an External aggregate replay waits for spec.reconciliation.externalResults.complete
        "AwaitingExternalResults",
        # a rollout paused for a person (resumeAfterStep or abort), or aborted for good
        "PromotionPaused",
        "PromotionAborted",
        # stalled until someone edits the spec (retry bump or a new window)
        "PartitionsFailed",
        "ReconciliationFailed",
        "ReportMissing",
        "PromotionFailed",
        "CombineFailed",
        "CombineSummaryMissing",
        "ExternalResultsInvalid",
        "PoisonRatioExceeded",
        "ExistingOutputUnbounded",
        "InvalidSpec",
        "ImageNotAllowed",
        "TopicNotFound",
        "PartitionOutOfRange",
        "PartitionNotSelected",
        "RetentionExpired",
        "EmptyWindow",
    }
)
"""Ready reasons of a replay that only a spec change or one of its Jobs can move on."""


def _ready_reason(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("reason") or "")
    return ""


def at_rest(body: Mapping[str, Any]) -> bool:
    """True when the timer has nothing to do for this replay: its status answers its current
    generation and says it waits for a spec change or is finished."""
    status = body.get("status") or {}
    generation = (body.get("metadata") or {}).get("generation")
    if generation is None or status.get("observedGeneration") != generation:
        return False
    return _ready_reason(status) in AT_REST


def job_finished(job: Mapping[str, Any]) -> bool:
    """A Job reached Complete or Failed (or their early *Target conditions)."""
    conditions = (job.get("status") or {}).get("conditions") or []
    kinds = {"Complete", "SuccessCriteriaMet", "Failed", "FailureTarget"}
    return any(c.get("type") in kinds and c.get("status") == "True" for c in conditions)


def owner_reference(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """The EventReplay owning a Job of ours, as a minimal object (enough for sync and kopf.event)."""
    meta = job.get("metadata") or {}
    uid = (meta.get("labels") or {}).get(LABEL_UID)
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == KIND and ref.get("apiVersion") == f"{GROUP}/{VERSION}" and ref.get("uid") == uid:
            return {
                "apiVersion": ref["apiVersion"],
                "kind": KIND,
                "metadata": {"namespace": meta.get("namespace"), "name": ref.get("name"), "uid": uid},
            }
    return None
