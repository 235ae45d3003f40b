"""The real node's pure pieces: which node a pod is bound to, the kubelet's settings, the pod network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import config, kubelet, pod_network
from devstack.node_harness import pick_node


def node(name: str, labels: dict[str, str], ready: bool = True, unschedulable: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_pick_node_honours_the_node_selector_and_readiness() -> None:
    harness = node("eventreplay-local", {"eventreplay.io/node-harness": "true"})
    real = node("eventreplay-node", {"eventreplay.io/node": "real", "kubernetes.io/os": "linux"})
    assert pick_node({"eventreplay.io/node": "real"}, [harness, real]) == "eventreplay-node"
    not_ready = node("eventreplay-node", {"eventreplay.io/node": "real"}, ready=False)
    assert pick_node({"eventreplay.io/node": "real"}, [harness, not_ready]) is None
    cordoned = node("eventreplay-node", {"eventreplay.io/node": "real"}, unschedulable=True)
    assert pick_node({"eventreplay.io/node": "real"}, [cordoned]) is None
    assert pick_node({"eventreplay.io/node": "other"}, [harness, real]) is None


def test_the_namespace_annotation_selects_the_label_the_kubelet_registers() -> None:
    key, _, value = kubelet.node_selector().partition("=")
    assert (key, value) == ("eventreplay.io/node", "real")


def test_kubelet_configuration_binds_the_stack_ports_and_refuses_anonymous_access() -> None:
    conf = kubelet.kubelet_configuration()
    assert conf["port"] == config.PORTS.kubelet and conf["healthzPort"] == config.PORTS.kubelet_healthz
    assert conf["readOnlyPort"] == 0, "no unauthenticated read-only port"
    assert conf["address"] == config.POD_GATEWAY != config.HOST, "a node address must not be loopback"
    assert conf["authentication"]["anonymous"]["enabled"] is False
    assert conf["authorization"]["mode"] == "Webhook"
    assert conf["cgroupDriver"] == "cgroupfs" and conf["cgroupsPerQOS"] is False
    assert conf["failCgroupV1"] is False and conf["failSwapOn"] is False


def test_ports_and_pod_network_shift_with_the_stack_offset() -> None:
    shifted = config.Ports().shifted(500)
    assert (shifted.kubelet, shifted.kubelet_healthz, shifted.kafka_pods) == (17750, 17748, 19594)
    assert f"10.244.{config.PORT_OFFSET // 100}.0/24" == config.POD_SUBNET
    assert config.POD_GATEWAY.startswith(config.POD_SUBNET.rsplit(".", 2)[0]) and config.POD_GATEWAY.endswith(".1")


def test_pods_reach_only_redis_kafka_and_the_api_server_on_loopback() -> None:
    targets = {(rule[1], rule[5], rule[-1]) for rule in pod_network.dnat_rules()}
    ports = config.PORTS
    assert targets == {
        (config.POD_GATEWAY, str(ports.redis), f"127.0.0.1:{ports.redis}"),
        (config.POD_GATEWAY, str(ports.kafka_pods), f"127.0.0.1:{ports.kafka_pods}"),
        ("10.0.0.1", "443", f"127.0.0.1:{ports.apiserver}"),
    }
    assert pod_network.chain().endswith(str(config.PORT_OFFSET))


def test_the_real_node_is_opt_in_and_down_stops_it_too() -> None:
    from devstack import stack

    default = [c.name for c in stack.select(None)]
    assert "kubelet" not in default and "containerd" not in default and "node-harness" in default
    node = [c.name for c in stack.select(["node"])]
    assert node == [*default, "containerd", "kubelet"], "the node brings the stack it needs, in order"
    assert [c.name for c in stack.select(None, every_optional=True)] == node


def test_a_serving_certificate_from_before_the_real_node_is_reissued_with_the_service_ip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from devstack import pki

    monkeypatch.setenv("EVENTREPLAY_STACK_DIR", str(tmp_path))
    pki.ensure_pki()
    assert "10.0.0.1" in pki._serving_names()
    pki._signed("apiserver", "/CN=kube-apiserver", pki.SERVER_EXT.replace("IP:10.0.0.1,", ""))
    assert "10.0.0.1" not in pki._serving_names()
    pki.ensure_pki()
    assert "IP Address:10.0.0.1" in pki._serving_names()
