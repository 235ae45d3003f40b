"""Conditions: set one keeping lastTransitionTime unless the status flips; derive the phase.

Semantics follow kstatus (so Argo CD and Flux can wait on a replay):
- Reconciling=True while the operator is working towards the spec (planning, replaying).
- Stalled=True when it cannot progress without a person (impossible plan, failed partitions).
- Ready=True when the desired state is reached: promoted; reconciled with policy Never; for a
  dry run: planned. A closed gate (AwaitingApproval, ThresholdExceeded) is Ready=False with
  Reconciling=False and Stalled=False: waiting for a person, neither working nor broken.
`kstatus` writes that triple for every state; the step conditions Planned and Replayed come from
`progress`, Reconciled and Promoted from `steps` (reconciliation and promotion).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .api.v1alpha1 import Condition, ConditionStatus

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
PLANNED = "Planned"
REPLAYED = "Replayed"
RECONCILED = "Reconciled"
PROMOTED = "Promoted"
POLICY_PERMISSIVE = "PolicyPermissive"
"""True on every replay a permissive install serves: a notice beside the kstatus triple, never a failure."""
ORDER = (READY, RECONCILING, STALLED, PLANNED, REPLAYED, RECONCILED, PROMOTED, POLICY_PERMISSIVE)
KState = Literal["Ready", "InProgress", "Waiting", "Stalled"]
"""Ready: desired state reached. InProgress: the operator is working on it. Waiting: neither
working nor broken (suspended, a closed gate waits for a person). Stalled: needs a person."""


@dataclass(frozen=True)
class Want:
    """A condition as computed, before its transition time is decided."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def kstatus(state: KState, reason: str, message: str = "", *, explain_idle: bool = False) -> list[Want]:
    """The Ready / Reconciling / Stalled triple for one state, all three under one reason.

    The message goes to every condition that is not simply "nothing to report": Ready always,
    Reconciling and Stalled when they say why (Reconciling=False on a Ready replay only with
    `explain_idle`, e.g. a dry run that stops by design).
    """
    ready = state == "Ready"
    working = state == "InProgress"
    stalled = state == "Stalled"
    return [
        Want(READY, "True" if ready else "False", reason, message),
        Want(RECONCILING, "True" if working else "False", reason, "" if ready and not explain_idle else message),
        Want(STALLED, "True" if stalled else "False", reason, message if stalled else ""),
    ]


def merge(old: Iterable[Condition], wanted: Iterable[Want], *, now: str, generation: int | None) -> list[Condition]:
    """New conditions list: lastTransitionTime kept from `old` unless the status changed.

    Types not in `wanted` are kept as they are (another step owns them), in a stable order.
    """
    previous = {c.type: c for c in old}
    result = dict(previous)
    for want in wanted:
        before = previous.get(want.type)
        since = before.last_transition_time if before and before.status == want.status else now
        result[want.type] = Condition(
            type=want.type,
            status=want.status,
            reason=want.reason,
            message=want.message[:32768],
            last_transition_time=since,
            observed_generation=generation,
        )
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(result.values(), key=lambda c: (rank.get(c.type, len(ORDER)), c.type))


def get(conditions: Iterable[Condition], kind: str) -> Condition | None:
    return next((c for c in conditions if c.type == kind), None)


def is_true(conditions: Iterable[Condition], kind: str) -> bool:
    found = get(conditions, kind)
    return found is not None and found.status == "True"


def transitions(old: Iterable[Condition], new: Iterable[Condition]) -> list[Condition]:
    """Conditions whose status or reason changed (each is worth a Kubernetes Event)."""
    before = {c.type: (c.status, c.reason) for c in old}
    return [c for c in new if before.get(c.type) != (c.status, c.reason)]


def phase(conditions: Iterable[Condition], *, suspended: bool, dry_run: bool) -> str:
    """The human summary (see api.v1alpha1.status.PHASES), from the furthest step reached."""
    conds = list(conditions)
    if is_true(conds, STALLED):
        return "Stalled"
    if is_true(conds, PROMOTED):
        return "Promoted"
    if is_true(conds, RECONCILED):
        promoted = get(conds, PROMOTED)
        return "Promoting" if promoted is not None and promoted.reason == "Promoting" else "Reconciled"
    if is_true(conds, REPLAYED):
        return "Replayed"  # and being reconciled
    if not is_true(conds, PLANNED):
        return "Pending"
    if dry_run:
        return "Planned"
    return "Suspended" if suspended else "Replaying"
