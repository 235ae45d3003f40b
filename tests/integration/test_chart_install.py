"""The Helm chart installed into the local control plane: least privilege, PSS restricted.

The install goes into fresh namespaces with `kubectl apply`; the operator's ServiceAccount is then
probed with `kubectl auth can-i --as=system:serviceaccount:...` (with the groups a real
service-account token carries) for what it must and must not be able to do.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from devstack import kube
from support.chart_render import CHART, ER, ChartDriver, Doc

pytestmark = pytest.mark.stack


# --- a real install into the local control plane --------------------------------------------


def kubectl(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = kube.kubectl(*args, stdin=stdin)
    if ok:
        assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out


@pytest.fixture
def namespaces(local_stack: dict[str, str], unique: str) -> Iterator[dict[str, str]]:
    """Fresh namespaces: `op` (the operator's, enforcing PSS restricted), `a`, `b` and `other`."""
    names = {role: f"chart-{role}-{unique}" for role in ("op", "a", "b", "other")}
    for role, name in names.items():
        kubectl("create", "namespace", name)
        if role == "op":
            kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield names
    # Cluster-scoped objects do not go with the namespaces.
    selector = f"app.kubernetes.io/instance=er{unique}"
    cluster_kinds = "clusterrole,clusterrolebinding,validatingadmissionpolicy,validatingadmissionpolicybinding"
    kubectl("delete", cluster_kinds, "-l", selector, "--ignore-not-found", "--wait=false")
    kubectl("delete", "namespace", *names.values(), "--wait=false", ok=False)


def install(chart: ChartDriver, unique: str, ns: str, *values: str) -> tuple[str, list[Doc]]:
    """Apply the rendered chart; returns the ServiceAccount's name and the skipped documents."""
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=eventreplay-chart-test",
        "-f",
        str(CHART / "crds"),
    )
    kube.wait_crd_established(ER)
    docs = chart.render("--set", "serviceMonitor.enabled=true", *values, release=f"er{unique}", namespace=ns)
    # The Prometheus Operator's CRD is not installed on the local stack, so the API server has no
    # mapping for ServiceMonitor (even a client dry run needs one); its shape is checked by the
    # rendering test above instead.
    skipped = [d for d in docs if d["kind"] == "ServiceMonitor"]
    docs = [d for d in docs if d["kind"] != "ServiceMonitor"]
    # The node harness runs every schedulable pod as a local process; a scheduling gate keeps the
    # operator pod created (so Pod Security admission judges it) but never started.
    deploy = chart.only(docs, "Deployment")
    deploy["spec"]["template"]["spec"]["schedulingGates"] = [{"name": "eventreplay.io/chart-test"}]
    out = kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    assert "would violate PodSecurity" not in out.stderr, out.stderr
    return str(chart.only(docs, "ServiceAccount")["metadata"]["name"]), skipped


