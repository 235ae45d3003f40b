"""The Helm chart: renders in both RBAC modes, lints, rejects wrong values, installs, least privilege.

Rendering uses helm built from its Go module (`dev/helm/build.sh`, cached). The install goes into
fresh namespaces of the local control plane with `kubectl apply`; the operator's ServiceAccount is
then probed with `kubectl auth can-i --as=system:serviceaccount:...` (with the groups a real
service-account token carries) for what it must and must not be able to do.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import kube

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "eventreplay-operator"
CRD = ROOT / "crds" / "eventreplay.io_eventreplays.yaml"
ER = "eventreplays.eventreplay.io"
Doc = dict[str, Any]


@pytest.fixture(scope="session")
def helm() -> Path:
    out = subprocess.run(["bash", str(ROOT / "dev" / "helm" / "build.sh")], capture_output=True, text=True)
    assert out.returncode == 0, f"building helm failed: {out.stderr[-2000:]}"
    return Path(out.stdout.strip().splitlines()[-1])


def run(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120)


def render(helm: Path, *args: str, release: str = "er", namespace: str = "eventreplay-system") -> list[Doc]:
    out = run(helm, "template", release, str(CHART), "--namespace", namespace, *args)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def only(docs: list[Doc], kind: str) -> Doc:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


def kinds(docs: list[Doc]) -> list[str]:
    return sorted(d["kind"] for d in docs)


def container(docs: list[Doc]) -> Doc:
    (found,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(found)


def env(docs: list[Doc]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(docs)["env"]}


def all_rules(docs: list[Doc]) -> list[Doc]:
    return [rule for d in docs if d["kind"] in ("ClusterRole", "Role") for rule in d["rules"]]


# --- rendering ------------------------------------------------------------------------------


def test_cluster_mode_renders_one_cluster_role_and_a_hardened_deployment(helm: Path) -> None:
    docs = render(helm)
    assert kinds(docs) == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    binding = only(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "er-eventreplay-operator", "namespace": "eventreplay-system"}
    ]
    assert binding["roleRef"]["name"] == only(docs, "ClusterRole")["metadata"]["name"]

    deploy = only(docs, "Deployment")
    assert (deploy["spec"]["replicas"], deploy["spec"]["strategy"]) == (1, {"type": "Recreate"})
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    main = container(docs)
    assert main["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert main["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0]["name"] == "tmp" and "emptyDir" in pod["volumes"][0]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert env(docs) == {
        "EVENTREPLAY_NAMESPACES": "",
        "EVENTREPLAY_WORKER_IMAGE": "ghcr.io/eventreplay/eventreplay:0.1.0",
        "EVENTREPLAY_IMAGE_ALLOWLIST": "",
        "EVENTREPLAY_LIVENESS": "http://0.0.0.0:8080/healthz",
        "EVENTREPLAY_STATUS_INTERVAL": "5",
    }


def test_namespaced_mode_renders_roles_per_namespace_and_only_a_crd_read_at_cluster_scope(helm: Path) -> None:
    docs = render(helm, "--set", "watchNamespaces={payments,billing,payments}")
    roles = {d["metadata"]["namespace"]: d for d in docs if d["kind"] == "Role"}
    bindings = {d["metadata"]["namespace"]: d for d in docs if d["kind"] == "RoleBinding"}
    assert sorted(roles) == sorted(bindings) == ["billing", "payments"]
    for binding in bindings.values():
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "er-eventreplay-operator", "namespace": "eventreplay-system"}
        ]
    assert only(docs, "ClusterRole")["rules"] == [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]}
    ]
    assert env(docs)["EVENTREPLAY_NAMESPACES"] == "payments,billing"


@pytest.mark.parametrize("mode", [[], ["--set", "watchNamespaces={payments}"]], ids=["cluster", "namespaced"])
def test_rules_never_grant_secrets_wildcards_or_pod_creation(helm: Path, mode: list[str]) -> None:
    rules = all_rules(render(helm, *mode))
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert not [x for x in granted if "*" in x]
    assert not [x for x in granted if x[1] == "secrets"]
    assert ("", "pods", "create") not in granted
    assert not [x for x in granted if x[2] in ("escalate", "bind", "impersonate")]


def test_service_monitor_only_when_enabled_and_it_selects_the_metrics_service(helm: Path) -> None:
    assert "ServiceMonitor" not in kinds(render(helm))
    docs = render(helm, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prom")
    monitor, service = only(docs, "ServiceMonitor"), only(docs, "Service")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["eventreplay-system"]}


def test_credentials_are_secret_references_and_images_are_pinnable(helm: Path) -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(
        helm,
        "--set", "operator.kafka.settingsSecretRef.name=kafka-operator",
        "--set", "operator.redis.passwordSecretRef.name=redis",
        "--set", "operator.redis.passwordSecretRef.key=pw",
        "--set", f"worker.image.digest={digest}",
        "--set", "worker.imageAllowlist={registry.example/custom@" + digest + ",other@" + digest + "}",
    )  # fmt: skip
    assert "Secret" not in kinds(docs)
    values = env(docs)
    assert values["EVENTREPLAY_OPERATOR_KAFKA_SETTINGS"] == {
        "secretKeyRef": {"name": "kafka-operator", "key": "client.properties"}
    }
    assert values["EVENTREPLAY_OPERATOR_REDIS_PASSWORD"] == {"secretKeyRef": {"name": "redis", "key": "pw"}}
    assert values["EVENTREPLAY_WORKER_IMAGE"] == f"ghcr.io/eventreplay/eventreplay@{digest}"
    assert values["EVENTREPLAY_IMAGE_ALLOWLIST"] == f"registry.example/custom@{digest},other@{digest}"
    assert container(docs)["image"] == "ghcr.io/eventreplay/eventreplay:0.1.0"


def test_the_chart_ships_the_generated_crd(helm: Path) -> None:
    docs = render(helm, "--include-crds")
    assert only(docs, "CustomResourceDefinition") == yaml.safe_load(CRD.read_text())


@pytest.mark.parametrize(
    "values",
    [[], ["--set", "watchNamespaces={a,b}", "--set", "serviceMonitor.enabled=true"]],
    ids=["cluster", "namespaced-with-monitor"],
)
def test_helm_lint_passes(helm: Path, values: list[str]) -> None:
    out = run(helm, "lint", "--strict", str(CHART), *values)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "serviceMonitor.enabled=yes"], "at '/serviceMonitor/enabled': got string, want boolean"),
        (["--set", "watchNamespaces=payments"], "at '/watchNamespaces': got string, want array"),
        (["--set", "metrics.port=nine"], "at '/metrics/port': got string, want integer"),
        (["--set", "replicas=2"], "additional properties 'replicas' not allowed"),
    ],
)
def test_the_schema_rejects_wrong_values(helm: Path, values: list[str], message: str) -> None:
    out = run(helm, "template", "er", str(CHART), *values)
    assert out.returncode != 0
    assert "values don't meet the specifications of the schema" in out.stderr
    assert message in out.stderr


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
    kubectl("delete", "clusterrole,clusterrolebinding", "-l", selector, "--ignore-not-found", "--wait=false")
    kubectl("delete", "namespace", *names.values(), "--wait=false", ok=False)


def install(helm: Path, unique: str, ns: str, *values: str) -> tuple[str, list[Doc]]:
    """Apply the rendered chart; returns the ServiceAccount's name and the skipped documents."""
    kubectl("apply", "--server-side", "--field-manager=eventreplay-chart-test", "-f", str(CHART / "crds"))
    kubectl("wait", "--for=condition=Established", f"crd/{ER}", "--timeout=60s")
    docs = render(helm, "--set", "serviceMonitor.enabled=true", *values, release=f"er{unique}", namespace=ns)
    # The Prometheus Operator's CRD is not installed on the local stack, so the API server has no
    # mapping for ServiceMonitor (even a client dry run needs one); its shape is checked by the
    # rendering test above instead.
    skipped = [d for d in docs if d["kind"] == "ServiceMonitor"]
    docs = [d for d in docs if d["kind"] != "ServiceMonitor"]
    # The node harness runs every schedulable pod as a local process; a scheduling gate keeps the
    # operator pod created (so Pod Security admission judges it) but never started.
    deploy = only(docs, "Deployment")
    deploy["spec"]["template"]["spec"]["schedulingGates"] = [{"name": "eventreplay.io/chart-test"}]
    out = kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    assert "would violate PodSecurity" not in out.stderr, out.stderr
    return str(only(docs, "ServiceAccount")["metadata"]["name"]), skipped


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
    ("patch", "jobs.batch", "b", None),
    ("delete", "jobs.batch", "b", None),
    ("watch", "jobs.batch", "a", None),
    ("list", "pods", "a", None),
    ("get", "pods", "b", None),
    ("create", "events", "a", None),
    ("patch", "events", "b", None),
    ("create", "configmaps", "a", None),
    ("get", "configmaps", "b", None),
    ("list", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io", None, None),
]
MUST_NOT = [
    ("get", "secrets", "op", None),
    ("get", "secrets", "a", None),
    ("list", "secrets", "other", None),
    ("watch", "secrets", "b", None),
    ("create", "pods", "a", None),
    ("create", "pods", "op", None),
    ("create", "pods/exec", "a", None),
    ("delete", "namespaces", None, None),
    ("list", "namespaces", None, None),
    ("update", ER, "a", None),
    ("delete", ER, "a", None),
    ("create", ER, "a", None),
    ("update", ER, "a", "status"),
    ("update", "jobs.batch", "a", None),
    ("create", "deployments.apps", "a", None),
    ("delete", "configmaps", "a", None),
    ("create", "serviceaccounts/token", "a", None),
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
    helm: Path, namespaces: dict[str, str], unique: str
) -> None:
    op = namespaces["op"]
    sa, skipped = install(helm, unique, op)
    assert [d["kind"] for d in skipped] == ["ServiceMonitor"]
    pod = wait_for_operator_pod(op, f"er{unique}")
    assert pod["spec"]["serviceAccountName"] == sa
    assert_restricted_is_enforced(op)

    allowed = verdicts(namespaces, op, sa, MUST + CLUSTER_ALSO)
    assert [k for k, v in allowed.items() if not v] == []
    denied = verdicts(namespaces, op, sa, MUST_NOT)
    assert [k for k, v in denied.items() if v] == []


def test_namespaced_mode_installs_and_reaches_only_the_watched_namespaces(
    helm: Path, namespaces: dict[str, str], unique: str
) -> None:
    op = namespaces["op"]
    watched = f"watchNamespaces={{{namespaces['a']},{namespaces['b']}}}"
    sa, _ = install(helm, unique, op, "--set", watched)
    wait_for_operator_pod(op, f"er{unique}")

    allowed = verdicts(namespaces, op, sa, MUST)
    assert [k for k, v in allowed.items() if not v] == []
    denied = verdicts(namespaces, op, sa, MUST_NOT + NAMESPACED_MUST_NOT)
    assert [k for k, v in denied.items() if v] == []
