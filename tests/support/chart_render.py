"""Rendering the Helm chart with the helm binary built from source (dev/helm/build.sh), and reading the output.

Chart tests take the `chart` fixture (tests/integration/conftest.py), a `ChartDriver` bound to that binary.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack import config
from devstack.kube import K8S_VERSION

CHART = config.REPO / "charts" / "eventreplay-operator"
CRD = config.REPO / "crds" / "eventreplay.io_eventreplays.yaml"
WATCH_CRD = config.REPO / "crds" / "eventreplay.io_eventreplaywatches.yaml"
ER = "eventreplays.eventreplay.io"
Doc = dict[str, Any]
VAP_API = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"
AS_ON_THE_STACK = ("--kube-version", K8S_VERSION, "--api-versions", VAP_API)
"""What `helm install` reads from the stack's API server; `helm template` assumes neither (its
Kubernetes is older than the chart's kubeVersion, and it lists no kinds, so no approval policy)."""
TENANT_ROLES = "tenant-roles"
"""The component label of the tenants' ClusterRoles (the operator's own roles are the others)."""


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


def operator_roles(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in ("ClusterRole", "Role") and not is_tenant_role(d)]


def is_tenant_role(doc: Doc) -> bool:
    return bool(doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == TENANT_ROLES)


def all_rules(docs: list[Doc]) -> list[Doc]:
    """The rules granted to the operator (the tenants' roles are bound to people, not to it)."""
    return [rule for d in operator_roles(docs) for rule in d["rules"]]


@dataclass
class ChartDriver:
    """The chart rendered or linted by one helm binary; the readers of rendered documents ride along."""

    helm: Path

    only = staticmethod(only)
    kinds = staticmethod(kinds)
    container = staticmethod(container)
    env = staticmethod(env)
    all_rules = staticmethod(all_rules)
    operator_roles = staticmethod(operator_roles)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.helm), *args], capture_output=True, text=True, timeout=120)

    def render(
        self, *args: str, release: str = "er", namespace: str = "eventreplay-system", chart: Path = CHART
    ) -> list[Doc]:
        """`helm template` as for the stack's cluster (AS_ON_THE_STACK, unless args name a version)."""
        cluster = () if "--kube-version" in args else AS_ON_THE_STACK
        out = self.run("template", release, str(chart), "--namespace", namespace, *cluster, *args)
        assert out.returncode == 0, out.stderr
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