def wait_for_operator_pod(ns: str, release: str) -> Doc:
    """The ReplicaSet's pod exists: the API server admitted it under PSS `restricted`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = json.loads(
            kubectl("get", "pods", "-n", ns, "-l", f"app.kubernetes.io/instance={release}", "-o", "json").stdout
        )
        if pods["items"]:
            return dict(pods["items"][0])
        time.sleep(0.5)
    events = kubectl("get", "events", "-n", ns, "-o", "custom-columns=REASON:.reason,MSG:.message").stdout
    pytest.fail(f"no operator pod was created in {ns}: {events}")


def assert_restricted_is_enforced(ns: str) -> None:
    """Control: a pod without the restricted settings is refused in the same namespace."""
    bare = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "not-restricted", "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    out = kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(bare), ok=False)
    assert out.returncode != 0 and "violates PodSecurity" in out.stderr, out.stderr


def can_i(sa_ns: str, sa: str, verb: str, resource: str, *, ns: str | None, sub: str | None) -> bool:
    args = [
        "auth", "can-i", verb, resource,
        f"--as=system:serviceaccount:{sa_ns}:{sa}",
        "--as-group=system:serviceaccounts",
        f"--as-group=system:serviceaccounts:{sa_ns}",
        "--as-group=system:authenticated",
    ]  # fmt: skip
    # Without a namespace, kubectl would ask about its default namespace: ask cluster-wide instead.
    args += ["-n", ns] if ns else ["--all-namespaces"]
    args += [f"--subresource={sub}"] if sub else []
    out = kubectl(*args, ok=False)
    assert out.returncode in (0, 1), out.stderr
    return out.returncode == 0


Check = tuple[str, str, str | None, str | None]
"""(verb, resource, namespace role or None for cluster scope, subresource)."""

MUST = [
    ("get", ER, "a", None),
    ("watch", ER, "a", None),
    ("patch", ER, "a", None),
    ("patch", ER, "a", "status"),
    ("update", ER, "a", "finalizers"),
    ("create", "jobs.batch", "a", None),
    ("watch", "jobs.batch", "a", None),
    ("patch", "jobs.batch", "b", None),
    ("list", "pods", "a", None),
    ("create", "events", "a", None),
    # The replay's schema ConfigMap (issue #25): created, and read back when its name is taken.
    ("create", "configmaps", "a", None),
    ("get", "configmaps", "b", None),
    ("list", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    # The gap watches (issue #31): scanned, their status written, their drafts created (policy-checked
    # EventReplays with a Manual gate or a dry run, owned by the watch: they go with it).
    ("watch", "eventreplaywatches.eventreplay.io", "a", None),
    ("patch", "eventreplaywatches.eventreplay.io", "a", "status"),
    ("create", ER, "a", None),
]
MUST_NOT = [
    ("get", "secrets", "op", None),
    ("get", "secrets", "a", None),
    ("list", "secrets", "other", None),
    ("watch", "secrets", "b", None),
    ("create", "pods", "a", None),
    ("create", "pods", "op", None),
    # kubectl reads `pods/exec` as the pod named exec: a subresource is asked with --subresource.
    ("create", "pods", "a", "exec"),
    ("delete", "namespaces", None, None),
    ("list", "namespaces", None, None),
    ("update", ER, "a", None),
    ("delete", ER, "a", None),
    ("update", ER, "a", "status"),
    ("create", "eventreplaywatches.eventreplay.io", "a", None),
    ("delete", "eventreplaywatches.eventreplay.io", "a", None),
    ("update", "jobs.batch", "a", None),
    ("create", "deployments.apps", "a", None),
    ("delete", "configmaps", "a", None),
    # Grants the code never uses (issue #12): each would widen a tenant's reach through the operator.
    ("delete", "jobs.batch", "b", None),
    ("get", "pods", "b", None),
    ("patch", "events", "b", None),
    ("list", "configmaps", "a", None),
    ("patch", "configmaps", "other", None),
    ("create", "serviceaccounts", "a", "token"),
    ("create", "rolebindings.rbac.authorization.k8s.io", "a", None),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", None, None),
    ("impersonate", "serviceaccounts", "a", None),
    ("create", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("patch", "nodes", None, None),
]
NAMESPACED_MUST_NOT = [
    ("list", "jobs.batch", "other", None),
    ("create", "jobs.batch", "op", None),
    ("list", ER, "other", None),
    ("list", ER, None, None),  # cluster-wide (all namespaces)
    ("patch", ER, "other", "status"),
    ("create", "events", "other", None),
    ("list", "pods", "other", None),
    ("create", "configmaps", "other", None),
    ("get", "configmaps", "other", None),
]
CLUSTER_ALSO = [
    ("list", "jobs.batch", "other", None),
    ("list", ER, None, None),
    ("patch", ER, "other", "status"),
]


def verdicts(names: dict[str, str], sa_ns: str, sa: str, checks: list[Check]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for verb, resource, where, sub in checks:
        ns = names[where] if where else None
        label = f"{verb} {resource}{'/' + sub if sub else ''} in {where or 'cluster'}"
        out[label] = can_i(sa_ns, sa, verb, resource, ns=ns, sub=sub)
    return out


def test_cluster_mode_installs_and_grants_exactly_what_the_operator_does(
    chart: ChartDriver, namespaces: dict[str, str], unique: str
) -> None:
    op = namespaces["op"]
    sa, skipped = install(chart, unique, op)
    assert [d["kind"] for d in skipped] == ["ServiceMonitor"]
    pod = wait_for_operator_pod(op, f"er{unique}")
    assert pod["spec"]["serviceAccountName"] == sa
    assert_restricted_is_enforced(op)

    allowed = verdicts(namespaces, op, sa, MUST + CLUSTER_ALSO)
    assert [k for k, v in allowed.items() if not v] == []
    denied = verdicts(namespaces, op, sa, MUST_NOT)
    assert [k for k, v in denied.items() if v] == []


def test_namespaced_mode_installs_and_reaches_only_the_watched_namespaces(
    chart: ChartDriver, namespaces: dict[str, str], unique: str
) -> None:
    op = namespaces["op"]
    watched = f"watchNamespaces={{{namespaces['a']},{namespaces['b']}}}"
    sa, _ = install(chart, unique, op, "--set", watched)
    wait_for_operator_pod(op, f"er{unique}")

    allowed = verdicts(namespaces, op, sa, MUST)
    assert [k for k, v in allowed.items() if not v] == []
    denied = verdicts(namespaces, op, sa, MUST_NOT + NAMESPACED_MUST_NOT)
    assert [k for k, v in denied.items() if v] == []
