"""Which replays keep the status timer (and so kopf's finalizer): all but those at rest."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.operator.handlers import is_active


def _body(ready_reason: str | None, generation: int = 1, observed: int | None = 1) -> Any:
    conditions = [{"type": "Ready", "status": "False", "reason": ready_reason}] if ready_reason else []
    status = {"observedGeneration": observed, "conditions": conditions} if ready_reason else {}
    return {"metadata": {"generation": generation}, "spec": {}, "status": status}


@pytest.mark.parametrize(
    ("body", "active"),
    [
        (_body(None, observed=None), True),  # never synced
        (_body("Replaying"), True),
        (_body("Reconciling"), True),
        (_body("Promoting"), True),
        (_body("KafkaUnavailable"), True),  # waits on an outside system: the timer retries
        (_body("NotAllowed"), True),  # a growing policy picks it up on a later pass
        (_body("SandboxInUse"), True),  # retried until the foreign topic is gone
        (_body("Promoted"), False),
        (_body("Reconciled"), False),  # policy Never: the end
        (_body("AwaitingApproval"), False),
        (_body("PartitionsFailed"), False),
        (_body("PoisonRatioExceeded"), False),
        (_body("CombineFailed"), False),
        (_body("DryRun"), False),
        (_body("Promoted", generation=2, observed=1), True),  # a spec change not yet acted on
    ],
)
def test_replays_at_rest_get_no_timer(body: Any, active: bool) -> None:
    assert is_active(body) is active
