"""Blocked worker pods on the real node (issue 28, item 3): a worker image that does not exist, a
credentials Secret that does not exist and a node selector no node matches each reach, within 60 s,
a condition reason (PodsBlocked while the cause may lift, PodsStalled when a person must act) and
exactly one PodBlocked Warning Event naming the pod, its container and the cause; not one per pass.

The first two run on the real kubelet (the test namespace's PodNodeSelector annotation steers its
pods there); the third has a selector nothing carries, which the stack's scheduler (the node
harness) reports as kube-scheduler does: PodScheduled=False, reason Unschedulable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from devstack import config, containerd, images, kubelet
from support.kafka_tools import seed_partitions
from support.operator_driver import OperatorDriver

pytestmark = pytest.mark.stack

INTERVAL = 2.0
"""The operator's --status-interval here: the passes that must not repeat the Event."""
MISSING_IMAGE = "127.0.0.1:9/eventreplay/missing-worker:nope"


def spec(topic: str, **source: Any) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic, **source},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"blocked-{topic}"},
        "sink": {"topic": f"{topic}-out"},
        "promotion": {"policy": "Never"},
    }


def steer(kube_api: Any, namespace: str, selector: str) -> None:
    """The namespace's pods get `selector` as their nodeSelector (PodNodeSelector admission)."""
    from kubernetes import client

    annotations = {kubelet.NODE_SELECTOR_ANNOTATION: selector}
    client.CoreV1Api(kube_api).patch_namespace(namespace, {"metadata": {"annotations": annotations}})


def pod_blocked_events(driver: OperatorDriver, replay: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in driver.events(replay) if (e["type"], e["reason"]) == ("Warning", "PodBlocked")]


def surfaced(
    driver: OperatorDriver, name: str, reason: str, cause: str, *, settled: Callable[[], bool] = lambda: True
) -> dict[str, Any]:
    """Within 60 s the triple's reason and one PodBlocked Event naming the pod, container and cause;
    once `settled` (the kubelet said its next word) and three more passes, still that one Event."""
    started = time.monotonic()
    replay = driver.wait_for_replay(
        name, lambda r: driver.condition(r, "Ready").get("reason") == reason, reason, timeout=60, stalled_fails=False
    )
    (part,) = [p for p in replay["status"]["partitions"] if p.get("blocked")]
    blocked = part["blocked"]
    assert blocked["cause"] == cause, blocked
    left = max(1.0, 60 - (time.monotonic() - started))
    (event,) = driver.wait_for(lambda: pod_blocked_events(driver, replay) or None, left, "a PodBlocked Event")
    assert blocked["pod"] in event["message"] and cause in event["message"], event["message"]
    if blocked.get("container"):
        assert f"container {blocked['container']}" in event["message"], event["message"]
    # The kubelet backs a failed pull off (10 s, doubling) and syncs on its own clock: not bound by the 60 s.
    driver.wait_for(lambda: settled() or None, 180, "the pod's next status")
    time.sleep(3 * INTERVAL)  # absence can only be shown over passes: three of them
    assert len(pod_blocked_events(driver, replay)) == 1, "one Event per pod and cause, not one per pass"
    return replay


@pytest.fixture
def node_image(real_node: dict[str, str]) -> str:
    """The worker image as built, present in the real node's containerd (never pulled)."""
    image = images.project_image()
    containerd.import_image(image)
    return image


def test_a_missing_image_waits_with_pods_blocked(
    driver: OperatorDriver, real_node: dict[str, str], *, namespace: str, kube_api: Any, kafka_admin: Any, unique: str
) -> None:
    topic = f"blocked-image-{unique}"
    seed_partitions(kafka_admin, config.kafka_bootstrap(), topic, (20,))
    steer(kube_api, namespace, kubelet.node_selector())
    with driver.running(env={"EVENTREPLAY_WORKER_IMAGE": MISSING_IMAGE}, args=("--status-interval", str(INTERVAL))):
        driver.create("image", spec(topic))

        def backed_off() -> bool:
            replay = driver.get("image")
            return any(
                (p.get("blocked") or {}).get("message", "").startswith("Back-off")
                for p in replay["status"]["partitions"]
            )

        replay = surfaced(driver, "image", "PodsBlocked", "ImagePullBackOff", settled=backed_off)
        assert driver.condition(replay, "Reconciling")["status"] == "True"
        assert driver.condition(replay, "Stalled")["status"] == "False"


def test_a_missing_secret_stalls(
    driver: OperatorDriver, node_image: str, *, namespace: str, kube_api: Any, kafka_admin: Any, unique: str
) -> None:
    topic = f"blocked-secret-{unique}"
    seed_partitions(kafka_admin, config.kafka_bootstrap(), topic, (20,))
    steer(kube_api, namespace, kubelet.node_selector())
    env = {"EVENTREPLAY_WORKER_IMAGE": node_image}
    with driver.running(env=env, args=("--status-interval", str(INTERVAL)), permissive=True):
        driver.create("secret", spec(topic, credentialsSecretRef={"name": f"absent-{unique}"}))
        replay = surfaced(driver, "secret", "PodsStalled", "CreateContainerConfigError")
        assert driver.condition(replay, "Stalled")["status"] == "True"
        assert f"absent-{unique}" in driver.condition(replay, "Stalled")["message"]


def test_a_node_selector_nothing_matches_waits_unschedulable(
    driver: OperatorDriver, real_node: dict[str, str], *, namespace: str, kube_api: Any, kafka_admin: Any, unique: str
) -> None:
    topic = f"blocked-node-{unique}"
    seed_partitions(kafka_admin, config.kafka_bootstrap(), topic, (20,))
    steer(kube_api, namespace, "eventreplay.io/node=nowhere")
    with driver.running(args=("--status-interval", str(INTERVAL))):
        driver.create("node", spec(topic))
        replay = surfaced(driver, "node", "PodsBlocked", "Unschedulable")
        assert driver.condition(replay, "Reconciling")["status"] == "True"
        assert "nowhere" in driver.condition(replay, "Ready")["message"]
