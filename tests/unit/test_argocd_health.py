"""The Argo CD health check (docs/argocd-health.lua) against statuses the operator really writes.

Argo CD runs health scripts in gopher-lua (Lua 5.1) with the live object in the global `obj`;
lupa's bundled Lua 5.1 runs the same script here. Most statuses below come from the operator's
own condition builders, so a change in the operator's reasons shows up as a failing test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lupa import lua51
from operator_fixtures import plan, spec

from eventreplay.operator import conditions as cond
from eventreplay.operator import progress
from eventreplay.operator.api.v1alpha1 import EventReplayStatus, PartitionProgress, PartitionState, Totals
from eventreplay.operator.conditions import Want

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "argocd-health.lua"
README = ROOT / "charts" / "eventreplay-operator" / "README.md"
NOW = "2026-11-20T12:00:00.000Z"
PLAN = plan([(0, 0, 100), (1, 100, 200)])


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """Run the script like Argo CD does: `obj` global, the chunk returns {status, message}."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT.read_text())
    return str(result["status"]), str(result["message"])


def replay(wanted: list[Want] | None, *, generation: int = 1, observed: int | None = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "orders", "namespace": "payments", "generation": generation},
    }
    if wanted is not None:
        conditions = cond.merge([], wanted, now=NOW, generation=observed)
        obj["status"] = EventReplayStatus(observed_generation=observed, conditions=conditions).to_wire()
    return obj


def parts(*states: PartitionState) -> list[PartitionProgress]:
    return [
        PartitionProgress(partition=i, state=s, message="boom" if s == "Failed" else None) for i, s in enumerate(states)
    ]


def test_no_status_yet_is_progressing() -> None:
    assert health(replay(None))[0] == "Progressing"


def test_an_unobserved_generation_is_progressing_even_if_the_old_one_was_ready() -> None:
    done = progress.replay_conditions(spec(), PLAN, parts("Done", "Done"), Totals())
    status, message = health(replay(done, generation=3, observed=2))
    assert (status, message) == ("Progressing", "Waiting for the operator to observe generation 3")
    assert health(replay(done, generation=3, observed=None))[0] == "Progressing"


def test_planning_that_waits_for_kafka_is_progressing_with_the_reconciling_message() -> None:
    wanted = progress.waiting_conditions("KafkaUnavailable", "Kafka k:9092 unreachable: retrying")
    assert health(replay(wanted)) == ("Progressing", "Kafka k:9092 unreachable: retrying")


def test_a_running_replay_is_progressing() -> None:
    wanted = progress.replay_conditions(spec(), PLAN, parts("Done", "Running"), Totals())
    assert health(replay(wanted)) == ("Progressing", "1/2 partitions done")


def test_a_suspended_replay_is_suspended() -> None:
    wanted = progress.replay_conditions(spec(suspend=True), PLAN, parts("Done", "Suspended"), Totals())
    status, message = health(replay(wanted))
    assert status == "Suspended"
    assert "clear spec.suspend to resume" in message


@pytest.mark.parametrize("reason", ["RetentionExpired", "TopicNotFound", "ImageNotAllowed"])
def test_an_impossible_plan_is_degraded_with_its_message(reason: str) -> None:
    wanted = progress.refused_conditions(reason, f"refused: {reason}")
    assert health(replay(wanted)) == ("Degraded", f"refused: {reason}")


def test_failed_partitions_are_degraded() -> None:
    wanted = progress.replay_conditions(spec(), PLAN, parts("Done", "Failed"), Totals())
    status, message = health(replay(wanted))
    assert status == "Degraded"
    assert message.startswith("partitions 1 failed (1: boom)")


def test_a_finished_replay_and_a_planned_dry_run_are_healthy() -> None:
    done = progress.replay_conditions(spec(), PLAN, parts("Done", "Done"), Totals(read=7, emitted=7))
    assert health(replay(done + progress.placeholder_conditions(spec())))[0] == "Healthy"
    dry = progress.replay_conditions(spec(dryRun=True), PLAN, parts("Pending", "Pending"), Totals())
    assert health(replay(dry)) == ("Healthy", "dry run: plan only; set spec.dryRun to false to replay")


GATE = "report 3f2a9c approved by nobody yet: set spec.promotion.approvedReportHash to 3f2a9c"


@pytest.mark.parametrize("where", ["Ready", "Promoted"])
def test_awaiting_approval_is_suspended(where: str) -> None:
    # The gate's reasons (issue 5): AwaitingApproval / ThresholdExceeded, on Ready or on Promoted.
    replayed = progress.replay_conditions(spec(), PLAN, parts("Done", "Done"), Totals())
    wanted = [w for w in replayed if w.type != cond.READY] + [
        Want(cond.READY, "False", "AwaitingApproval" if where == "Ready" else "Reconciled", GATE),
        Want(cond.RECONCILED, "True", "Reconciled", "3 changed, 2 missing"),
        Want(cond.PROMOTED, "False", "AwaitingApproval", GATE),
    ]
    assert health(replay(wanted)) == ("Suspended", GATE)


def test_an_exceeded_threshold_is_suspended_with_the_figures() -> None:
    message = "changed ratio 0.31 exceeds maxChangedRatio 0.10"
    wanted = [
        Want(cond.READY, "False", "ThresholdExceeded", message),
        Want(cond.RECONCILING, "False", "ThresholdExceeded", message),
        Want(cond.STALLED, "False", "ThresholdExceeded"),
        Want(cond.PROMOTED, "False", "ThresholdExceeded", message),
    ]
    assert health(replay(wanted)) == ("Suspended", message)


def test_stalled_wins_over_a_closed_gate() -> None:
    wanted = [
        Want(cond.READY, "False", "AwaitingApproval", GATE),
        Want(cond.STALLED, "True", "PromotionFailed", "promotion Job failed: destination topic missing"),
    ]
    assert health(replay(wanted)) == ("Degraded", "promotion Job failed: destination topic missing")


def test_the_readme_snippet_is_the_script() -> None:
    text = README.read_text()
    match = re.search(
        r"resource\.customizations\.health\.eventreplay\.io_EventReplay: \|\n(?P<body>(?:    .*\n|\n)+?)```", text
    )
    assert match, "the argocd-cm snippet is missing from the chart README"
    body = "\n".join(line[4:] for line in match["body"].rstrip("\n").split("\n")) + "\n"
    assert body == SCRIPT.read_text()
