"""Register test-only user code the way a worker image installs it: a distribution's entry points.

The worker runs only transforms and validation models an installed distribution registers
(worker/replay/registry.py). A test writes its module into a directory, then `register` writes a
`*.dist-info` beside it; with the directory on the worker's path (PYTHONPATH, `sys.path`) the
names are installed, exactly as `pip install` of a plugin package would leave them. Nothing a spec
carries can do this: the registry is the image's.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from eventreplay.worker.replay.registry import MODELS, TRANSFORMS

DISTRIBUTION = "eventreplay_test_plugins"


def _lines(entries: Iterable[str]) -> list[str]:
    # `name` registers name = name (the registry's rule); a raw `name = target` line is kept as written.
    return [entry if "=" in entry else f"{entry} = {entry}" for entry in entries]


def register(directory: Path, *, transforms: Iterable[str] = (), models: Iterable[str] = ()) -> None:
    """Install a distribution in `directory` registering these names (`module:attr`)."""
    info = directory / f"{DISTRIBUTION}-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 0\n")
    text = [f"[{TRANSFORMS.group}]", *_lines(transforms), "", f"[{MODELS.group}]", *_lines(models), ""]
    (info / "entry_points.txt").write_text("\n".join(text))
