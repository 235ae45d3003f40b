"""The real node's private containerd: it starts from the generated configuration with everything
under its own state folder (a temporary one here, never the shared stack's), serves the CRI, and
holds the locally built sandbox and project images where a kubelet's pods will look for them.
A containerd that cannot start fails the test with its log tail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import config, containerd, images, procs


@pytest.fixture(scope="module")
def node_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private containerd under a fresh state folder; stopped at the end of the module."""
    state = tmp_path_factory.mktemp("node")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVENTREPLAY_STACK_DIR", str(state))
        runtime = containerd.Containerd()
        try:
            runtime.up()
        except procs.ComponentError as err:
            runtime.down()
            pytest.fail(f"the private containerd did not come up: {err}", pytrace=False)
        try:
            yield state
        finally:
            runtime.down()


def test_containerd_serves_the_cri_from_its_own_folder(node_state: Path) -> None:
    assert config.state_dir() == node_state
    assert containerd.socket_path() == node_state / "node-containerd" / "containerd.sock"
    assert containerd.socket_path().is_socket()
    plugins = containerd.ctr("plugins", "ls").stdout.splitlines()
    cri = [line.split() for line in plugins if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri and cri[0][-1] == "ok", "\n".join(plugins) + f"\n{procs.log_tail('containerd')}"


def test_the_sandbox_and_project_images_are_imported_under_their_tags(node_state: Path) -> None:
    assert containerd.has_image(images.pause_image()), procs.log_tail("containerd")
    project = images.project_image()
    containerd.import_image(project)
    assert containerd.has_image(project)
