"""The real node: a kubelet registered to the stack's API server, running pods on the private containerd.

The kubelet comes from the same k8s.io/kubernetes module as the API server (dev/k8s/build.sh,
cached by version) and authenticates as `system:node:<name>` (so the Node authorizer confines it
to its own node and pods), with the settings this machine needs (notes/real-node.md): cgroupfs
without per-QoS cgroups, no swap or cgroup-v1 refusal, no eviction thresholds. Its ports shift
with EVENTREPLAY_PORT_OFFSET; its server binds the pod gateway (the node's address, which must
not be loopback) so `kubectl logs` works through the API server.

Which pods run here: the node carries the label `eventreplay.io/node=real`; a namespace annotated
`scheduler.alpha.kubernetes.io/node-selector: eventreplay.io/node=real` (the PodNodeSelector
admission plugin) gets that nodeSelector on every pod, and the node harness's binder places such
pods here. Every other pod still goes to the harness, so the existing suite keeps its fast
process-based node.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import yaml

from . import config, containerd, images, kube, node_build, pki, pod_network, procs
from .component import Component

NODE_NAME = "eventreplay-node"
NODE_LABEL = ("eventreplay.io", "real")
NODE_SELECTOR_ANNOTATION = "scheduler.alpha.kubernetes.io/node-selector"


def node_selector() -> str:
    """The namespace annotation's value that steers pods to the real node."""
    return f"{NODE_LABEL[0]}/node={NODE_LABEL[1]}"


def home_dir() -> Any:
    return config.state_dir() / "kubelet"


def kubelet_configuration() -> dict[str, Any]:
    """A KubeletConfiguration for this machine and this stack (pure: paths and ports from config)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": config.POD_GATEWAY,
        "port": config.PORTS.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": config.HOST,
        "healthzPort": config.PORTS.kubelet_healthz,
        "containerRuntimeEndpoint": f"unix://{containerd.socket_path()}",
        "cgroupDriver": "cgroupfs",
        # The machine mounts cgroup v1 and withholds what QoS cgroups and allocatable need.
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "failSwapOn": False,
        "failCgroupV1": False,
        "localStorageCapacityIsolation": False,
        # A shared disk of several stacks: never evict pods or images because of its fill level.
        "evictionHard": {"memory.available": "0%", "nodefs.available": "0%", "imagefs.available": "0%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.path("ca.crt"))},
        },
        "authorization": {"mode": "Webhook"},
        "podLogsDir": str(home_dir() / "pod-logs"),
        "serializeImagePulls": False,
    }


def node_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class Kubelet(Component):
    name = "kubelet"
    marker = "kubelet/config.yaml"
    start_timeout = 120.0
    optional = True

    def install(self) -> None:
        node_build.build_kubelet()
        pod_network.ensure()
        home = home_dir()
        home.mkdir(parents=True, exist_ok=True)
        pki.ensure_client_cert("kubelet", f"/O=system:nodes/CN=system:node:{NODE_NAME}")
        pki.write_kubeconfig(home / "kubeconfig", user="kubelet")
        (home / "config.yaml").write_text(yaml.safe_dump(kubelet_configuration(), sort_keys=False))

    def launch(self) -> None:
        home = home_dir()
        procs.start(
            self.name,
            [
                str(node_build.kubelet_path()),
                f"--config={home / 'config.yaml'}",
                f"--kubeconfig={home / 'kubeconfig'}",
                f"--root-dir={home / 'root'}",
                f"--cert-dir={home / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={config.POD_GATEWAY}",
                f"--node-labels={node_selector()}",
                "--v=1",
            ],
        )

    def healthy(self) -> bool:
        url = f"http://{config.HOST}:{config.PORTS.kubelet_healthz}/healthz"
        with urllib.request.urlopen(url, timeout=5) as resp:
            if resp.read().decode().strip() != "ok":
                return False
        out = kube.kubectl("get", "node", NODE_NAME, "-o", "json", timeout=10)
        return out.returncode == 0 and node_ready(json.loads(out.stdout))

    def up(self) -> bool:
        """Start (or find) it; then make sure the project image is imported into containerd."""
        started = super().up()
        containerd.import_image(images.project_image())
        return started

    def down(self) -> bool:
        stopped = super().down()
        procs.unmount_under(home_dir() / "root")
        pod_network.remove()
        return stopped
