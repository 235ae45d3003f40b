"""A private containerd for the real node: its configuration (pure functions) and its process.

This machine withholds CAP_SYS_RESOURCE, so an OCI spec that sets rlimits fails and so does a
negative oom_score_adj: the CRI runtime gets a base spec from `runc spec` without `rlimits` (and
without a fixed `hostname`) and `restrict_oom_score_adj`. Cgroups are v1, so the cgroupfs driver.
Pods get addresses on a CNI bridge from Debian's plugins (/usr/lib/cni). Root, state, socket,
CNI configuration and logs all live under `<state>/node-containerd`, so it never touches the machine's
own containerd (if any) nor the shared stack's other components.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import config, images, procs
from .component import Component

CNI_BIN_DIR = "/usr/lib/cni"
CRI = 'plugins."io.containerd.grpc.v1.cri"'


def base_runtime_spec(runc_spec: dict[str, Any]) -> dict[str, Any]:
    """`runc spec` output made runnable here: no rlimits (refused), no fixed hostname (per pod), no
    terminal (`runc spec` asks for one; the CRI only sets it for a pod that asks, `tty: true`)."""
    spec = copy.deepcopy(runc_spec)  # the caller's dict stays as it was
    spec.get("process", {}).pop("rlimits", None)
    spec.get("process", {})["terminal"] = False
    spec.pop("hostname", None)
    return spec


def bridge_conflist(subnet: str = config.POD_SUBNET, bridge: str = config.POD_BRIDGE) -> dict[str, Any]:
    """A CNI bridge network with host-local addresses and a masquerading gateway."""
    return {
        "cniVersion": "1.0.0",
        "name": "eventreplay-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "routes": [{"dst": "0.0.0.0/0"}]},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def containerd_config(home: Path, sandbox_image: str, runtime_spec_path: Path) -> dict[str, Any]:
    """containerd 1.6's version-2 configuration as nested tables (see render_toml)."""
    runc = f"{CRI}.containerd.runtimes.runc"
    return {
        "version": 2,
        "root": str(home / "root"),
        "state": str(home / "state"),
        "grpc": {"address": str(socket_path(home))},
        "ttrpc": {"address": f"{socket_path(home)}.ttrpc"},
        # Empty addresses: no debug or metrics listener to collide with anything else on the machine.
        "debug": {"address": "", "level": "info"},
        "metrics": {"address": ""},
        'plugins."io.containerd.internal.v1.opt"': {"path": str(home / "opt")},
        CRI: {
            "sandbox_image": sandbox_image,
            "restrict_oom_score_adj": True,
            "enable_selinux": False,
        },
        f"{CRI}.containerd": {"snapshotter": "overlayfs", "default_runtime_name": "runc"},
        runc: {"runtime_type": "io.containerd.runc.v2", "base_runtime_spec": str(runtime_spec_path)},
        f"{runc}.options": {"SystemdCgroup": False},
        f"{CRI}.cni": {"bin_dir": CNI_BIN_DIR, "conf_dir": str(home / "cni"), "max_conf_num": 1},
    }


def render_toml(document: dict[str, Any]) -> str:
    """TOML for a document of scalars at the top and tables (dicts of scalars) keyed by dotted names."""
    top = [f"{key} = {_toml_value(value)}" for key, value in document.items() if not isinstance(value, dict)]
    lines = [*top]
    for name, table in document.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]", *(f"  {key} = {_toml_value(value)}" for key, value in table.items())]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise TypeError(f"no TOML rendering for {type(value).__name__}")


def home_dir() -> Path:
    return config.state_dir() / "node-containerd"


def socket_path(home: Path | None = None) -> Path:
    return (home or home_dir()) / "containerd.sock"


def runc_default_spec() -> dict[str, Any]:
    """What `runc spec` writes for a root-run container (the starting point of every spec here)."""
    with tempfile.TemporaryDirectory(prefix="eventreplay-runc-spec-") as tmp:
        subprocess.run(["runc", "spec", "--bundle", tmp], check=True, capture_output=True)
        loaded: dict[str, Any] = json.loads((Path(tmp) / "config.json").read_text())
    return loaded


def write_config(sandbox_image: str, home: Path | None = None) -> Path:
    """Write the base runtime spec, the CNI conflist and config.toml under `home`; returns config.toml."""
    home = home or home_dir()
    (home / "cni").mkdir(parents=True, exist_ok=True)
    spec_path = home / "base-runtime-spec.json"
    spec_path.write_text(json.dumps(base_runtime_spec(runc_default_spec()), indent=2) + "\n")
    (home / "cni" / "10-eventreplay-bridge.conflist").write_text(json.dumps(bridge_conflist(), indent=2) + "\n")
    path = home / "config.toml"
    path.write_text(render_toml(containerd_config(home, sandbox_image, spec_path)))
    return path


def ctr(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`ctr` against the private socket, in the CRI's namespace (callers judge the exit code)."""
    argv = ["ctr", "--address", str(socket_path()), "--namespace", "k8s.io", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def has_image(tag: str) -> bool:
    return tag in ctr("images", "list", "--quiet").stdout.split()


def import_image(tag: str) -> None:
    """Put a locally built image where the CRI finds it (pods use imagePullPolicy: Never)."""
    if has_image(tag):
        return
    done = ctr("images", "import", str(images.archive_path(tag)), timeout=600)
    if done.returncode != 0 or not has_image(tag):
        raise procs.ComponentError(f"ctr images import {tag} failed: {done.stderr[-2000:]}")


class Containerd(Component):
    """Part of the real node (`dev/stack up node`), not of the default stack."""

    name = "containerd"
    optional = True
    # Part of the config path, so the pid check never matches the machine's own containerd.
    marker = "node-containerd/config.toml"
    start_timeout = 60.0

    def install(self) -> None:
        images.install_tools()
        write_config(images.pause_image())

    def launch(self) -> None:
        procs.start(self.name, ["containerd", "--config", str(home_dir() / "config.toml")])

    def healthy(self) -> bool:
        return ctr("version", timeout=5).returncode == 0

    def up(self) -> bool:
        """Start (or find) it, then make sure the sandbox image is imported (once per key)."""
        started = super().up()
        import_image(images.pause_image())
        return started

    def env(self) -> dict[str, str]:
        return {"CONTAINER_RUNTIME_ENDPOINT": f"unix://{socket_path()}"}

    def down(self) -> bool:
        """Kill what still runs (shims outlive containerd) and release the rootfs mounts."""
        if procs.running_pid(self.name, self.marker) is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                for task in ctr("tasks", "list", "--quiet", timeout=30).stdout.split():
                    ctr("tasks", "kill", "--signal", "SIGKILL", task, timeout=30)
        stopped = super().down()
        procs.unmount_under(home_dir())
        return stopped


def main(argv: list[str] | None = None) -> int:
    """`dev/node/containerd up|down|status`: the private containerd alone (it starts nothing else)."""
    parser = argparse.ArgumentParser(prog="dev/node/containerd", description=main.__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    runtime = Containerd()
    try:
        if args.command == "up":
            print(f"containerd {'started' if runtime.up() else 'already running'}; socket {socket_path()}")
        elif args.command == "down":
            print(f"containerd {'stopped' if runtime.down() else 'not running'}")
        else:
            pid = runtime.pid()
            print(f"containerd pid={pid or '-'} socket={socket_path()} log={procs.log_file(runtime.name)}")
            return 0 if pid else 1
    except procs.ComponentError as err:
        print(f"containerd: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
