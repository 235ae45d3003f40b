"""Progressive promotion driven by the operator, on the real stack (`spec.promotion.rollout`).

The seeded scenario's delta is promoted in steps while a real downstream consumer group reads the
sink. While it keeps up, each step passes its lag analysis; once it stops, the lag the next step
adds pauses the rollout (`PromotionPaused`, a Warning Event); resumed through the spec, the rollout
completes and every delta record is in the sink exactly once. An abort through the spec leaves the
rest of the delta unwritten; the operator SIGKILLed between steps changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Consumer

from support.kafka_tools import read_topic
from support.operator_driver import OperatorDriver
from support.operator_process import CHECKOUT_WORKER
from support.reconciliation_checks import check_sink, replay_spec
from support.reconciliation_scenario import DEST_PARTITIONS, Scenario
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack
WORKER = {"EVENTREPLAY_WORKER_COMMAND": CHECKOUT_WORKER}


@contextmanager
def downstream(bootstrap: str, topic: str, group: str) -> Iterator[threading.Event]:
    """A consumer group reading the sink and committing as it goes until the event is set."""
    stop = threading.Event()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])

    def consume() -> None:
        while not stop.is_set():
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                consumer.commit(msg, asynchronous=False)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(10)
        consumer.close()


def _rollout(group: str, **more: Any) -> dict[str, Any]:
    analysis = {"consumerGroups": [group], "maxLagGrowth": 3}
    automatic = {"policy": "Automatic", "thresholds": {"maxInvalidRatio": 1}}  # the scenario dead-letters some
    return {**automatic, "rollout": {"steps": ["10%", "40%"], "analysis": analysis, **more}}


def _steps(replay: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((replay["status"].get("promotion") or {}).get("rollout") or {}).get("steps") or [])


def _promoted_ids(bootstrap: str, sc: Scenario) -> list[str]:
    return [
        rec.key.decode()
        for _, rec in read_topic(bootstrap, sc.destination, DEST_PARTITIONS)
        if rec.key is not None and "er-promoted-by" in rec.headers
    ]


def test_a_rollout_pauses_on_a_stalled_consumer_and_completes_once_resumed(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=800, seed=31, run_workers=False)
    group = f"downstream-{unique}"
    with driver.running(env=WORKER) as op, downstream(kafka_bootstrap, sc.destination, group) as stop:
        driver.create("steps", replay_spec(sc, unique, _rollout(group, pauseSeconds=10)))
        first = driver.wait_for_replay("steps", lambda r: len(_steps(r)) >= 1, "step 1 passed", timeout=400)
        assert _steps(first)[0]["index"] == 1
        stop.set()  # the consumer stops: the next step's records pile up in its lag
        op.kill()  # and the operator dies between steps: nothing is lost or written twice
        op.start()
        paused = driver.wait_for_replay(
            "steps",
            lambda r: driver.condition(r, "Promoted").get("reason") == "PromotionPaused",
            "paused on the lag",
            timeout=400,
        )
        status = paused["status"]["promotion"]["rollout"]
        assert status["phase"] == "Paused" and status["pausedAfterStep"] == 2
        assert f"{group}: lag grew" in status["message"]
        driver.wait_for_event(paused, "PromotionPaused")
        written = len(_promoted_ids(kafka_bootstrap, sc))
        assert 0 < written < len(sc.delta), "paused part way"

        driver.patch_spec("steps", {"promotion": _rollout(group, pauseSeconds=10, resumeAfterStep=2)})
        done = driver.wait_for_replay(
            "steps", lambda r: driver.condition(r, "Ready").get("status") == "True", "promoted", timeout=400
        )
    rollout = done["status"]["promotion"]["rollout"]
    assert rollout["phase"] == "Completed" and [s["index"] for s in rollout["steps"]] == [1, 2, 3]
    assert done["status"]["promotion"]["written"] == len(sc.delta)
    assert sorted(_promoted_ids(kafka_bootstrap, sc)) == sorted(sc.delta), "every delta record once"
    check_sink(kafka_bootstrap, sc, namespace, "steps", done["status"]["promotion"]["reportHash"])


def test_an_abort_leaves_the_rest_unwritten(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=800, seed=37, run_workers=False)
    group = f"stalled-{unique}"  # never consumes: its lag grows with the first step
    with driver.running(env=WORKER):
        driver.create("aborts", replay_spec(sc, unique, _rollout(group, onFailure="Abort")))
        aborted = driver.wait_for_replay(
            "aborts",
            lambda r: driver.condition(r, "Ready").get("reason") == "PromotionAborted",
            "aborted on the lag",
            timeout=400,
            stalled_fails=False,  # an aborted rollout is Stalled: only a new report promotes again
        )
        written = len(_promoted_ids(kafka_bootstrap, sc))
        driver.wait_for_event(aborted, "PromotionAborted")
    assert aborted["status"]["promotion"]["rollout"]["phase"] == "Aborted"
    assert written == len(set(_promoted_ids(kafka_bootstrap, sc))) < len(sc.delta), "the rest never written"
