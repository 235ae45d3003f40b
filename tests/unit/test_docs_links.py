"""The README stays a front door (at most 200 lines) and no page sends a reader nowhere: every
relative link in README.md and docs/*.md names an existing file (and heading), and every test the
guarantees page names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for target in LINK.findall(FENCE.sub("", page.read_text())):
            if not re.match(r"[a-z]+:", target):
                found.append((str(page.relative_to(ROOT)), target))
    return found


def test_the_readme_is_a_front_door_of_at_most_200_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move detail into docs/"
    assert lines[3:5] == [
        "make demo   # set-up on a fresh machine, then a replay end to end on the local stack",
        "make test   # set-up on a fresh machine, then every test (lint, unit, integration, end to end)",
    ], "the two commands open the README"


def test_the_scan_finds_the_links() -> None:
    assert len(links()) > 20


@pytest.mark.parametrize(("page", "target"), links())
def test_every_relative_link_points_to_an_existing_file_and_heading(page: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    resolved = (ROOT / page).parent / path if path else ROOT / page
    assert resolved.exists(), f"{page} links to {target}: no such file"
    if anchor and resolved.suffix == ".md":
        assert anchor in anchors(resolved), f"{page} links to {target}: no such heading"


def test_every_test_the_guarantees_page_names_exists() -> None:
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", (ROOT / "docs" / "guarantees.md").read_text())
    assert len(named) > 15, "the guarantees table names its tests"
    for path, function in named:
        assert (ROOT / path).exists(), f"docs/guarantees.md names {path}, which does not exist"
        if function:
            assert f"def {function}(" in (ROOT / path).read_text(), f"{path} has no {function}"
