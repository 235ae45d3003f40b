"""Worker pod placement and pull settings the platform grants (chart `worker.pod`, policy `workerPod`).

Only the platform sets these: operator-wide defaults from the chart (EVENTREPLAY_WORKER_POD) and
per project from the policy; an EventReplay's spec has no such field, so a tenant cannot schedule
onto other nodes, take another priority or borrow a ServiceAccount. Labels and annotations in the
operator's own key space (the owner and uid selectors it finds its Jobs by) or the Job
controller's are refused when the settings are loaded, so they can never override them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .api.v1alpha1 import GROUP
from .job_names import Owner, job_labels

WORKER_POD_ENV = "EVENTREPLAY_WORKER_POD"
RESERVED_PREFIXES = (f"{GROUP}/", "batch.kubernetes.io/")
"""Key spaces of the operator (replay, uid, partition, step, attempt) and of the Job controller."""
RESERVED_KEYS = frozenset(
    {*job_labels(Owner("", "", ""), 0, partition=0, step="combine"), "controller-uid", "job-name"}
)
"""Every label the operator puts on a worker pod, and the Job controller's legacy ones."""
_QUALIFIED = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_NAME = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"
AFFINITY_KINDS = frozenset({"nodeAffinity", "podAffinity", "podAntiAffinity"})


class Toleration(BaseModel):
    """A Kubernetes toleration (core/v1 Toleration)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    key: str | None = None
    operator: Literal["Equal", "Exists"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


def _check_keys(what: str, keys: dict[str, str]) -> dict[str, str]:
    for key in keys:
        if key in RESERVED_KEYS or key.startswith(RESERVED_PREFIXES):
            raise ValueError(f"{what} {key}: the operator's own key (its Jobs are found by it), not settable")
        if len(key.rsplit("/", 1)[-1]) > 63 or not _QUALIFIED.match(key):
            raise ValueError(f"{what} {key}: not a valid Kubernetes key")
    return keys


class WorkerPod(BaseModel):
    """Placement and pull settings of every worker pod (unset: the cluster's defaults)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    image_pull_secrets: list[str] = Field(
        default_factory=list, description="Secret names (in the replay's namespace) to pull the worker image."
    )
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    affinity: dict[str, Any] | None = Field(default=None, description="core/v1 Affinity, as Kubernetes takes it.")
    priority_class_name: str | None = Field(default=None, pattern=_DNS_NAME, max_length=253)
    labels: dict[str, str] = Field(default_factory=dict, description="Extra pod labels (never the operator's).")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra pod annotations.")
    service_account_name: str | None = Field(
        default=None,
        pattern=_DNS_NAME,
        max_length=253,
        description="The workers' ServiceAccount (e.g. for workload identity); its token stays unmounted.",
    )

    @field_validator("image_pull_secrets")
    @classmethod
    def _secret_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.match(_DNS_NAME, name) or len(name) > 253:
                raise ValueError(f"imagePullSecrets {name!r}: not a Secret name")
        return names

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in _check_keys("label", labels).items():
            if len(value) > 63 or not _LABEL_VALUE.match(value):
                raise ValueError(f"label {key}: value {value!r} is not a valid label value")
        return labels

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, annotations: dict[str, str]) -> dict[str, str]:
        return _check_keys("annotation", annotations)

    @field_validator("affinity")
    @classmethod
    def _affinity(cls, affinity: dict[str, Any] | None) -> dict[str, Any] | None:
        if affinity is not None and not set(affinity) <= AFFINITY_KINDS:
            raise ValueError(f"affinity: only {', '.join(sorted(AFFINITY_KINDS))}, not {sorted(set(affinity))}")
        return affinity


def merged(defaults: WorkerPod, project: WorkerPod | None) -> WorkerPod:
    """The project's settings over the operator's: lists extend the defaults (without repeats), maps
    are merged key by key (the project's value wins), single values and affinity are replaced."""
    if project is None:
        return defaults
    tolerations = [*defaults.tolerations, *(t for t in project.tolerations if t not in defaults.tolerations)]
    return WorkerPod(
        image_pull_secrets=list(dict.fromkeys([*defaults.image_pull_secrets, *project.image_pull_secrets])),
        node_selector={**defaults.node_selector, **project.node_selector},
        tolerations=tolerations,
        affinity=project.affinity if project.affinity is not None else defaults.affinity,
        priority_class_name=project.priority_class_name or defaults.priority_class_name,
        labels={**defaults.labels, **project.labels},
        annotations={**defaults.annotations, **project.annotations},
        service_account_name=project.service_account_name or defaults.service_account_name,
    )


def pod_spec_fields(pod: WorkerPod) -> dict[str, Any]:
    """The pod spec fields the settings add (none when unset, so a default install's pods are unchanged)."""
    fields: dict[str, Any] = {
        "imagePullSecrets": [{"name": n} for n in pod.image_pull_secrets],
        "nodeSelector": pod.node_selector,
        "tolerations": [t.model_dump(by_alias=True, exclude_none=True) for t in pod.tolerations],
        "affinity": pod.affinity,
        "priorityClassName": pod.priority_class_name,
        "serviceAccountName": pod.service_account_name,
    }
    return {k: v for k, v in fields.items() if v}


def pod_metadata(pod: WorkerPod, labels: dict[str, str]) -> dict[str, Any]:
    """The pod template's metadata: the platform's labels under the operator's `labels` (which win
    even if a reserved key slipped past validation), and the platform's annotations."""
    metadata: dict[str, Any] = {"labels": {**pod.labels, **labels}}
    if pod.annotations:
        metadata["annotations"] = dict(pod.annotations)
    return metadata


def parse(text: str) -> WorkerPod:
    """The operator-wide defaults from EVENTREPLAY_WORKER_POD (JSON; empty: none)."""
    if not text.strip():
        return WorkerPod()
    try:
        raw = json.loads(text)
        # The chart renders every key, unset ones empty ("", {}, []): empty means not set.
        return WorkerPod.model_validate({k: v for k, v in raw.items() if v not in ("", {}, [], None)})
    except (json.JSONDecodeError, AttributeError, ValidationError) as err:
        raise ValueError(f"{WORKER_POD_ENV}: {err}") from err
