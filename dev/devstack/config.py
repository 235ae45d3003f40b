"""Where the local stack lives: ports, folders and cached build outputs.

Every component binds to 127.0.0.1 on a fixed port so a second `up`, a test session and
`make demo` all find the same stack. The state folder (data, logs, pid files, kubeconfig)
defaults to `<repo>/.stack`; heavy build outputs live under ~/.cache/eventreplay, keyed by version.
"""

from __future__ import annotations

import os
from dataclasses import astuple, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    kafka: int = 19092
    kafka_controller: int = 19093
    redis: int = 16379
    etcd: int = 12379
    etcd_peer: int = 12380
    apiserver: int = 16443
    controller_manager: int = 17257
    # The real node: Kafka's listener for pods (advertised at the pod gateway), the kubelet's ports.
    kafka_pods: int = 19094
    kubelet: int = 17250
    kubelet_healthz: int = 17248
    registry: int = 18081

    def shifted(self, offset: int) -> Ports:
        return Ports(*(port + offset for port in astuple(self)))


# EVENTREPLAY_PORT_OFFSET shifts every port, so a second stack (another worktree, with its own
# EVENTREPLAY_STACK_DIR) can run beside the first without sharing Kafka, Redis or the API server.
PORT_OFFSET = int(os.environ.get("EVENTREPLAY_PORT_OFFSET", "0"))
PORTS = Ports().shifted(PORT_OFFSET)
# The real node's pod network, one /24 per stack (offsets are multiples of 100), and its bridge.
# The gateway (.1) is how pods reach the stack's services, which listen on 127.0.0.1 only.
POD_SUBNET = f"10.244.{PORT_OFFSET // 100 % 256}.0/24"
POD_GATEWAY = f"10.244.{PORT_OFFSET // 100 % 256}.1"
POD_BRIDGE = f"er-cni{PORT_OFFSET // 100}"


def cache_dir() -> Path:
    return Path(os.environ.get("EVENTREPLAY_CACHE", Path.home() / ".cache" / "eventreplay"))


def state_dir() -> Path:
    return Path(os.environ.get("EVENTREPLAY_STACK_DIR", REPO / ".stack"))


def log_dir() -> Path:
    return state_dir() / "logs"


def kubeconfig_path() -> Path:
    return state_dir() / "kubeconfig"


def kafka_bootstrap() -> str:
    return f"{HOST}:{PORTS.kafka}"


def redis_url() -> str:
    return f"redis://{HOST}:{PORTS.redis}/0"


def registry_url() -> str:
    """The schema registry's Confluent API (v6), base path included: what clients are given."""
    return f"http://{HOST}:{PORTS.registry}/apis/ccompat/v6"


def pod_kafka_bootstrap() -> str:
    """Kafka as pods on the real node reach it (a listener advertised at the pod gateway)."""
    return f"{POD_GATEWAY}:{PORTS.kafka_pods}"


def pod_redis_url() -> str:
    return f"redis://{POD_GATEWAY}:{PORTS.redis}/0"
