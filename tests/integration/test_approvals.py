"""Approvals with identity on the real API server: the chart's ValidatingAdmissionPolicy makes the
approver annotation equal the authenticated user, and with four eyes refuses a self-approval.
Two users (alice, bob) with client certificates signed by the stack's CA act through kubectl and
`eventreplay approve`; the admin only sets up RBAC and plays the operator's status writes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chart_helpers import render
from cli_helpers import cli
from operator_helpers import replay_manifest, wait_for

from devstack import config, kube, pki
from eventreplay.operator.api.v1alpha1 import APPROVED_BY, CREATED_BY
from eventreplay.operator.kube import MERGE, Kube

pytestmark = pytest.mark.stack
REPORT = "ab" * 32
PLURAL = "eventreplays.eventreplay.io"


def _as(user: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kube.kubectl_path()), "--kubeconfig", str(user), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def users(namespace: str, tmp_path: Path) -> dict[str, Path]:
    """alice and bob may read, create and edit EventReplays in the namespace, nothing else."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "replay-editor", "namespace": namespace},
        "rules": [{"apiGroups": ["eventreplay.io"], "resources": ["eventreplays"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch"]}],
    }  # fmt: skip
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "replay-editors", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "replay-editor"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": n} for n in ("alice", "bob")],
    }
    out = kube.kubectl(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [role, binding]})
    )
    assert out.returncode == 0, out.stderr
    return {name: pki.user_kubeconfig(name, tmp_path / f"{name}.kubeconfig") for name in ("alice", "bob")}


@pytest.fixture
def policy(helm: Path, namespace: str, unique: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """The chart's approval policy, bound to this test's namespace only."""
    four_eyes = str(bool(getattr(request, "param", False))).lower()
    docs = render(helm, "--set", f"watchNamespaces={{{namespace}}}", "--set", f"approvals.fourEyes={four_eyes}",
                  release=f"ap{unique}", namespace=namespace)  # fmt: skip
    docs = [d for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")]
    assert sorted(d["kind"] for d in docs) == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    out = kube.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    assert out.returncode == 0, out.stderr
    # The API server loads policies through an informer: wait until this one judges requests.
    probe = replay_manifest(namespace, "probe", {**_spec(), "promotion": {"approvedReportHash": REPORT}})
    wait_for(
        lambda: (
            "denied request" in kube.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(probe)).stderr
        ),
        30,
        "the approval policy to take effect",
    )
    yield
    selector = f"app.kubernetes.io/instance=ap{unique}"
    kube.kubectl("delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", "-l", selector)


def _spec() -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": "orders"},
        "window": {"offsets": {"from": 0, "to": 10}},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": "approvals"},
        "sink": {"topic": "orders-out"},
        "promotion": {"policy": "Manual"},
        "dryRun": True,  # no operator runs here: admission is what is tested
    }


def _create(user: Path, namespace: str, name: str, annotations: dict[str, str] | None = None) -> Any:
    manifest = replay_manifest(namespace, name, _spec())
    if annotations:
        manifest["metadata"]["annotations"] = annotations
    return _as(user, "create", "-f", "-", stdin=json.dumps(manifest))


def _reconciled(k: Kube, namespace: str, name: str) -> None:
    """What the operator would write once the report exists (the admin plays the operator)."""
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/{name}/status"
    k.call("PATCH", path, {"status": {"reconciliation": {"reportHash": REPORT}}}, content_type=MERGE)


def _approve_patch(user: Path, namespace: str, name: str, approver: str | None) -> Any:
    patch: dict[str, Any] = {"spec": {"promotion": {"approvedReportHash": REPORT}}}
    if approver is not None:
        patch["metadata"] = {"annotations": {APPROVED_BY: approver}}
    return _as(user, "patch", PLURAL, name, "-n", namespace, "--type=merge", "-p", json.dumps(patch))


def _annotations(k: Kube, namespace: str, name: str) -> dict[str, str]:
    found = k.call("GET", f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/{name}")
    return dict(found["metadata"].get("annotations") or {})


def test_the_approver_is_the_authenticated_user(k: Kube, namespace: str, users: dict[str, Path], policy: None) -> None:
    alice, bob = users["alice"], users["bob"]
    assert _create(alice, namespace, "r1").returncode == 0
    _reconciled(k, namespace, "r1")

    unnamed = _approve_patch(bob, namespace, "r1", None)
    assert unnamed.returncode != 0
    assert f'needs the annotation {APPROVED_BY}: "bob" (you) in the same request' in unnamed.stderr
    forged = _approve_patch(bob, namespace, "r1", "alice")  # approving in alice's name
    assert forged.returncode != 0 and f'{APPROVED_BY}: "bob" (you)' in forged.stderr
    # Nor can the annotation alone name someone else (an approval "signed" for later).
    signed = _as(bob, "annotate", PLURAL, "r1", "-n", namespace, f"{APPROVED_BY}=alice")
    assert signed.returncode != 0
    assert f'{APPROVED_BY} can only name the user making the request ("bob")' in signed.stderr

    done = cli("approve", "r1", "-n", namespace, "--kubeconfig", str(bob))
    assert done.returncode == 0, done.stderr
    assert f"approved report {REPORT} as bob" in done.stdout
    assert _annotations(k, namespace, "r1")[APPROVED_BY] == "bob"
    # Without four eyes, the creator may approve too (as herself).
    assert _create(alice, namespace, "r2").returncode == 0
    _reconciled(k, namespace, "r2")
    assert _approve_patch(alice, namespace, "r2", "alice").returncode == 0


@pytest.mark.parametrize("policy", [True], indirect=True)
def test_four_eyes_refuses_a_self_approval(k: Kube, namespace: str, users: dict[str, Path], policy: None) -> None:
    alice, bob = users["alice"], users["bob"]
    unrecorded = _create(alice, namespace, "r1")
    assert unrecorded.returncode != 0 and f'annotation {CREATED_BY}: "alice" (you)' in unrecorded.stderr
    assert _create(alice, namespace, "r1", {CREATED_BY: "bob"}).returncode != 0  # nor as someone else
    assert _create(alice, namespace, "r1", {CREATED_BY: "alice"}).returncode == 0
    _reconciled(k, namespace, "r1")

    own = cli("approve", "r1", "-n", namespace, "--kubeconfig", str(alice))
    assert own.returncode == 6, own.stderr
    assert "alice created this EventReplay and cannot approve its report" in own.stderr
    renamed = _as(bob, "annotate", PLURAL, "r1", "-n", namespace, f"{CREATED_BY}=bob", "--overwrite")
    assert renamed.returncode != 0 and "cannot change" in renamed.stderr
    done = cli("approve", "r1", "-n", namespace, "--kubeconfig", str(bob))
    assert done.returncode == 0, done.stderr
    assert _annotations(k, namespace, "r1") == {CREATED_BY: "alice", APPROVED_BY: "bob"}
