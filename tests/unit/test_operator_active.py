"""Which replays keep the status timer (and so kopf's finalizer): all but the settled end states."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.operator.handlers import is_active


def _body(phase: str | None, promoted: str = "", generation: int = 1, observed: int | None = 1, **spec: Any) -> Any:
    conditions = [{"type": "Promoted", "status": "False", "reason": promoted}] if promoted else []
    status = {"phase": phase, "observedGeneration": observed, "conditions": conditions} if phase else {}
    return {"metadata": {"generation": generation}, "spec": spec, "status": status}


@pytest.mark.parametrize(
    ("body", "active"),
    [
        (_body(None, observed=None), True),  # never synced
        (_body("Replaying"), True),
        (_body("Replayed"), True),
        (_body("Promoting"), True),
        (_body("Reconciled", "Approved"), True),
        (_body("Promoted"), False),
        (_body("Stalled"), False),
        (_body("Reconciled", "AwaitingApproval"), False),
        (_body("Reconciled", "PolicyNever"), False),
        (_body("Reconciled", "ThresholdExceeded"), False),
        (_body("Planned", dryRun=True), False),
        (_body("Planned"), True),
        (_body("Promoted", generation=2, observed=1), True),  # a spec change not yet acted on
    ],
)
def test_settled_replays_are_not_active(body: Any, active: bool) -> None:
    assert is_active(body) is active
