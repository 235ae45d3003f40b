"""The image build's promises that need no engine: every FROM is pinned by digest, and `make push`
refuses a tag without a registry or a machine without a push tool, naming what is missing."""

from __future__ import annotations

import re

import pytest

from devstack import config, image_cli, images, procs

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def from_images() -> list[str]:
    """Each FROM's image with ARG defaults substituted; a FROM naming an earlier stage is skipped."""
    text = (config.REPO / "Dockerfile").read_text()
    args: dict[str, str] = {}
    stages: set[str] = set()
    found = []
    for line in (raw.strip() for raw in text.splitlines()):
        word, _, rest = line.partition(" ")
        if word == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
        elif word == "FROM":
            ref, *alias = rest.split()
            ref = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], ref)
            if ref not in stages:
                found.append(ref)
            stages.update(alias[1:] if alias[:1] == ["AS"] else alias)
    return found


def test_every_from_line_carries_a_digest() -> None:
    bases = from_images()
    assert bases, "the Dockerfile names no base"
    assert all(DIGEST.search(ref) for ref in bases), f"a base without @sha256: digest: {bases}"


def test_the_pinned_base_is_the_dockerfile_default_fully_qualified() -> None:
    assert images.pinned_base() == f"docker.io/library/{from_images()[0]}"


@pytest.mark.parametrize("tag", ["localhost/eventreplay:1", "eventreplay:1", "team/eventreplay:1"])
def test_push_refuses_a_tag_that_names_no_registry(tag: str) -> None:
    with pytest.raises(procs.ComponentError, match="names no registry"):
        image_cli.push_command(tag)


def test_push_names_every_tool_it_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_cli.shutil, "which", lambda _: None)
    with pytest.raises(procs.ComponentError, match="podman, docker, skopeo"):
        image_cli.push_command("registry.example.com:5000/eventreplay:0.1.0")


@pytest.mark.parametrize(
    ("present", "argv"),
    [
        ({"podman", "docker", "skopeo"}, ["podman", "push", "ghcr.io/x/eventreplay:1"]),
        ({"docker", "skopeo"}, ["docker", "push", "ghcr.io/x/eventreplay:1"]),
        (
            {"skopeo"},
            ["skopeo", "copy", "containers-storage:ghcr.io/x/eventreplay:1", "docker://ghcr.io/x/eventreplay:1"],
        ),
    ],
)
def test_push_uses_the_first_tool_present(monkeypatch: pytest.MonkeyPatch, present: set[str], argv: list[str]) -> None:
    monkeypatch.setattr(image_cli.shutil, "which", lambda name: name if name in present else None)
    assert image_cli.push_command("ghcr.io/x/eventreplay:1") == argv


def test_build_without_an_engine_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_cli.shutil, "which", lambda _: None)
    with pytest.raises(procs.ComponentError, match="podman or docker"):
        image_cli.engine()
