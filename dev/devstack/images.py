"""Container images built on this machine, with no registry: the Python base, the project, the pause image.

Each build is idempotent and keyed, so a second call costs a `podman image exists`:
- the base is the Dockerfile's own, pinned by digest, when podman has it or can pull it; else (no
  registry reachable, as on CI machines here) a debootstrap of a Debian release (release + a date
  key in the tag), its root filesystem tarball cached under ~/.cache/eventreplay/images;
- the project image is the repo's Dockerfile on that base, tagged by a hash of everything the
  build reads (the Dockerfile, the files it COPYs, the base tag), saved as an OCI archive there too;
- the pause image (the pod sandbox) is a static C binary FROM scratch, tagged by its source's hash.
Build output goes to logs next to the cache; a failed step raises with the log's tail.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from . import config, procs

DEBIAN_RELEASE = "bookworm"
# The base's key with the release: bump it to rebuild on newer Debian packages. The default mirror
# (deb.debian.org; snapshot.debian.org is not reachable from these machines) only moves within the
# release's point updates; EVENTREPLAY_DEBIAN_MIRROR can name a snapshot for an exact pin.
BASE_KEY = "20250520"
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3")
# What the node's builds and runtime need from Debian (CI machines start bare).
APT_PACKAGES = ("podman", "debootstrap", "containerd", "runc", "containernetworking-plugins", "gcc")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PAUSE_SOURCE = config.REPO / "dev" / "node" / "pause.c"
DOCKERFILE = config.REPO / "Dockerfile"
BASE_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8")


def images_dir() -> Path:
    return config.cache_dir() / "images"


def build_log(step: str) -> Path:
    return images_dir() / "logs" / f"{step}.log"


def install_tools() -> None:
    """apt-get install the Debian packages above unless their commands are all present."""
    commands = ("podman", "debootstrap", "containerd", "runc", "gcc")
    if all(shutil.which(cmd) for cmd in commands) and Path("/usr/lib/cni/bridge").exists():
        return
    from .redis import apt_install

    apt_install(*APT_PACKAGES)


def run_logged(step: str, argv: list[str]) -> None:
    """Run a build command with its output appended to the step's log; raise with the tail on failure."""
    log_path = build_log(step)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise procs.ComponentError(f"{step}: `{' '.join(argv[:3])} ...` exited {done.returncode}:\n{tail}")


@contextlib.contextmanager
def _build_lock(step: str) -> Iterator[None]:
    """One build of a step at a time across processes (a test session and dev/node/build may race)."""
    path = images_dir() / "locks" / f"{step}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def image_exists(tag: str) -> bool:
    return subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0


def debian_mirror() -> str:
    return os.environ.get("EVENTREPLAY_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def base_tag() -> str:
    return f"localhost/eventreplay-python-base:{DEBIAN_RELEASE}-{BASE_KEY}"


def _cached_image(step: str, tag: str, build: Callable[[str], None], *, archive: bool) -> str:
    """`tag`, built by `build` under the step's lock unless podman already has it; `archive`: also
    saved as the OCI archive containerd imports."""
    with _build_lock(step):
        if not image_exists(tag):
            build(tag)
        if archive:
            save_archive(tag)
    return tag


def base_image() -> str:
    """The Python base image (debootstrap minbase + python3, python3-venv, python-is-python3)."""
    return _cached_image("base", base_tag(), _import_base, archive=False)


def pinned_base() -> str:
    """The Dockerfile's default base (`ARG PYTHON_IMAGE=`), fully qualified for podman."""
    text = DOCKERFILE.read_text()
    ref = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ARG PYTHON_IMAGE="))
    return ref if "/" in ref else f"docker.io/library/{ref}"


@functools.cache
def build_base() -> str:
    """The base the project image is built on, chosen once per process by EVENTREPLAY_PYTHON_BASE:
    `pinned` (the Dockerfile's), `local` (the debootstrap base), or `auto` (default): the pinned
    base when podman has it or can pull it, else the local one. `make image` and the real-node
    tests both build through here, so they run the same image."""
    choice = os.environ.get("EVENTREPLAY_PYTHON_BASE", "auto")
    if choice not in ("auto", "pinned", "local"):
        raise procs.ComponentError(f"EVENTREPLAY_PYTHON_BASE={choice}: expected auto, pinned or local")
    if choice == "local":
        return base_image()
    pinned = pinned_base()
    with _build_lock("base"):
        if image_exists(pinned):
            return pinned
        try:
            run_logged("base-pull", ["podman", "pull", pinned])
            return pinned
        except procs.ComponentError:
            if choice == "pinned":
                raise
    return base_image()


def _import_base(tag: str) -> None:
    rootfs_tar = images_dir() / f"python-base-{DEBIAN_RELEASE}-{BASE_KEY}.tar"
    if not rootfs_tar.exists():
        _debootstrap(rootfs_tar)
    changes = [arg for env in BASE_ENV for arg in ("--change", f"ENV {env}")]
    run_logged("base-image", ["podman", "import", *changes, str(rootfs_tar), tag])


def _debootstrap(rootfs_tar: Path) -> None:
    work = rootfs_tar.with_suffix(".rootfs")
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}"]
    try:
        run_logged("base-image", [*argv, DEBIAN_RELEASE, str(work), debian_mirror()])
        # Package caches and lists are build leftovers: the image never runs apt.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (work / leftover).glob("*"):
                if entry.is_file():
                    entry.unlink()
        partial = rootfs_tar.with_suffix(".partial")
        run_logged("base-image", ["tar", "--numeric-owner", "-C", str(work), "-cf", str(partial), "."])
        partial.rename(rootfs_tar)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def dockerfile_sources(repo: Path = config.REPO) -> list[str]:
    """The repo paths the Dockerfile COPYs from the build context (not `COPY --from=` a stage)."""
    text = (repo / "Dockerfile").read_text().replace("\\\n", " ")
    sources: list[str] = []
    for raw in text.splitlines():
        word, _, rest = raw.strip().partition(" ")
        if word.upper() == "COPY" and "--from" not in rest:
            sources.extend(rest.split()[:-1])
    return sources


