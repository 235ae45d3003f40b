"""The root EventReplayWatch model: kind, plural, printer columns, and the object read from the API.

Same group and version as the EventReplay (`resource.py`), and the same metadata model; a watch's
name is shorter, as its drafts' names (`<watch>-gap-<hash>`) must fit an EventReplay's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from .base import ApiModel, rule
from .resource import API_VERSION, ObjectMeta
from .watch_spec import EventReplayWatchSpec
from .watch_status import EventReplayWatchStatus

WATCH_KIND = "EventReplayWatch"
WATCH_PLURAL = "eventreplaywatches"
WATCH_SHORT_NAMES = ["erw"]
WATCH_MAX_NAME = 80
"""Room for a draft's `-gap-<12 hex>` within an EventReplay name's 100 characters."""

WATCH_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Topic", "type": "string", "jsonPath": ".spec.source.topic"},
    {"name": "Sink", "type": "string", "jsonPath": ".spec.sink.topic"},
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Gaps", "type": "integer", "jsonPath": ".status.gapsTotal"},
    {"name": "Missing", "type": "integer", "jsonPath": ".status.missingEvents"},
    {"name": "Last scan", "type": "date", "jsonPath": ".status.lastScan.time"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
"""What `kubectl get erw` shows."""

WATCH_ROOT_RULES = [
    rule(
        f"size(self.metadata.name) <= {WATCH_MAX_NAME}",
        f"metadata.name: at most {WATCH_MAX_NAME} characters (its drafts are named after it)",
    ),
]


class EventReplayWatch(ApiModel):
    """One EventReplayWatch object: header, metadata, spec, status."""

    model_config = ConfigDict(extra="ignore")

    api_version: str
    kind: str
    metadata: ObjectMeta
    spec: EventReplayWatchSpec
    status: EventReplayWatchStatus | None = Field(default=None)

    @field_validator("api_version", "kind", mode="before")
    @classmethod
    def _header(cls, value: object, info: ValidationInfo) -> object:
        expected = {"api_version": API_VERSION, "kind": WATCH_KIND}[str(info.field_name)]
        if value != expected:
            raise ValueError(f"must be {expected} (got {value!r})")
        return value

    @field_validator("metadata", mode="after")
    @classmethod
    def _short_name(cls, value: ObjectMeta) -> ObjectMeta:
        if len(value.name) > WATCH_MAX_NAME:
            raise ValueError(f"metadata.name: at most {WATCH_MAX_NAME} characters (its drafts are named after it)")
        return value

    @classmethod
    def desired(cls, obj: Mapping[str, Any]) -> EventReplayWatch:
        """The object as declared (its status left out: the operator reads that leniently)."""
        return cls.model_validate({key: value for key, value in obj.items() if key != "status"})
