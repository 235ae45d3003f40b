"""What one pass over a watch read before acting, and what it hands on: the watch, its spec and
status, the clients, the Events it is worth (posted by the handler on the watch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..api.v1alpha1 import EventReplayWatchSpec, EventReplayWatchStatus
from ..clients import Clients
from ..events import Event
from ..job_names import Owner
from .kube import WatchKubePort


@dataclass
class WatchPass:
    c: Clients
    kube: WatchKubePort
    owner: Owner
    spec: EventReplayWatchSpec
    old: EventReplayWatchStatus
    generation: int | None
    now: datetime
    events: list[Event] = field(default_factory=list)
    written: dict[str, Any] | None = None
    """The status as last written by this pass (what the next write is a patch against)."""

    @property
    def ns(self) -> str:
        return self.owner.namespace

    @property
    def name(self) -> str:
        return self.owner.name
