"""What identifies a Job the operator owns: its name, labels and annotations, each defined once.

Names are deterministic (`<replay>-<partition>`, `<replay>-reconcile`, `<replay>-promote-<hash[:12]>`,
plus `-r<n>` for a retry), so creating a Job twice finds the first one. Partition Jobs carry the
partition label, the reconciliation and promotion Jobs the step label; `job_state.read_job` reads
exactly these back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from .api.v1alpha1 import GROUP, KIND, VERSION

Step = Literal["combine", "reconcile", "promote"]
STEPS: tuple[Step, ...] = ("combine", "reconcile", "promote")
LABEL_UID = f"{GROUP}/replay-uid"
LABEL_REPLAY = f"{GROUP}/replay"
LABEL_PARTITION = f"{GROUP}/partition"
LABEL_STEP = f"{GROUP}/step"
LABEL_ATTEMPT = f"{GROUP}/attempt"
ANNOTATION_PLAN = f"{GROUP}/plan-hash"
ANNOTATION_REPORT = f"{GROUP}/report-hash"
ANNOTATION_REFRESH = f"{GROUP}/refresh"
ANNOTATION_ROLLOUT_STEP = f"{GROUP}/rollout-step"
MAX_NAME = 63
"""The job-name label's limit, which the Job name must respect."""
WORKER_LABELS = {"app.kubernetes.io/name": "eventreplay-worker", "app.kubernetes.io/managed-by": "eventreplay-operator"}
"""On every worker Job (and pod) the operator creates, a replay's or a watch's."""


@dataclass(frozen=True)
class Owner:
    """The object a Job belongs to: an EventReplay, or the EventReplayWatch of a scan Job."""

    namespace: str
    name: str
    uid: str


def fitted_name(replay: str, suffix: str) -> str:
    """`<replay><suffix>` in at most 63 characters: a long replay name is cut and a hash of it
    keeps two long names apart."""
    if len(replay) + len(suffix) <= MAX_NAME:
        return replay + suffix
    digest = hashlib.sha256(replay.encode()).hexdigest()[:6]
    head = replay[: MAX_NAME - len(suffix) - len(digest) - 1].rstrip(".-")
    return f"{head}-{digest}{suffix}"


def _retry(attempt: int) -> str:
    return f"-r{attempt}" if attempt else ""


def job_name(replay: str, partition: int, attempt: int = 0) -> str:
    """`<replay>-<partition>[-r<attempt>]`: the partition's worker Job."""
    return fitted_name(replay, f"-{partition}{_retry(attempt)}")


def step_job_name(replay: str, step: str, attempt: int = 0) -> str:
    """`<replay>-<step>[-r<attempt>]`: a Job after the replay."""
    return fitted_name(replay, f"-{step}{_retry(attempt)}")


def reconciliation_job_name(replay: str, attempt: int = 0, refresh: int = 0) -> str:
    """`<replay>-reconcile[-f<refresh>][-r<attempt>]`: each refresh gets its own Job."""
    return step_job_name(replay, "reconcile" + (f"-f{refresh}" if refresh else ""), attempt)


def promotion_job_name(replay: str, report_hash: str, attempt: int = 0, rollout_step: int = 0) -> str:
    """The report hash is in the name: another report gets another Job, the same one finds its own;
    a rollout's step too (`-s<n>`)."""
    step = f"-s{rollout_step}" if rollout_step else ""
    return step_job_name(replay, f"promote-{report_hash[:12]}{step}", attempt)


def schema_config_map_name(replay: str, sha256: str) -> str:
    """`<replay>-schema-<sha256[:12]>`: the replay's JSON Schema, named by its content."""
    return fitted_name(replay, f"-schema-{sha256[:12]}")


def label_value(text: str) -> str:
    """A valid label value (<= 63 chars, alnum at both ends) naming `text`."""
    if len(text) <= MAX_NAME:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9]+$", "", text[:56]) + "-" + digest


def owned_labels(owner: Owner) -> dict[str, str]:
    """The labels of everything the operator creates for a replay (its Jobs, pods and ConfigMap)."""
    return {**WORKER_LABELS, LABEL_REPLAY: label_value(owner.name), LABEL_UID: owner.uid}


def owner_reference(owner: Owner, kind: str = KIND) -> dict[str, str | bool]:
    """The owner (a replay, or a watch: `kind`) as controller of what it owns: deleted with it by
    Kubernetes' garbage collector."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def job_labels(owner: Owner, attempt: int, *, partition: int | None = None, step: Step | None = None) -> dict[str, str]:
    """A Job's (and its pods') labels: the replay's, and either its partition or its step."""
    labels = owned_labels(owner)
    if partition is not None:
        labels[LABEL_PARTITION] = str(partition)
    if step is not None:
        labels[LABEL_STEP] = step
    labels[LABEL_ATTEMPT] = str(attempt)
    return labels


def owned_by(owner: Owner) -> str:
    """The label selector of every Job of one replay."""
    return f"{LABEL_UID}={owner.uid}"
