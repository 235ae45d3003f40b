"""The chart as GitOps renders it (issue #28): as a subchart, gated on the cluster's version and
APIs, with the tenants' aggregated roles, an OpenShift mode without a fixed uid, and the log format.

Rendered with helm built from its Go module (`dev/helm/build.sh`), no cluster needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eventreplay.operator.config import from_args
from support.chart_render import CHART, VAP_API, ChartDriver

pytestmark = pytest.mark.stack
POLICY_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def parent_chart(tmp: Path, chart: ChartDriver) -> Path:
    """A parent chart depending on ours (`condition: eventreplay-operator.enabled`), built offline."""
    parent = tmp / "platform"
    parent.mkdir()
    meta = {
        "apiVersion": "v2",
        "name": "platform",
        "version": "1.0.0",
        "dependencies": [
            {
                "name": "eventreplay-operator",
                "version": yaml.safe_load((CHART / "Chart.yaml").read_text())["version"],
                "repository": f"file://{CHART}",
                "condition": "eventreplay-operator.enabled",
            }
        ],
    }
    (parent / "Chart.yaml").write_text(yaml.safe_dump(meta))
    values = {"global": {"imageRegistry": "registry.example"}, "eventreplay-operator": {"enabled": True}}
    (parent / "values.yaml").write_text(yaml.safe_dump(values))
    out = chart.run("dependency", "build", str(parent))
    assert out.returncode == 0, out.stdout + out.stderr
    return parent


def test_the_chart_renders_as_a_subchart_of_a_parent_chart(chart: ChartDriver, tmp_path: Path) -> None:
    parent = parent_chart(tmp_path, chart)
    docs = chart.render("--set", "eventreplay-operator.watchNamespaces={payments}", chart=parent)
    assert "Deployment" in chart.kinds(docs) and set(POLICY_KINDS) <= set(chart.kinds(docs))
    assert chart.env(docs)["EVENTREPLAY_NAMESPACES"] == "payments"
    assert chart.render("--set", "eventreplay-operator.enabled=false", chart=parent) == []
    lint = chart.run("lint", "--strict", "--with-subcharts", str(parent))
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_kube_version_and_the_approval_policy_follow_the_cluster(chart: ChartDriver) -> None:
    too_old = chart.run("template", "er", str(CHART), "--kube-version", "1.28.9")
    assert too_old.returncode != 0 and "incompatible with Kubernetes v1.28.9" in too_old.stderr
    # 1.29 is supported, but it serves no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy.
    oldest = chart.kinds(chart.render("--kube-version", "1.29.0"))
    assert "Deployment" in oldest and not set(oldest) & set(POLICY_KINDS)
    served = chart.kinds(chart.render("--kube-version", "1.30.0", "--api-versions", VAP_API))
    assert set(POLICY_KINDS) <= set(served)
    off = chart.render("--kube-version", "1.30.0", "--api-versions", VAP_API, "--set", "approvals.policy.enabled=false")
    assert not set(chart.kinds(off)) & set(POLICY_KINDS)


def tenant_roles(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole" and d not in chart_roles(docs)}


def chart_roles(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return ChartDriver.operator_roles(docs)


def grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}


def aggregated_to(role: dict[str, Any]) -> list[str]:
    labels = role["metadata"]["labels"]
    return sorted(k.removeprefix(AGGREGATE) for k, v in labels.items() if k.startswith(AGGREGATE) and v == "true")


def test_tenants_get_view_edit_and_approve_roles(chart: ChartDriver) -> None:
    roles = tenant_roles(chart.render())
    assert sorted(roles) == ["eventreplay-approve", "eventreplay-edit", "eventreplay-view"]
    read = {(r, v) for r in ("eventreplays", "eventreplays/status") for v in ("get", "list", "watch")}
    kinds = ("eventreplays", "eventreplaywatches")  # a tenant views and edits its gap watches as its replays
    watches = {(r, v) for r in ("eventreplaywatches", "eventreplaywatches/status") for v in ("get", "list", "watch")}
    assert grants(roles["eventreplay-view"]) == read | watches
    assert grants(roles["eventreplay-edit"]) == {
        (k, v) for k in kinds for v in ("create", "update", "patch", "delete", "deletecollection")
    }
    assert grants(roles["eventreplay-approve"]) == read | {("eventreplays", "patch")}
    assert aggregated_to(roles["eventreplay-view"]) == ["admin", "edit", "view"]
    assert aggregated_to(roles["eventreplay-edit"]) == ["admin", "edit"]
    assert aggregated_to(roles["eventreplay-approve"]) == []  # bound by name to the approvers
    for role in roles.values():
        assert {g for rule in role["rules"] for g in rule["apiGroups"]} == {"eventreplay.io"}
    # The operator's own grants are unchanged by the tenants' roles, and they can be left out.
    assert all(r["metadata"]["name"] not in roles for r in chart_roles(chart.render()))
    assert tenant_roles(chart.render("--set", "rbac.tenantRoles=false")) == {}


def plain_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The operator's environment as rendered (values only; Secret references left out)."""
    return {k: v for k, v in ChartDriver.env(docs).items() if isinstance(v, str)}


def test_openshift_mode_leaves_the_uid_to_the_platform_for_operator_and_workers(chart: ChartDriver) -> None:
    fixed = chart.only(chart.render(), "Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert (fixed["runAsUser"], fixed["runAsGroup"]) == (65532, 65532)
    docs = chart.render("--set", "podSecurity.fixedUid=false")
    pod = chart.only(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert chart.container(docs)["securityContext"]["runAsNonRoot"] is True
    assert from_args([], plain_env(docs)).run_as_user is None  # the worker pods get no fixed uid either
    assert from_args([], plain_env(chart.render())).run_as_user == 65532


def test_the_log_format_reaches_the_operator(chart: ChartDriver) -> None:
    assert from_args([], plain_env(chart.render("--set", "operator.logFormat=json"))).log_format == "json"
    bad = chart.run("template", "er", str(CHART), "--set", "operator.logFormat=xml")
    assert bad.returncode != 0 and "/operator/logFormat" in bad.stderr


def test_helm_lint_passes_with_the_gitops_values(chart: ChartDriver) -> None:
    values = ["podSecurity.fixedUid=false", "operator.logFormat=json", "rbac.tenantRoles=false", "global.x=1"]
    out = chart.run("lint", "--strict", str(CHART), *(a for v in values for a in ("--set", v)))
    assert out.returncode == 0, out.stdout + out.stderr
