"""The real node: a kubelet on the private containerd, registered to the stack's API server.

A namespace enforcing the restricted Pod Security Standard and annotated for the real node gets a
pod of the project image (as built, imported, never pulled). The test checks that the binder put it
on the real node (not the process harness), that it ran as uid 65532 with a read-only root, and
that from the pod network it reached Redis and Kafka at the gateway (Kafka advertising the
gateway back) and the API server at the `kubernetes` Service's ClusterIP, with TLS verified
against the stack's CA: what the operator and its Jobs need in-cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devstack import config, images, kube, kubelet, procs

pytestmark = pytest.mark.stack

PROBE = """
import json, os, socket, ssl, urllib.request
import redis
from confluent_kafka.admin import AdminClient
out = {"uid": os.getuid()}
try:
    open("/probe", "w")
    out["root"] = "writable"
except OSError as err:
    out["root"] = err.strerror
out["redis"] = redis.Redis.from_url(os.environ["PROBE_REDIS"], socket_timeout=10).ping()
meta = AdminClient({"bootstrap.servers": os.environ["PROBE_KAFKA"]}).list_topics(timeout=20)
out["brokers"] = [f"{b.host}:{b.port}" for b in meta.brokers.values()]
ctx = ssl.create_default_context(cafile="/probe-ca/ca.crt")
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
try:
    urllib.request.urlopen(f"https://{host}:{port}/version", context=ctx, timeout=10)
    out["api"] = 200
except urllib.error.HTTPError as err:
    out["api"] = err.code
print(json.dumps(out))
"""


def kubectl(*args: str, stdin: str | None = None) -> str:
    out = kube.kubectl(*args, stdin=stdin)
    assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out.stdout


@pytest.fixture
def node_namespace(real_node: dict[str, str], unique: str) -> Iterator[str]:
    name = f"node-{unique}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("annotate", "namespace", name, f"{kubelet.NODE_SELECTOR_ANNOTATION}={kubelet.node_selector()}")
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def probe_pod(ns: str, image: str) -> dict[str, object]:
    restricted = {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": ns},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", PROBE],
                    "env": [
                        {"name": "PROBE_REDIS", "value": config.pod_redis_url()},
                        {"name": "PROBE_KAFKA", "value": config.pod_kafka_bootstrap()},
                    ],
                    "securityContext": restricted,
                    "volumeMounts": [{"name": "ca", "mountPath": "/probe-ca", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "ca", "configMap": {"name": "kube-root-ca.crt"}}],
        },
    }


def wait_for_phase(ns: str, name: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod: dict[str, object] = json.loads(kubectl("get", "pod", name, "-n", ns, "-o", "json"))
        if pod["status"].get("phase") in ("Succeeded", "Failed"):  # type: ignore[attr-defined]
            return pod
        time.sleep(1)
    events = kubectl("get", "events", "-n", ns, "-o", "custom-columns=REASON:.reason,MSG:.message")
    pytest.fail(f"pod {ns}/{name} did not finish in {timeout:.0f}s:\n{events}\n{procs.log_tail('kubelet')}")


def test_a_restricted_pod_of_the_project_image_runs_on_the_real_node_and_reaches_the_stack(
    node_namespace: str,
) -> None:
    ns = node_namespace
    kubectl("wait", "--for=jsonpath={.data.ca\\.crt}", "configmap/kube-root-ca.crt", "-n", ns, "--timeout=60s")
    kubectl("apply", "-f", "-", stdin=json.dumps(probe_pod(ns, images.project_image())))
    pod = wait_for_phase(ns, "probe")
    logs = kubectl("logs", "probe", "-n", ns)
    assert pod["spec"]["nodeName"] == kubelet.NODE_NAME, pod["spec"]  # type: ignore[index]
    assert pod["status"]["phase"] == "Succeeded", logs  # type: ignore[index]
    seen = json.loads(logs.strip().splitlines()[-1])
    assert seen["uid"] == 65532
    assert seen["root"] == "Read-only file system"
    assert seen["redis"] is True
    assert seen["brokers"] == [config.pod_kafka_bootstrap()]
    # Anonymous: a 401 or 403 from the API server proves TLS to 10.0.0.1 verified and it answered.
    assert seen["api"] in (200, 401, 403)


def test_a_pod_without_the_annotation_still_runs_on_the_process_harness(real_node: dict[str, str], unique: str) -> None:
    ns = f"harness-{unique}"
    kubectl("create", "namespace", ns)
    try:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "plain", "namespace": ns},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x", "command": ["true"]}]},
        }
        kubectl("apply", "-f", "-", stdin=json.dumps(pod))
        done = wait_for_phase(ns, "plain", timeout=60)
        assert done["spec"]["nodeName"] == "eventreplay-local"  # type: ignore[index]
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")
