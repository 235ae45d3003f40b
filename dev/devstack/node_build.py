"""What the real node needs built, step by step, each cached and timed: `dev/node/build [step ...]`.

Steps, in order: `tools` (Debian packages), `base` (the Python base image, images.build_base),
`project` (the Dockerfile's image), `pause` (the sandbox image), `kubelet` (from the same
k8s.io/kubernetes module as the API server, cached next to it by dev/k8s/build.sh). A second run
of a step is a cache hit; the printed seconds are how cold and warm times are measured.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import images, kube, procs


def kubelet_path() -> Path:
    return kube.bin_dir() / "kubelet"


def build_kubelet() -> str:
    """Run dev/k8s/build.sh kubelet (a no-op when cached); its output goes to the kubelet log."""
    log_path = images.build_log("kubelet")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        done = subprocess.run(
            ["bash", str(kube.BUILD_SCRIPT), "kubelet"], stdout=subprocess.DEVNULL, stderr=log, check=False
        )
    if done.returncode != 0 or not kubelet_path().exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise procs.ComponentError(f"dev/k8s/build.sh kubelet failed:\n{tail}")
    return str(kubelet_path())


def install_tools() -> str:
    images.install_tools()
    return ", ".join(images.APT_PACKAGES)


STEPS: dict[str, Callable[[], str]] = {
    "tools": install_tools,
    "base": images.build_base,
    "project": images.project_image,
    "pause": images.pause_image,
    "kubelet": build_kubelet,
}


def build(steps: list[str]) -> dict[str, float]:
    """Run the steps in the canonical order; returns the seconds each took."""
    spent: dict[str, float] = {}
    for step in [name for name in STEPS if name in steps]:
        began = time.monotonic()
        result = STEPS[step]()
        spent[step] = time.monotonic() - began
        print(f"{step:<8} {spent[step]:7.1f}s  {result}", flush=True)
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev/node/build", description=__doc__)
    parser.add_argument("steps", nargs="*", help=f"any of {', '.join(STEPS)}; default: all, in order")
    args = parser.parse_args(argv)
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    try:
        spent = build(args.steps or list(STEPS))
    except procs.ComponentError as err:
        print(f"node build failed: {err}", file=sys.stderr)
        return 1
    print(f"total    {sum(spent.values()):7.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
