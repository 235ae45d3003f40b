"""The private containerd's configuration: what this machine needs (see dev/devstack/containerd.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from devstack.containerd import (
    CNI_BIN_DIR,
    base_runtime_spec,
    bridge_conflist,
    containerd_config,
    render_toml,
    socket_path,
)

HOME = Path("/state/node-containerd")
SPEC = HOME / "base-runtime-spec.json"
PAUSE = "localhost/eventreplay-pause:0123456789ab"


def rendered() -> dict[str, Any]:
    return tomllib.loads(render_toml(containerd_config(HOME, PAUSE, SPEC)))


def test_everything_containerd_writes_or_listens_on_is_private() -> None:
    doc = rendered()
    assert doc["version"] == 2
    assert doc["root"] == "/state/node-containerd/root"
    assert doc["state"] == "/state/node-containerd/state"
    assert doc["grpc"]["address"] == str(socket_path(HOME)) == "/state/node-containerd/containerd.sock"
    assert doc["ttrpc"]["address"] == "/state/node-containerd/containerd.sock.ttrpc"
    assert doc["debug"]["address"] == "" and doc["metrics"]["address"] == ""
    assert doc["plugins"]["io.containerd.internal.v1.opt"]["path"] == "/state/node-containerd/opt"


def test_cri_runs_runc_with_cgroupfs_the_local_pause_and_a_spec_without_rlimits() -> None:
    cri = rendered()["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == PAUSE
    assert cri["restrict_oom_score_adj"] is True, "a negative oom_score_adj is refused on this machine"
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    assert cri["containerd"]["default_runtime_name"] == "runc"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["base_runtime_spec"] == str(SPEC)
    assert runc["options"]["SystemdCgroup"] is False, "cgroup v1 here: the cgroupfs driver"
    assert cri["cni"]["bin_dir"] == CNI_BIN_DIR == "/usr/lib/cni"
    assert cri["cni"]["conf_dir"] == "/state/node-containerd/cni"


def test_base_runtime_spec_drops_rlimits_and_hostname_and_keeps_the_rest() -> None:
    runc_spec = {
        "ociVersion": "1.0.2",
        "hostname": "runc",
        "process": {
            "args": ["sh"],
            "terminal": True,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        },
        "linux": {"namespaces": [{"type": "pid"}]},
    }
    spec = base_runtime_spec(runc_spec)
    assert "rlimits" not in spec["process"] and "hostname" not in spec
    assert spec["process"]["args"] == ["sh"]
    assert spec["process"]["terminal"] is False, "runc refuses a terminal it cannot allocate when detached"
    assert spec["linux"] == runc_spec["linux"] and spec["ociVersion"] == "1.0.2"
    assert "rlimits" in runc_spec["process"], "the caller's spec is not modified"


def test_bridge_conflist_gives_pods_addresses_on_a_bridge() -> None:
    conflist = bridge_conflist("10.244.0.0/24", "er-cni0")
    bridge = conflist["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "er-cni0" and bridge["isGateway"] is True
    assert bridge["ipam"]["type"] == "host-local"
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.0.0/24"}]]
    assert [plugin["type"] for plugin in conflist["plugins"]] == ["bridge", "portmap", "loopback"]


def test_render_toml_quotes_strings_and_refuses_what_it_cannot_render() -> None:
    assert tomllib.loads(render_toml({"a": 'say "hi"\\', "t": {"n": 3, "b": False}})) == {
        "a": 'say "hi"\\',
        "t": {"n": 3, "b": False},
    }
    with pytest.raises(TypeError):
        render_toml({"t": {"x": 1.5}})
