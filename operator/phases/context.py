"""One pass's context: what it read before acting (`Pass`), what each phase hands the next
(`Planned`, `Replayed`) and what the pass returns (`Outcome`).

Everything a phase decides from is fixed here, before any phase acts: the object is read fresh
(never a stale handler body), and its status and spec are parsed once. Only `raw_status` moves,
with each status write, so the next write of the same pass is a diff against what was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from eventreplay.worker.contract.checkpoints import Checkpoint

from ..api.v1alpha1 import (
    Condition,
    EventReplay,
    EventReplaySpec,
    EventReplayStatus,
    ObjectMeta,
    PartitionProgress,
    Plan,
    Totals,
)
from ..clients import Clients
from ..conditions import Want
from ..events import Event
from ..job_names import Owner
from ..job_state import JobView
from ..kube import JSON
from ..planner import format_time


@dataclass(frozen=True)
class Outcome:
    events: list[Event]


@dataclass(frozen=True)
class Planned:
    """The plan phase's result: the policy-resolved spec, the pinned plan, the replay's Jobs."""

    spec: EventReplaySpec
    plan: Plan
    jobs: list[JobView]
    """Every Job of the replay as listed before this pass acted (partitions and steps)."""


@dataclass(frozen=True)
class Replayed:
    """The partitions phase's result: each partition's progress, the totals, the checkpoints read."""

    parts: list[PartitionProgress]
    totals: Totals
    checkpoints: dict[int, Checkpoint]

    @property
    def done(self) -> bool:
        return all(p.state == "Done" for p in self.parts)


@dataclass
class Pass:
    """One pass over one fetched replay."""

    c: Clients
    ns: str
    name: str
    now: datetime
    owner: Owner
    generation: int | None
    annotations: dict[str, str]
    raw_status: dict[str, Any]
    """The status as stored (then as last written by this pass)."""
    old: EventReplayStatus
    """The stored status, parsed (only its conditions when `invalid_status`)."""
    invalid_status: str
    """Why the stored status does not validate ('' when it does)."""
    spec: EventReplaySpec | None
    """The desired spec; None when it does not validate (`invalid` says why)."""
    invalid: str
    suspended: bool
    """Read from the raw spec: the phase of an invalid spec still says suspended / dry run."""
    dry_run: bool
    replanned: bool = False
    """This pass made a new plan: what the old status recorded per partition was another plan's."""
    notices: list[Want] = field(default_factory=list)
    """Conditions the plan phase wants on every status write of this pass (`plan.decide_notices`)."""

    @property
    def stamp(self) -> str:
        return format_time(self.now)


def read_pass(clients: Clients, namespace: str, name: str, *, obj: JSON, meta: ObjectMeta, now: datetime) -> Pass:
    """Parse the fetched object once: its status (or why not) and its desired spec (or why not)."""
    assert meta.uid is not None, "the API server sets metadata.uid"
    raw_status: dict[str, Any] = dict(obj.get("status") or {})
    invalid_status = ""
    try:
        old = EventReplayStatus.model_validate(raw_status)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        invalid_status = f"status.{where}: {first.get('msg', err)}"
        old = EventReplayStatus(conditions=_readable_conditions(raw_status))
    declared = obj.get("spec") or {}
    spec: EventReplaySpec | None = None
    invalid = ""
    try:
        spec = EventReplay.desired(obj).spec
    except ValidationError as err:
        invalid = f"spec is invalid: {err.errors()[0].get('msg', err)}"
    return Pass(
        c=clients,
        ns=namespace,
        name=name,
        now=now,
        owner=Owner(namespace, name, meta.uid),
        generation=meta.generation,
        annotations=dict(meta.annotations),
        raw_status=raw_status,
        old=old,
        invalid_status=invalid_status,
        spec=spec,
        invalid=invalid,
        suspended=bool(declared.get("suspend")),
        dry_run=bool(declared.get("dryRun")),
    )


def _readable_conditions(raw_status: JSON) -> list[Condition]:
    """The conditions of a status that failed validation, where they themselves still validate."""
    try:
        return [Condition.model_validate(c) for c in raw_status.get("conditions") or []]
    except ValidationError:
        return []
