"""The project image, built from the Dockerfile on this machine and run for real with runc.

The base and project images are built or found cached (dev/devstack/images.py); the image's root
filesystem is exported into an OCI bundle and run with runc under what a restricted pod gets: the
image's own user, a read-only root filesystem, no capabilities, no new privileges. The spec starts
from `runc spec` without rlimits, as the node's containerd base runtime spec does (this machine
refuses rlimits). Needs root and the Debian tools (installed by the build), not the local stack.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from devstack import containerd, images, procs

NO_CAPABILITIES = "0000000000000000"
PROBE = """
import errno, os
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
caps = [status[name].strip() for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
try:
    open("/probe", "w")
    root = "writable"
except OSError as err:
    root = errno.errorcode[err.errno]
print(os.getuid(), os.getgid(), status["NoNewPrivs"].strip(), root, *caps)
"""


@pytest.fixture(scope="module")
def image() -> str:
    """The project image's tag; a build that fails fails the test with its log tail."""
    try:
        images.install_tools()
        return images.project_image()
    except procs.ComponentError as err:
        pytest.fail(f"the project image did not build: {err}", pytrace=False)


@pytest.fixture(scope="module")
def image_config(image: str) -> dict[str, Any]:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{json .Config}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(out.stdout)
    return loaded


@pytest.fixture(scope="module")
def rootfs(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's root filesystem, exported from a created (never started) podman container."""
    root = tmp_path_factory.mktemp("image") / "rootfs"
    root.mkdir()
    created = subprocess.run(["podman", "create", image], capture_output=True, text=True, check=True)
    container = created.stdout.strip()
    try:
        export = subprocess.Popen(["podman", "export", container], stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", str(root)], stdin=export.stdout, capture_output=True, check=False)
        assert export.wait() == 0 and untar.returncode == 0, untar.stderr.decode()[-2000:]
    finally:
        subprocess.run(["podman", "rm", container], capture_output=True, check=False)
    return root


def run_in_container(
    rootfs: Path, image_config: dict[str, Any], args: list[str], work: Path
) -> subprocess.CompletedProcess[str]:
    """Run `args` in a container of the image with runc; the user comes from the image's USER."""
    spec = containerd.base_runtime_spec(containerd.runc_default_spec())
    uid, _, gid = image_config["User"].partition(":")
    spec["root"] = {"path": str(rootfs), "readonly": True}
    spec["process"].update(
        terminal=False,
        args=args,
        env=image_config["Env"],
        cwd="/",
        user={"uid": int(uid), "gid": int(gid or uid)},
        capabilities={kind: [] for kind in ("bounding", "effective", "inheritable", "permitted", "ambient")},
        noNewPrivileges=True,
    )
    name = f"eventreplay-image-{uuid.uuid4().hex[:8]}"
    bundle = work / name
    bundle.mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps(spec))
    argv = ["runc", "--root", str(work / "runc-state"), "run", "--bundle", str(bundle), name]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-2000:]}"


def test_the_image_runs_as_its_numeric_non_root_user_with_entry_points(
    rootfs: Path, image_config: dict[str, Any], tmp_path: Path
) -> None:
    assert image_config["User"] == "65532:65532"
    operator = run_in_container(rootfs, image_config, [*image_config["Entrypoint"], "--help"], tmp_path)
    assert operator.returncode == 0, _explain(operator)
    assert "usage" in operator.stdout.lower(), _explain(operator)
    worker = run_in_container(rootfs, image_config, ["python", "-m", "eventreplay.worker", "--help"], tmp_path)
    assert worker.returncode == 0, _explain(worker)
    assert "usage" in worker.stdout.lower(), _explain(worker)


def test_the_container_has_a_read_only_root_and_no_capabilities(
    rootfs: Path, image_config: dict[str, Any], tmp_path: Path
) -> None:
    probe = run_in_container(rootfs, image_config, ["python", "-c", PROBE], tmp_path)
    assert probe.returncode == 0, _explain(probe)
    uid, gid, no_new_privs, root, *caps = probe.stdout.split()
    assert (uid, gid) == ("65532", "65532")
    assert root == "EROFS", f"a write to / gave {root}, not EROFS"
    assert no_new_privs == "1"
    assert caps == [NO_CAPABILITIES] * 5, f"capability sets (inh, prm, eff, bnd, amb): {caps}"


def test_the_user_has_a_name_as_kopf_needs_for_its_identity(
    rootfs: Path, image_config: dict[str, Any], tmp_path: Path
) -> None:
    """kopf calls getpass.getuser() at start; without a passwd entry for 65532 the operator exits."""
    done = run_in_container(
        rootfs, image_config, ["python", "-c", "import pwd; print(pwd.getpwuid(65532)[0])"], tmp_path
    )
    assert done.returncode == 0, _explain(done)
    assert done.stdout.strip() == "eventreplay"


IMPORT_ALL = """
import pkgutil, eventreplay
names = [m.name for m in pkgutil.walk_packages(eventreplay.__path__, "eventreplay.")]
for name in names:
    __import__(name)
print(len(names))
"""


def test_every_shipped_module_imports_in_the_image(rootfs: Path, image_config: dict[str, Any], tmp_path: Path) -> None:
    """A sub-package missing from pyproject's package list is absent from a regular install (an
    editable one hides it): the image must import every module the source tree has."""
    done = run_in_container(rootfs, image_config, ["python", "-c", IMPORT_ALL], tmp_path)
    assert done.returncode == 0, _explain(done)
    root = Path(__file__).resolve().parents[2]
    shipped = sum(1 for folder in ("operator", "worker", "cli", "eventreplay") for _ in (root / folder).rglob("*.py"))
    # Every .py file is a module (an __init__.py stands for its package), plus the top package.
    assert int(done.stdout.split()[-1]) == shipped - 1, _explain(done)
