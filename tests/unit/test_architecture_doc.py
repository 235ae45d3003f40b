"""docs/architecture.md is the map: it names every module and package of the product, and none
that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()
TREES = ("operator", "worker", "cli")


def product() -> list[str]:
    """Every module by its path, and every package by its folder (`worker/ledger/`)."""
    found: set[str] = set()
    for tree in TREES:
        for path in (ROOT / tree).rglob("*.py"):
            rel = path.relative_to(ROOT)
            found.add(f"{rel.parent}/" if path.name == "__init__.py" else str(rel))
    return sorted(found)


@pytest.mark.parametrize("name", product())
def test_the_architecture_page_names_every_module_and_package(name: str) -> None:
    assert f"`{name}`" in DOC, f"docs/architecture.md does not name `{name}`"


def test_the_architecture_page_names_nothing_that_is_gone() -> None:
    named = set(re.findall(r"`((?:operator|worker|cli)/[\w/]*?(?:\.py|/))`", DOC))
    assert named, "the scan must find the page's module names"
    gone = sorted(named - set(product()))
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"
