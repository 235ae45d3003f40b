"""How pods on the real node reach the stack's services, which listen on 127.0.0.1 only.

Pods get addresses on a CNI bridge, one /24 and one bridge per stack (config.POD_SUBNET). Host
networking would be simpler but the restricted Pod Security Standard forbids it, and that is
where the operator and its Jobs must run. So the stack pre-creates the bridge with its gateway
address and DNATs what pods send to the gateway onto loopback (`route_localnet` lets the kernel
route to 127.0.0.1 from that bridge): Redis on its port, Kafka on a listener advertised at the
gateway, and the `kubernetes` Service's ClusterIP (10.0.0.1:443) onto the API server, which is all
a kube-proxy would do for the one Service in-cluster clients need. Nothing listens on an address
other machines can reach.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import config, procs

KUBERNETES_SERVICE = ("10.0.0.1", 443)


def chain() -> str:
    """The stack's own nat chain (per offset, so stacks never touch each other's rules)."""
    return f"ER-NODE-{config.PORT_OFFSET}"


def dnat_rules() -> list[list[str]]:
    """The rules of the stack's chain: pod-visible address and port -> loopback port."""
    gateway, ports = config.POD_GATEWAY, config.PORTS
    targets = [
        (gateway, ports.redis, ports.redis),
        (gateway, ports.kafka_pods, ports.kafka_pods),
        (KUBERNETES_SERVICE[0], KUBERNETES_SERVICE[1], ports.apiserver),
    ]
    return [
        ["-d", address, "-p", "tcp", "--dport", str(port), "-j", "DNAT", "--to-destination", f"{config.HOST}:{to}"]
        for address, port, to in targets
    ]


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    except FileNotFoundError as err:  # no iptables/ip: a node never set up here has nothing to undo
        done = subprocess.CompletedProcess(list(argv), 127, "", str(err))
    if check and done.returncode != 0:
        raise procs.ComponentError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()}")
    return done


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run("iptables", "-w", "-t", "nat", *args, check=check)


def ensure() -> None:
    """Create the bridge, its gateway address and the DNAT chain (idempotent; needs root)."""
    bridge = config.POD_BRIDGE
    if _run("ip", "link", "show", bridge, check=False).returncode != 0:
        _run("ip", "link", "add", bridge, "type", "bridge")
    prefix = config.POD_SUBNET.split("/")[1]
    if f" {config.POD_GATEWAY}/" not in _run("ip", "-4", "addr", "show", "dev", bridge).stdout:
        _run("ip", "addr", "add", f"{config.POD_GATEWAY}/{prefix}", "dev", bridge)
    _run("ip", "link", "set", bridge, "up")
    _jump_from(bridge)


def _jump_from(bridge: str) -> None:
    """Route what arrives on `bridge` through the stack's chain (created or refreshed here)."""
    if _iptables("-nL", chain(), check=False).returncode != 0:
        _iptables("-N", chain())
    _iptables("-F", chain())
    for rule in dnat_rules():
        _iptables("-A", chain(), *rule)
    Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet").write_text("1\n")
    jump = ["PREROUTING", "-i", bridge, "-j", chain()]
    if _iptables("-C", *jump, check=False).returncode != 0:
        _iptables("-A", *jump)


def admit(bridge: str) -> None:
    """Let pods behind another bridge (a kind cluster's Docker network) reach the stack exactly as
    the real node's pods do: the same pod gateway address, through the same chain. Their own pod
    subnet must not contain config.POD_GATEWAY (the kind test configures one that does not)."""
    _jump_from(bridge)


def release(bridge: str) -> None:
    """Undo admit() for `bridge` (the chain stays for the real node, if any)."""
    _iptables("-D", "PREROUTING", "-i", bridge, "-j", chain(), check=False)


def remove() -> None:
    """Undo ensure(): the jump, the chain and the bridge (pods are gone with the kubelet)."""
    _iptables("-D", "PREROUTING", "-i", config.POD_BRIDGE, "-j", chain(), check=False)
    _iptables("-F", chain(), check=False)
    _iptables("-X", chain(), check=False)
    _run("ip", "link", "del", config.POD_BRIDGE, check=False)
