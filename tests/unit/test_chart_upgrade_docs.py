"""The chart's versions agree with the package and the docs, whose upgrade steps are the tested ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

import eventreplay
from support.chart_upgrade import (
    PREVIOUS_VERSION,
    chart_version,
    crd_upgrade_argv,
    helm_upgrade_argv,
    stop_operator_argv,
)

REPO = Path(__file__).resolve().parents[2]
CHART = Path("charts/eventreplay-operator")


def section(page: str, heading: str) -> str:
    text = (REPO / "docs" / page).read_text()
    start = text.index(f"\n## {heading}\n")
    return text[start : text.find("\n## ", start + 1)]


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((REPO / CHART / "Chart.yaml").read_text())
    package = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert chart["appVersion"] == package == eventreplay.__version__


def test_docs_name_the_chart_version_and_upgrade_from_the_previous_one() -> None:
    version = chart_version(REPO / CHART)
    assert version != PREVIOUS_VERSION
    assert f"version: {version}\n" in section("install.md", "As a subchart (GitOps)")
    assert f"from chart {PREVIOUS_VERSION}" in section("operations.md", "Upgrades")


def test_docs_upgrade_commands_are_the_ones_the_upgrade_test_runs() -> None:
    upgrades = section("operations.md", "Upgrades")
    stop, crd = stop_operator_argv("eventreplay", "eventreplay-system"), crd_upgrade_argv(CHART)
    steps = [" ".join(stop), " ".join(crd)]
    assert all(step in upgrades for step in steps)
    assert upgrades.index(steps[0]) < upgrades.index(steps[1]), "the old operator stops before the new CRD"
    assert " ".join(helm_upgrade_argv("eventreplay", CHART, "eventreplay-system")) in upgrades
