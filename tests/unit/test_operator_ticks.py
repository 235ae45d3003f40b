"""The watch path's decisions: a replay at rest costs no API call per tick; a finished Job of
ours wakes exactly its owner."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from operator_fakes import REPORT_HASH, FakeKube, World, replay

from eventreplay.operator import handlers
from eventreplay.operator.ticks import at_rest, job_finished, owner_reference


class CountingKube:
    """Any Kubernetes call is recorded; the timer must make none for a replay at rest."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise AssertionError(f"unexpected Kubernetes call {name}")

        return call


@pytest.fixture(autouse=True)
def posted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """kopf.event needs a running operator's settings: record (object name, reason) instead."""
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(handlers.kopf, "event", lambda obj, **kw: seen.append((obj["metadata"]["name"], kw["reason"])))
    return seen


def at(reason: str, *, status: str = "True", observed: int = 1, generation: int = 1) -> dict[str, Any]:
    body = replay()
    body["metadata"]["generation"] = generation
    body["status"] = {
        "observedGeneration": observed,
        "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": ""}],
    }
    return body


@pytest.mark.parametrize("reason", ["Promoted", "PolicyNever", "PartitionsFailed", "EmptyWindow", "DryRun"])
def test_a_replay_at_rest_makes_no_api_call_per_tick(reason: str) -> None:
    kube = CountingKube()
    memo = SimpleNamespace(clients=SimpleNamespace(kube=kube))
    for _ in range(100):
        handlers.replay_status(memo=memo, body=at(reason), namespace="ns", name="r")  # type: ignore[arg-type]
    assert kube.calls == []


@pytest.mark.parametrize("reason", ["Replaying", "KafkaUnavailable", "Replayed", "Reconciling", "Promoting", ""])
def test_a_working_or_waiting_replay_is_polled(reason: str) -> None:
    assert not at_rest(at(reason, status="False"))


def test_a_spec_change_not_yet_observed_is_not_at_rest() -> None:
    assert not at_rest(at("Promoted", observed=1, generation=2))
    assert not at_rest(replay())  # never synced


def test_the_timer_on_a_working_replay_syncs_it() -> None:
    world = World()
    world.sync()
    body = copy.deepcopy(world.kube.obj)
    before = len(world.kube.patches) + len(world.kube.created)
    world.kube.finish(next(iter(world.kube.jobs)))
    memo = SimpleNamespace(clients=world.clients)
    handlers.replay_status(memo=memo, body=body, namespace="ns", name="r")  # type: ignore[arg-type]
    assert len(world.kube.patches) + len(world.kube.created) > before


def test_only_the_finished_or_waiting_steps_of_a_real_pass_are_at_rest() -> None:
    """Drive sync() from plan to Promoted: at rest only once nothing but a spec change can help."""
    world = World(kube=FakeKube(replay(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})))
    world.sync()
    assert not at_rest(world.kube.obj or {})  # replaying
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    world.sync()
    assert world.status["phase"] == "Replayed" and not at_rest(world.kube.obj or {})  # reconciling
    world.reconciliation_finished()
    world.sync()
    assert world.status["phase"] == "Promoting" and not at_rest(world.kube.obj or {})
    world.promotion_finished()
    world.sync()
    assert world.status["phase"] == "Promoted" and at_rest(world.kube.obj or {})
    world.edit(retry=1)
    assert not at_rest(world.kube.obj or {})  # a new generation is looked at


def test_a_closed_manual_gate_is_at_rest_until_approved() -> None:
    world = World(kube=FakeKube(replay(promotion={"policy": "Manual"})))
    world.sync()
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    world.sync()
    world.reconciliation_finished()
    world.sync()
    assert world.condition("Promoted") == ("False", "AwaitingApproval")
    assert at_rest(world.kube.obj or {})


def _job(conditions: list[dict[str, str]], *, uid: str = "u-1", ref_uid: str = "u-1") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "r-0",
            "namespace": "ns",
            "labels": {"eventreplay.io/replay-uid": uid},
            "ownerReferences": [
                {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay", "name": "r", "uid": ref_uid}
            ],
        },
        "status": {"conditions": conditions},
    }


def test_job_finished_reads_the_terminal_conditions() -> None:
    assert job_finished(_job([{"type": "Complete", "status": "True"}]))
    assert job_finished(_job([{"type": "FailureTarget", "status": "True"}]))
    assert not job_finished(_job([{"type": "Suspended", "status": "True"}]))
    assert not job_finished(_job([{"type": "Complete", "status": "False"}]))


def test_owner_reference_names_the_replay_whose_uid_the_label_carries() -> None:
    ref = owner_reference(_job([]))
    assert ref is not None and ref["metadata"] == {"namespace": "ns", "name": "r", "uid": "u-1"}
    assert owner_reference(_job([], ref_uid="other")) is None


def test_a_finished_job_event_syncs_its_owner_and_a_running_one_does_not(posted: list[tuple[str, str]]) -> None:
    world = World()
    world.sync()
    memo = SimpleNamespace(clients=world.clients)
    name = next(iter(world.kube.jobs))
    running = copy.deepcopy(world.kube.jobs[name])
    patches = len(world.kube.patches)
    handlers.job_changed(memo=memo, body=running, event={"type": "MODIFIED"})  # type: ignore[arg-type]
    assert len(world.kube.patches) == patches
    world.kube.finish(name)
    done = copy.deepcopy(world.kube.jobs[name])
    handlers.job_changed(memo=memo, body=done, event={"type": None})  # type: ignore[arg-type]
    assert len(world.kube.patches) == patches  # initial listing: resume covers it
    handlers.job_changed(memo=memo, body=done, event={"type": "MODIFIED"})  # type: ignore[arg-type]
    assert len(world.kube.patches) > patches
    assert ("r", "PartitionFinished") in posted  # Events go to the replay, not the Job
