"""The Helm chart ships the generated CRD unchanged (`make crds` refreshes the chart's copy)."""

from __future__ import annotations

from pathlib import Path

import yaml

from eventreplay.operator import crdgen

CHART = Path(__file__).resolve().parents[2] / "charts" / "eventreplay-operator"


def test_chart_crds_are_the_generated_crds_byte_for_byte() -> None:
    for generated in (crdgen.CRD_PATH, crdgen.WATCH_CRD_PATH):
        chart_copy = CHART / "crds" / generated.name
        assert chart_copy.read_bytes() == generated.read_bytes(), (
            f"{chart_copy} differs from {generated}: run `make crds`"
        )


def test_chart_crds_hold_only_the_generated_crds() -> None:
    assert sorted(p.name for p in (CHART / "crds").iterdir()) == sorted(
        [crdgen.CRD_PATH.name, crdgen.WATCH_CRD_PATH.name]
    )


def test_chart_versions_and_default_image_match_the_package() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == ("0.2.0", "0.2.0")
    from eventreplay.operator.config import DEFAULT_IMAGE

    # With no overrides the chart runs the image the operator itself defaults to for workers.
    assert f"{values['image']['repository']}:{chart['appVersion']}" == DEFAULT_IMAGE
