"""The chart's Kubernetes requirement is stated once in meaning: Chart.yaml's kubeVersion, the
chart README and docs/install.md agree, and the approval policy waits for its API to be served."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "eventreplay-operator"


def test_kube_version_is_the_minimum_the_docs_state() -> None:
    kube_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    (minimum,) = re.fullmatch(r">=(\d+\.\d+)\.0-0", kube_version).groups()  # type: ignore[union-attr]
    assert f"Requirements: Kubernetes {minimum} or newer" in (CHART / "README.md").read_text()
    assert f"| Kubernetes | {minimum} or newer" in (ROOT / "docs" / "install.md").read_text()


def test_the_approval_policy_is_gated_on_its_api() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert '.Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"' in helpers
    policy = (CHART / "templates" / "approval-policy.yaml").read_text()
    assert '{{- if include "eventreplay-operator.approvalPolicy" . }}' in policy
