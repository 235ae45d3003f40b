"""The Helm chart rendered: both RBAC modes, lint, the values schema rejecting wrong values.

Rendering uses helm built from its Go module (`dev/helm/build.sh`, cached); the install into the
local control plane is tested in test_chart_install.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.chart_render import CHART, CRD, WATCH_CRD, ChartDriver

pytestmark = pytest.mark.stack


def test_cluster_mode_renders_one_cluster_role_and_a_hardened_deployment(chart: ChartDriver) -> None:
    docs = chart.render()
    assert chart.kinds(docs) == [
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ServiceAccount",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    binding = chart.only(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "er-eventreplay-operator", "namespace": "eventreplay-system"}
    ]
    assert binding["roleRef"]["name"] == chart.only(chart.operator_roles(docs), "ClusterRole")["metadata"]["name"]

    deploy = chart.only(docs, "Deployment")
    assert (deploy["spec"]["replicas"], deploy["spec"]["strategy"]) == (1, {"type": "Recreate"})
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    main = chart.container(docs)
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
    assert chart.env(docs) == {
        "EVENTREPLAY_NAMESPACES": "",
        "EVENTREPLAY_WORKER_IMAGE": "ghcr.io/eventreplay/eventreplay:0.2.0",
        "EVENTREPLAY_IMAGE_ALLOWLIST": "",
        "EVENTREPLAY_LIVENESS": "http://0.0.0.0:8080/healthz",
        "EVENTREPLAY_STATUS_INTERVAL": "5",
        "EVENTREPLAY_FINISHED_JOB_TTL": "600",
        # No policy and none of its own endpoints: the closed default lends nothing.
        "EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": "",
        "EVENTREPLAY_OPERATOR_REDIS_ADDRESSES": "",
        "EVENTREPLAY_OPERATOR_SCHEMA_REGISTRY_URLS": "",
        "EVENTREPLAY_OPERATOR_SECRET_NAMES": "",
        "EVENTREPLAY_LOG_FORMAT": "text",
        "EVENTREPLAY_WORKER_RUN_AS_USER": "65532",
    }


def test_namespaced_mode_renders_roles_per_namespace_and_only_a_crd_read_at_cluster_scope(chart: ChartDriver) -> None:
    docs = chart.render("--set", "watchNamespaces={payments,billing,payments}")
    roles = {d["metadata"]["namespace"]: d for d in docs if d["kind"] == "Role"}
    bindings = {d["metadata"]["namespace"]: d for d in docs if d["kind"] == "RoleBinding"}
    assert sorted(roles) == sorted(bindings) == ["billing", "payments"]
    for binding in bindings.values():
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "er-eventreplay-operator", "namespace": "eventreplay-system"}
        ]
    assert chart.only(chart.operator_roles(docs), "ClusterRole")["rules"] == [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]}
    ]
    assert chart.env(docs)["EVENTREPLAY_NAMESPACES"] == "payments,billing"


USED = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),  # kopf: CRD discovery
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    ("eventreplay.io", "eventreplays", "get"),  # Kube.get_replay
    ("eventreplay.io", "eventreplays", "list"),  # kopf's watch stream
    ("eventreplay.io", "eventreplays", "watch"),
    ("eventreplay.io", "eventreplays", "patch"),  # kopf: finalizer and progress annotations
    ("eventreplay.io", "eventreplays/status", "patch"),  # Kube.patch_replay_status
    ("eventreplay.io", "eventreplays/finalizers", "update"),  # blockOwnerDeletion on the Jobs
    ("eventreplay.io", "eventreplays", "create"),  # watch.kube.WatchKube.create_draft
    ("eventreplay.io", "eventreplaywatches", "get"),  # watch.kube.WatchKube.get_watch
    ("eventreplay.io", "eventreplaywatches", "list"),  # kopf's watch stream
    ("eventreplay.io", "eventreplaywatches", "watch"),
    ("eventreplay.io", "eventreplaywatches", "patch"),  # kopf: finalizer (the watch timer) and annotations
    ("eventreplay.io", "eventreplaywatches/status", "patch"),  # watch.kube.WatchKube.patch_watch_status
    ("eventreplay.io", "eventreplaywatches/finalizers", "update"),  # blockOwnerDeletion on scan Jobs and drafts
    ("batch", "jobs", "list"),  # Kube.list_jobs, and kopf's watch of the Jobs
    ("batch", "jobs", "watch"),  # handlers.job_changed: a finished Job wakes its replay
    ("batch", "jobs", "create"),  # Kube.create_job
    ("batch", "jobs", "patch"),  # Kube.set_job_suspended
    ("", "pods", "list"),  # Kube.list_pods
    ("", "configmaps", "create"),  # Kube.create_config_map: the replay's schema
    ("", "configmaps", "get"),  # Kube.create_config_map: whose is one holding the name
    ("", "events", "create"),  # kopf.event (POST)
}
"""Every (group, resource, verb) the operator's code and kopf call. A grant outside it fails the test."""


