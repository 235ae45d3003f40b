"""Every package of the operator, the worker and the CLI is in the distribution pyproject.toml
builds (setuptools lists them one by one): a package left out installs nowhere, and the image's
operator fails at its first import (tests/integration/test_dockerfile.py finds it, minutes later)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_built_into_the_distribution() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for name, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *parts)))
    assert "eventreplay.operator.watch" in found, "the scan sees the packages"
    assert sorted(found - listed) == []
