"""`make image` and `make push`: the project image under a chosen tag, built and pushed by whatever is present.

`dev/image build TAG`: with podman, the same build the real-node tests run (images.project_image:
the Dockerfile on its pinned base, or the local base where no registry is reachable), then tagged
TAG; with only docker, `docker build` of the Dockerfile as it is. `dev/image push TAG`: podman,
docker or skopeo (from podman's storage), whichever is present first.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from . import config, images, procs

PUSHERS = ("podman", "docker", "skopeo")


def engine() -> str:
    """podman (the builder the tests use) if present, else docker; else a clear error."""
    for name in ("podman", "docker"):
        if shutil.which(name):
            return name
    raise procs.ComponentError("make image needs podman or docker: neither is on PATH")


def build(tag: str) -> str:
    if engine() == "podman":
        built = images.project_image()
        subprocess.run(["podman", "tag", built, tag], check=True)
        return f"{tag} (= {built}, on {images.build_base()})"
    subprocess.run(["docker", "build", "-t", tag, str(config.REPO)], check=True)
    return tag


def push_command(tag: str) -> list[str]:
    """The push through the first tool present; the tag names the registry it goes to."""
    registry = tag.split("/", 1)[0] if "/" in tag else ""
    if not any(mark in registry for mark in ".:") or registry == "localhost":
        raise procs.ComponentError(
            f"{tag} names no registry: push needs e.g. IMAGE=registry.example.com/eventreplay:TAG"
        )
    present = [name for name in PUSHERS if shutil.which(name)]
    if not present:
        raise procs.ComponentError(f"make push needs one of {', '.join(PUSHERS)}: none is on PATH")
    if present[0] == "skopeo":
        return ["skopeo", "copy", f"containers-storage:{tag}", f"docker://{tag}"]
    return [present[0], "push", tag]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev/image", description=__doc__)
    parser.add_argument("command", choices=["build", "push"])
    parser.add_argument("tag", help="the image reference, e.g. registry.example.com/eventreplay:0.1.0")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(f"built {build(args.tag)}")
        else:
            subprocess.run(push_command(args.tag), check=True)
            print(f"pushed {args.tag}")
    except procs.ComponentError as err:
        print(f"{args.command} failed: {err}", file=sys.stderr)
        return 2
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        print(f"{args.command} failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
