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

CHART = config.REPO / "charts" / "eventreplay-operator"
CRD = config.REPO / "crds" / "eventreplay.io_eventreplays.yaml"
ER = "eventreplays.eventreplay.io"
Doc = dict[str, Any]


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


@dataclass
class ChartDriver:
    """The chart rendered or linted by one helm binary; the readers of rendered documents ride along."""

    helm: Path

    only = staticmethod(only)
    kinds = staticmethod(kinds)
    container = staticmethod(container)
    env = staticmethod(env)
    all_rules = staticmethod(all_rules)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.helm), *args], capture_output=True, text=True, timeout=120)

    def render(self, *args: str, release: str = "er", namespace: str = "eventreplay-system") -> list[Doc]:
        out = self.run("template", release, str(CHART), "--namespace", namespace, *args)
        assert out.returncode == 0, out.stderr
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
