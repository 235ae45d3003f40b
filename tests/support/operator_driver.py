"""The operator tests' driver: one namespace's replays on the local control plane, and the operator run for them.

Integration modules take the `driver` fixture (tests/integration/conftest.py) and call its methods
instead of importing a list of helper functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack import config
from eventreplay.operator import crdgen
from eventreplay.operator.job_names import LABEL_UID
from eventreplay.operator.kube import MERGE, Kube, api_client
from support.operator_process import OperatorProcess, permissive_policy, running_operator
from support.replay_waits import condition, get_replay, wait_for, wait_for_condition, wait_for_replay

Replay = dict[str, Any]


def kube() -> Kube:
    return Kube(api_client(str(config.kubeconfig_path())))


def install_crd(k: Kube, kind: crdgen.Kind = crdgen.REPLAY) -> None:
    """Server-side apply a generated CRD (the EventReplay's unless `kind`) and wait until it is Established."""
    body = crdgen.crd(kind)
    name = body["metadata"]["name"]
    k.call(
        "PATCH",
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
        body,
        query={"fieldManager": "eventreplay-tests", "force": "true"},
        content_type="application/apply-patch+yaml",
    )

    def established() -> bool:
        crd = k.call("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        conds = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

    wait_for(established, 30, "CRD established")


def replay_manifest(ns: str, name: str, spec: dict[str, Any]) -> Replay:
    return {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def create_replay(k: Kube, manifest: Replay) -> Replay:
    ns = manifest["metadata"]["namespace"]
    return k.call("POST", f"/apis/eventreplay.io/v1alpha1/namespaces/{ns}/eventreplays", manifest)


def examples() -> list[Path]:
    return sorted((config.REPO / "examples").glob("*.yaml"))


def load_example(path: Path, namespace: str) -> Replay:
    doc: Replay = yaml.safe_load(path.read_text())
    doc["metadata"]["namespace"] = namespace
    return doc


@dataclass
class OperatorDriver:
    """The admin client `k`, the test's namespace and its temporary folder (for the operator's log)."""

    k: Kube
    namespace: str
    tmp: Path

    # Pure helpers over a replay body, reachable from the driver so a test imports nothing else.
    condition = staticmethod(condition)
    wait_for = staticmethod(wait_for)

    @contextmanager
    def running(
        self, env: dict[str, str] | None = None, args: tuple[str, ...] = (), *, permissive: bool = False
    ) -> Iterator[OperatorProcess]:
        """The operator for the block, watching the namespace (see `running_operator`): as installed
        without a policy, or with `permissive` the explicit opt-in (any transform, endpoint, Secret)."""
        env = {**(permissive_policy(self.tmp) if permissive else {}), **(env or {})}
        with running_operator(self.k, self.namespace, self.tmp, env, args) as op:
            yield op

    def manifest(self, name: str, spec: dict[str, Any]) -> Replay:
        return replay_manifest(self.namespace, name, spec)

    def create(self, name: str, spec: dict[str, Any]) -> Replay:
        return create_replay(self.k, self.manifest(name, spec))

    def apply(self, manifest: Replay) -> Replay:
        """Create a replay from a whole manifest (an example file, a manifest also given to the CLI)."""
        return create_replay(self.k, manifest)

    def get(self, name: str) -> Replay:
        return get_replay(self.k, self.namespace, name)

    def patch_spec(self, name: str, spec: dict[str, Any]) -> Replay:
        return self.k.call(
            "PATCH",
            f"/apis/eventreplay.io/v1alpha1/namespaces/{self.namespace}/eventreplays/{name}",
            {"spec": spec},
            content_type=MERGE,
        )

    def jobs(self, replay: Replay) -> list[dict[str, Any]]:
        meta = replay["metadata"]
        return self.k.list_jobs(meta["namespace"], f"{LABEL_UID}={meta['uid']}")

    def events(self, replay: Replay) -> list[dict[str, Any]]:
        meta = replay["metadata"]
        out = self.k.call(
            "GET",
            f"/api/v1/namespaces/{meta['namespace']}/events",
            query={"fieldSelector": f"involvedObject.uid={meta['uid']}"},
        )
        return list(out.get("items") or [])

    def wait_for_event(self, replay: Replay, reason: str, timeout: float = 30) -> None:
        """Events are posted after the status that caused them: poll, do not read once."""
        wait_for(lambda: reason in [e["reason"] for e in self.events(replay)], timeout, f"a {reason} Event")

    def wait_for_replay(
        self,
        name: str,
        test: Callable[[Replay], bool],
        what: str,
        *,
        timeout: float = 240,
        stalled_fails: bool = True,
    ) -> Replay:
        return wait_for_replay(self.k, self.namespace, name, test, what, timeout=timeout, stalled_fails=stalled_fails)

    def wait_for_condition(self, name: str, kind: str, *, timeout: float = 240) -> Replay:
        return wait_for_condition(self.k, self.namespace, name, kind, timeout=timeout)