@pytest.mark.parametrize("mode", [[], ["--set", "watchNamespaces={payments}"]], ids=["cluster", "namespaced"])
def test_every_grant_is_one_the_code_uses(chart: ChartDriver, mode: list[str]) -> None:
    rules = chart.all_rules(chart.render(*mode))
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert sorted(granted - USED) == [], "granted but never used"
    assert sorted(USED - granted) == [], "used but not granted"


@pytest.mark.parametrize("mode", [[], ["--set", "watchNamespaces={payments}"]], ids=["cluster", "namespaced"])
def test_rules_never_grant_secrets_wildcards_or_pod_creation(chart: ChartDriver, mode: list[str]) -> None:
    rules = chart.all_rules(chart.render(*mode))
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert not [x for x in granted if "*" in x]
    assert not [x for x in granted if x[1] == "secrets"]
    assert ("", "pods", "create") not in granted
    assert not [x for x in granted if x[2] in ("escalate", "bind", "impersonate")]


def test_service_monitor_only_when_enabled_and_it_selects_the_metrics_service(chart: ChartDriver) -> None:
    assert "ServiceMonitor" not in chart.kinds(chart.render())
    docs = chart.render("--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prom")
    monitor, service = chart.only(docs, "ServiceMonitor"), chart.only(docs, "Service")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        # honorLabels: the replay's own `namespace` label stays `namespace`, not `exported_namespace`.
        {"port": "metrics", "path": "/metrics", "honorLabels": True, "interval": "30s", "scrapeTimeout": "10s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["eventreplay-system"]}


def test_credentials_are_secret_references_and_images_are_pinnable(chart: ChartDriver) -> None:
    digest = "sha256:" + "ab" * 32
    docs = chart.render(
        "--set", "operator.kafka.settingsSecretRef.name=kafka-operator",
        "--set", "operator.redis.passwordSecretRef.name=redis",
        "--set", "operator.redis.passwordSecretRef.key=pw",
        "--set", f"worker.image.digest={digest}",
        "--set", "worker.imageAllowlist={registry.example/custom@" + digest + ",other@" + digest + "}",
    )  # fmt: skip
    assert "Secret" not in chart.kinds(docs)
    values = chart.env(docs)
    assert values["EVENTREPLAY_OPERATOR_KAFKA_SETTINGS"] == {
        "secretKeyRef": {"name": "kafka-operator", "key": "client.properties"}
    }
    assert values["EVENTREPLAY_OPERATOR_REDIS_PASSWORD"] == {"secretKeyRef": {"name": "redis", "key": "pw"}}
    assert values["EVENTREPLAY_WORKER_IMAGE"] == f"ghcr.io/eventreplay/eventreplay@{digest}"
    assert values["EVENTREPLAY_IMAGE_ALLOWLIST"] == f"registry.example/custom@{digest},other@{digest}"
    assert chart.container(docs)["image"] == "ghcr.io/eventreplay/eventreplay:0.2.0"
    # Without a policy these Secret names are the only ones a replay may name (in its own namespace).
    assert values["EVENTREPLAY_OPERATOR_SECRET_NAMES"] == "kafka-operator,redis"


def test_without_a_policy_the_operator_lends_only_its_own_endpoints(chart: ChartDriver) -> None:
    from eventreplay.operator.config import from_args

    docs = chart.render(
        "--set", "operator.kafka.bootstrapServers=kafka-0:9092\\,kafka-1:9092",
        "--set", "operator.redis.address=redis:6379",
    )  # fmt: skip
    env = chart.env(docs)
    assert env["EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS"] == "kafka-0:9092,kafka-1:9092"
    assert env["EVENTREPLAY_OPERATOR_REDIS_ADDRESSES"] == "redis:6379"
    policy = from_args([], env={k: v for k, v in env.items() if isinstance(v, str)}).policy
    assert not policy.permissive
    (cluster,) = policy.document.kafka_clusters
    assert cluster.bootstrap_servers == ["kafka-0:9092", "kafka-1:9092"]
    assert [r.address for r in policy.document.redis_endpoints] == ["redis:6379"]
    assert policy.document.projects[0].transforms == ["identity", "project"]


def test_the_permissive_opt_in_is_a_policy_file_of_its_own(chart: ChartDriver, tmp_path: Path) -> None:
    from eventreplay.operator.policy import load

    docs = chart.render("--set", "policy.permissive=true")
    mounted = tmp_path / "policy.yaml"
    mounted.write_text(chart.only(docs, "ConfigMap")["data"]["policy.yaml"])
    assert load(str(mounted)).permissive
    assert chart.env(docs)["EVENTREPLAY_POLICY_FILE"] == "/etc/eventreplay/policy/policy.yaml"


def test_the_chart_ships_the_generated_crd(chart: ChartDriver) -> None:
    docs = chart.render("--include-crds")
    shipped = sorted((d for d in docs if d["kind"] == "CustomResourceDefinition"), key=lambda d: d["metadata"]["name"])
    assert shipped == [yaml.safe_load(CRD.read_text()), yaml.safe_load(WATCH_CRD.read_text())]


@pytest.mark.parametrize(
    "values",
    [[], ["--set", "watchNamespaces={a,b}", "--set", "serviceMonitor.enabled=true"]],
    ids=["cluster", "namespaced-with-monitor"],
)
def test_helm_lint_passes(chart: ChartDriver, values: list[str]) -> None:
    out = chart.run("lint", "--strict", str(CHART), *values)
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
def test_the_schema_rejects_wrong_values(chart: ChartDriver, values: list[str], message: str) -> None:
    out = chart.run("template", "er", str(CHART), *values)
    assert out.returncode != 0
    assert "values don't meet the specifications of the schema" in out.stderr
    assert message in out.stderr


def test_the_policy_is_a_mounted_file_the_operator_can_load(chart: ChartDriver, tmp_path: Path) -> None:
    from eventreplay.operator.policy import load

    assert not [d for d in chart.render() if d["kind"] == "ConfigMap"]  # the closed default: no file
    assert "EVENTREPLAY_POLICY_FILE" not in chart.env(chart.render())
    values = tmp_path / "policy.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "policy": {
                    "kafkaClusters": [
                        {"name": "main", "bootstrapServers": ["kafka-0:9092"]},
                        {
                            "name": "secure",
                            "bootstrapServers": ["kafka-0:9093"],
                            "securityProtocol": "SASL_SSL",
                            "saslMechanism": "SCRAM-SHA-512",
                            "tls": {"caSecretRef": {"name": "kafka-ca", "key": "ca.crt"}, "verifyHostname": True},
                            "topicsCreatedBy": "tenant",
                        },
                    ],
                    "redisEndpoints": [{"name": "ledger", "address": "redis:6379"}],
                    "projects": [
                        {
                            "name": "orders",
                            "namespaces": ["orders"],
                            "kafkaClusters": ["main", "secure"],
                            "kafkaCredentials": [{"cluster": "secure", "secretRef": {"name": "orders-scram"}}],
                        }
                    ],
                }
            }
        )
    )
    docs = chart.render("-f", str(values))
    config_map = chart.only(docs, "ConfigMap")
    mounted = tmp_path / "mounted.yaml"
    mounted.write_text(config_map["data"]["policy.yaml"])
    policy = load(str(mounted))
    assert policy.document is not None and policy.document.projects[0].kafka_clusters == ["main", "secure"]
    assert policy.document.kafka_clusters[1].topics_created_by == "tenant"
    assert chart.env(docs)["EVENTREPLAY_POLICY_FILE"] == "/etc/eventreplay/policy/policy.yaml"
    pod = chart.only(docs, "Deployment")["spec"]["template"]
    assert {"name": "policy", "configMap": {"name": config_map["metadata"]["name"]}} in pod["spec"]["volumes"]
    assert "eventreplay.io/policy-checksum" in pod["metadata"]["annotations"]
