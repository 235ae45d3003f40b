"""The watch's status write: a merge patch of the top-level fields that changed (explicit nulls for
removed ones), with its conditions merged (transition times kept) and its generation observed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import conditions as cond
from ..api.v1alpha1 import EventReplayWatchStatus
from ..conditions import Want
from .context import WatchPass
from .replay_spec import rfc3339


def as_wire(status: EventReplayWatchStatus) -> dict[str, Any]:
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


def with_conditions(
    status: EventReplayWatchStatus, wants: list[Want], now: datetime, generation: int | None
) -> EventReplayWatchStatus:
    merged = cond.merge(status.conditions, wants, now=rfc3339(now), generation=generation)
    return status.model_copy(update={"conditions": merged, "observed_generation": generation})


def patch_of(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed at the top level; a field gone is written as null (a merge patch removes it)."""
    return {key: new.get(key) for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)}


def write(p: WatchPass, status: EventReplayWatchStatus) -> None:
    """Patch the status to `status` if it differs from what this pass last wrote (or read)."""
    before = p.written if p.written is not None else as_wire(p.old)
    after = as_wire(status)
    patch = patch_of(before, after)
    if patch:
        p.kube.patch_watch_status(p.ns, p.name, patch)
    p.written = after