def stage_context(into: Path, repo: Path = config.REPO) -> str:
    """Copy exactly what the build reads into `into`; returns the hash of those bytes and names."""
    digest = hashlib.sha256()
    for name in ["Dockerfile", *dockerfile_sources(repo)]:
        src = repo / name
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if _is_source(p))
        for path in files:
            rel = path.relative_to(repo)
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into / rel)
            digest.update(f"{rel}\0{path.stat().st_mode & 0o111}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_source(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def project_image(repo: Path = config.REPO) -> str:
    """The Dockerfile built on build_base(); tagged localhost/eventreplay:<content hash>. `repo`
    is the source tree (another one: an earlier release's, for the chart upgrade test)."""
    base = build_base()
    with _build_lock("project"), tempfile.TemporaryDirectory(prefix="eventreplay-build-") as tmp:
        context = Path(tmp)
        key = hashlib.sha256(f"{stage_context(context, repo)}\0{base}".encode()).hexdigest()[:16]
        tag = f"localhost/eventreplay:{key}"
        if not image_exists(tag):
            run_logged(
                "project-image",
                [
                    "podman", "build", "--network=host",
                    # pip in the build verifies the package index with the machine's CA bundle.
                    "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
                    "--build-arg", f"PYTHON_IMAGE={base}",
                    "-t", tag, str(context),
                ],
            )  # fmt: skip
        save_archive(tag)
    return tag


def pause_tag() -> str:
    key = hashlib.sha256(PAUSE_SOURCE.read_bytes()).hexdigest()[:12]
    return f"localhost/eventreplay-pause:{key}"


def pause_image() -> str:
    """The pod sandbox image: a static `pause` binary FROM scratch, running as 65535."""
    return _cached_image("pause", pause_tag(), _build_pause, archive=True)


def _build_pause(tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="eventreplay-pause-") as tmp:
        context = Path(tmp)
        run_logged("pause-image", ["gcc", "-static", "-Os", "-s", "-o", str(context / "pause"), str(PAUSE_SOURCE)])
        (context / "Containerfile").write_text(
            'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
        )
        run_logged("pause-image", ["podman", "build", "-t", tag, str(context)])


def archive_path(tag: str) -> Path:
    """Where the image's OCI archive is cached: localhost/eventreplay:KEY -> images/eventreplay-KEY.oci.tar."""
    name, _, key = tag.removeprefix("localhost/").partition(":")
    return images_dir() / f"{name}-{key}.oci.tar"


def save_archive(tag: str) -> Path:
    """An OCI archive of the image (what `ctr images import` reads), written once per key."""
    archive = archive_path(tag)
    if not archive.exists():
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        run_logged("save", ["podman", "save", "--format", "oci-archive", "-o", str(partial), tag])
        partial.rename(archive)
    return archive
