"""The root EventReplayWatch model: kind, plural, printer columns, and the object read from the API.

Same group and version as the EventReplay (`resource.py`), the same header checks and metadata model
(`resource.ApiObject`); a watch's name is shorter, as its drafts' names (`<watch>-gap-<hash>`) must
fit an EventReplay's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from .base import rule
from .resource import ApiObject, ObjectMeta
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


class EventReplayWatch(ApiObject):
    """One EventReplayWatch object: header, metadata, spec, status."""

    object_kind: ClassVar[str] = WATCH_KIND

    spec: EventReplayWatchSpec
    status: EventReplayWatchStatus | None = Field(default=None)

    @field_validator("metadata", mode="after")
    @classmethod
    def _short_name(cls, value: ObjectMeta) -> ObjectMeta:
        if len(value.name) > WATCH_MAX_NAME:
            raise ValueError(f"metadata.name: at most {WATCH_MAX_NAME} characters (its drafts are named after it)")
        return value
