"""The Dockerfile cannot be built here (no Docker engine), so its parts are checked one by one:
it parses, stages and user are as promised, and its install steps work in a fresh virtualenv."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from devstack import config

DOCKERFILE = config.REPO / "Dockerfile"
KNOWN = {"FROM", "RUN", "COPY", "ENV", "ARG", "WORKDIR", "USER", "ENTRYPOINT", "CMD", "LABEL", "EXPOSE"}


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_parses_and_keeps_its_promises() -> None:
    steps = instructions()
    assert {word for word, _ in steps} <= KNOWN
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for word, rest in steps if word == "ARG" and "=" in rest}
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), "a base pinned by tag and digest"
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS build"), "multi-stage"
    final = steps[[i for i, (w, _) in enumerate(steps) if w == "FROM"][1] :]
    users = [rest for word, rest in final if word == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), "a numeric non-root user"
    assert not any(word == "RUN" for word, _ in final), "no build tools or caches in the final stage"
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert entry and "eventreplay.operator" in entry[0]
    for word, rest in steps:
        if word == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (config.REPO / source).exists(), f"COPY source {source} is missing"


def test_the_image_copies_no_test_data_generator() -> None:
    """dev/datagen generates test data: it must stay out of what the build stage copies and installs."""
    copied = [
        config.REPO / source
        for word, rest in instructions()
        if word == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    ]
    shipped = [path for src in copied for path in ([src] if src.is_file() else src.rglob("*.py"))]
    assert shipped, "the build stage copies no Python sources"
    assert not [path for path in shipped if "datagen" in path.name], "a data generator is copied into the image"


def test_install_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """Replays the build stage's COPY and RUN steps (same files, same pip command, constraints.txt)."""
    context = tmp_path / "src"
    context.mkdir()
    for word, rest in instructions():
        if word == "COPY" and "--from" not in rest:
            *sources, _ = rest.split()
            for source in sources:
                src = config.REPO / source
                (shutil.copytree if src.is_dir() else shutil.copy)(src, context / source)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, cwd=tmp_path)
    run = next(rest for word, rest in instructions() if word == "RUN" and "pip install" in rest)
    pip_args = run.split("&&")[0].split("pip install", 1)[1].split()
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *pip_args],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for entry in ("eventreplay.operator", "eventreplay.worker"):
        probe = subprocess.run(
            [str(venv / "bin" / "python"), "-m", entry, "--help"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
            timeout=60,
        )
        assert probe.returncode == 0, probe.stderr[-2000:]
    # The test data generator lives under dev/: the installed package has no such module.
    absent = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import eventreplay.datagen"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert absent.returncode != 0 and "ModuleNotFoundError" in absent.stderr, absent.stderr[-2000:]
