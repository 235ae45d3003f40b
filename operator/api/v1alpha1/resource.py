"""The root EventReplay model: group/version/kind, metadata, spec and status, printer columns, root rules.

`EventReplay` is what an object read from the API server (or a manifest) parses into; the CRD
generator reads GROUP/VERSION/KIND/PLURAL, PRINTER_COLUMNS and ROOT_RULES from here. The header
checks (apiVersion, kind, metadata.name, metadata.namespace) are said once, in this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .base import DNS_LABEL_RE, ApiModel, rule
from .sink import RECORD_NEEDS_USER_TRANSFORM_RULE, SHAPE_NOT_AGGREGATE_RULE
from .spec import AGGREGATE_SKIP_PROCESSED_RULE, EXTERNAL_RESULTS_RULE, IMMUTABLE, EventReplaySpec
from .status import EventReplayStatus

GROUP = "eventreplay.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "EventReplay"
PLURAL = "eventreplays"
SHORT_NAMES = ["er"]
MAX_NAME = 100
"""metadata.name names the replay's topics (`eventreplay.<ns>.<name>.<short uid>.sandbox`)."""
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
DNS_LABEL = re.compile(DNS_LABEL_RE)


def _condition(kind: str) -> str:
    return f'.status.conditions[?(@.type=="{kind}")].status'


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Topic", "type": "string", "jsonPath": ".spec.source.topic"},
    {
        "name": "Partitions",
        "type": "string",
        "jsonPath": ".status.progress.partitions",
        "description": "done/total",
    },
    {"name": "Progress", "type": "integer", "jsonPath": ".status.progress.percent", "description": "percent"},
    {
        "name": "Rate",
        "type": "number",
        "jsonPath": ".status.progress.eventsPerSecond",
        "description": "events/s",
    },
    {"name": "ETA", "type": "string", "jsonPath": ".status.progress.eta"},
    {"name": "Reconciled", "type": "string", "jsonPath": _condition("Reconciled")},
    {"name": "Promoted", "type": "string", "jsonPath": _condition("Promoted")},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
"""What `kubectl get er` shows."""

_UNFROZEN = "!has(oldSelf.status) || !has(oldSelf.status.plan)"
"""A replay is frozen once planned, dry run or not: a dry run that should run for real is applied
as it is with `dryRun: false` (its pinned plan is kept), never edited into another replay (that
would let an approved report be promoted into another sink)."""


def frozen_rule(path: str) -> dict[str, str]:
    """`spec.<path>` may not change (nor appear or disappear) once the replay is planned."""
    parts = [to_camel(p) for p in path.split(".")]
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    present = " && ".join(f"has({{0}}.spec.{p})" for p in prefixes)
    field = ".".join(parts)
    new, old = present.format("self"), present.format("oldSelf")
    same = f"({new}) == ({old}) && (!({new}) || self.spec.{field} == oldSelf.spec.{field})"
    return rule(
        f"{_UNFROZEN} || ({same})",
        f"spec.{field} is immutable once the replay is planned: it decides the replayed output or the "
        "report; create a new EventReplay to replay with other settings",
        fieldPath=f".spec.{field}",
    )


ROOT_RULES = [
    rule(
        f"size(self.metadata.name) <= {MAX_NAME}",
        f"metadata.name: at most {MAX_NAME} characters (it names the sandbox and dead-letter topics)",
    ),
    AGGREGATE_SKIP_PROCESSED_RULE,
    EXTERNAL_RESULTS_RULE,
    SHAPE_NOT_AGGREGATE_RULE,
    RECORD_NEEDS_USER_TRANSFORM_RULE,
    *(frozen_rule(path) for path in IMMUTABLE),
]
"""CEL rules on the whole object (they may read `oldSelf.status`: "immutable once planned")."""


class ObjectMeta(ApiModel):
    """An EventReplay's metadata: the fields EventReplay code reads; every other field is kept as is."""

    # The API server adds fields (managedFields, finalizers, ownerReferences...): keep, never refuse them.
    model_config = ConfigDict(extra="allow")

    # The defaults of None are validated, so an absent or empty name says "required" like a bad one.
    name: str = Field(default=None, validate_default=True)
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise ValueError("required")
        if len(value) > MAX_NAME or not DNS_SUBDOMAIN.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits, '-' or '.', at most {MAX_NAME} characters")
        return value

    @field_validator("namespace", mode="before")
    @classmethod
    def _namespace(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not DNS_LABEL.match(value)):
            raise ValueError(f"{value!r} is not a valid namespace name")
        return value


class ApiObject(ApiModel):
    """What an object of each kind of this API has: its header (`apiVersion: eventreplay.io/v1alpha1`,
    `kind`, checked) and metadata; each kind adds its spec and status."""

    # Top-level fields beyond the header, metadata, spec and status mean nothing to the API server
    # (it prunes them): ignore them.
    model_config = ConfigDict(extra="ignore")
    object_kind: ClassVar[str]
    """The `kind` an object of this model must say."""

    api_version: str
    kind: str
    metadata: ObjectMeta

    @field_validator("api_version", "kind", mode="before")
    @classmethod
    def _header(cls, value: object, info: ValidationInfo) -> object:
        expected = {"api_version": API_VERSION, "kind": cls.object_kind}[str(info.field_name)]
        if value != expected:
            raise ValueError(f"must be {expected} (got {value!r})")
        return value

    @classmethod
    def desired(cls, obj: Mapping[str, Any]) -> Self:
        """The object as declared: header, metadata and spec validated, `status` left out.

        The status is the operator's record, not part of what is asked for: the operator reads
        it leniently on its own, and a manifest's copy (from `kubectl get -o yaml`) is ignored.
        """
        return cls.model_validate({key: value for key, value in obj.items() if key != "status"})


class EventReplay(ApiObject):
    """One EventReplay object: `apiVersion: eventreplay.io/v1alpha1`, `kind: EventReplay`, metadata, spec, status."""

    object_kind: ClassVar[str] = KIND

    spec: EventReplaySpec
    status: EventReplayStatus | None = None

    @model_validator(mode="before")
    @classmethod
    def _absent_is_none(cls, data: object) -> object:
        """A missing part reads as None, so it is refused by the same words as a wrong one, under its wire name."""
        if not isinstance(data, Mapping):
            return data
        absent = {
            field.alias or name: None
            for name, field in cls.model_fields.items()
            if name != "status" and field.alias not in data and name not in data
        }
        return {**absent, **data}

    @field_validator("metadata", "spec", mode="before")
    @classmethod
    def _mapping(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, Mapping | BaseModel):
            raise ValueError("required (with a name)" if info.field_name == "metadata" else "required (a mapping)")
        return value

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready object as given (fields that were not set are left out)."""
        return self.model_dump(by_alias=True, exclude_unset=True)
