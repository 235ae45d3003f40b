"""Approvals with identity: the chart's ValidatingAdmissionPolicy on the real API server, two users.

The chart is rendered with helm and only its policy and binding are applied, bound to one fresh
namespace (watchNamespaces) so the policy judges nothing else. alice and bob are impersonated by
the admin client (`kubectl --as`): the API server authenticates them as exactly those usernames,
which is what the policy compares the annotations with.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chart_helpers import kinds, only, render
from cli_helpers import spec_for
from operator_helpers import replay_manifest

from devstack import kube
from eventreplay.operator.kube import Kube

pytestmark = pytest.mark.stack

APPROVED_BY = "eventreplay.io/approved-by"
CREATED_BY = "eventreplay.io/created-by"
HASH = "aaaabbbbccccdddd"
POLICY_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def kubectl(*args: str, stdin: str | None = None, user: str | None = None) -> subprocess.CompletedProcess[str]:
    return kube.kubectl(*([f"--as={user}"] if user else []), *args, stdin=stdin)


def ok(out: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert out.returncode == 0, out.stderr
    return out


def refused(out: subprocess.CompletedProcess[str], message: str) -> None:
    assert out.returncode != 0, out.stdout
    assert "denied request" in out.stderr and message in out.stderr, out.stderr


def manifest(ns: str, name: str, annotations: dict[str, str]) -> dict[str, Any]:
    doc = replay_manifest(ns, name, spec_for("orders", {"offsets": {"from": 0, "to": 10}}))
    doc["metadata"]["annotations"] = annotations
    return doc


def create(ns: str, name: str, user: str, annotations: dict[str, str], dry: bool = False) -> Any:
    extra = ["--dry-run=server"] if dry else []
    return kubectl("create", *extra, "-f", "-", stdin=json.dumps(manifest(ns, name, annotations)), user=user)


def approve(ns: str, name: str, user: str, approver: str) -> subprocess.CompletedProcess[str]:
    """What `eventreplay approve` writes: the hash and the approver's name in one merge patch."""
    patch = {"metadata": {"annotations": {APPROVED_BY: approver}}, "spec": {"promotion": {"approvedReportHash": HASH}}}
    return kubectl("patch", "eventreplay", name, "-n", ns, "--type=merge", "-p", json.dumps(patch), user=user)


Installer = Callable[[bool], str]


@pytest.fixture
def policy_namespace(helm: Path, k: Kube, unique: str) -> Iterator[Installer]:
    """Returns install(four_eyes) -> a fresh namespace that only the new release's policy judges (`k`: the CRD)."""
    made: list[tuple[str, str]] = []

    def install(four_eyes: bool) -> str:
        ns = f"approvals-{len(made)}-{unique}"
        release = f"ap{len(made)}{unique}"
        made.append((ns, release))
        ok(kubectl("create", "namespace", ns))
        docs = render(
            helm,
            "--set", f"watchNamespaces={{{ns}}}",
            "--set", f"approvals.fourEyes={str(four_eyes).lower()}",
            release=release, namespace=ns,
        )  # fmt: skip
        policy = [d for d in docs if d["kind"] in POLICY_KINDS]
        assert sorted(d["kind"] for d in policy) == list(POLICY_KINDS)
        ok(kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": policy})))
        grant(ns)
        wait_until_enforced(ns)
        return ns

    yield install
    for ns, release in made:
        selector = f"app.kubernetes.io/instance={release}"
        kubectl("delete", ",".join(k.lower() for k in POLICY_KINDS), "-l", selector, "--ignore-not-found")
        kubectl("delete", "namespace", ns, "--wait=false")


def grant(ns: str) -> None:
    """alice and bob may create and edit EventReplays in the namespace (and nothing else)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "replay-editors", "namespace": ns},
        "rules": [
            {
                "apiGroups": ["eventreplay.io"],
                "resources": ["eventreplays"],
                "verbs": ["get", "list", "create", "patch", "update"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "replay-editors", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "replay-editors"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u} for u in ("alice", "bob")],
    }
    ok(kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [role, binding]})))


def wait_until_enforced(ns: str) -> None:
    """The API server compiles a new policy asynchronously: probe with a server-side dry run."""
    forged = {CREATED_BY: "mallory"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = create(ns, "probe", "alice", forged, dry=True)
        if out.returncode != 0 and "denied request" in out.stderr:
            return
        time.sleep(0.5)
    pytest.fail(f"the approval policy was not enforced in {ns} within 30 s: {out.stderr or out.stdout}")


def test_four_eyes_other_user_approves_and_is_recorded(policy_namespace: Installer) -> None:
    ns = policy_namespace(True)
    ok(create(ns, "orders", "alice", {CREATED_BY: "alice"}))
    ok(approve(ns, "orders", "bob", "bob"))
    got = json.loads(ok(kubectl("get", "eventreplay", "orders", "-n", ns, "-o", "json")).stdout)
    assert got["spec"]["promotion"]["approvedReportHash"] == HASH
    assert got["metadata"]["annotations"] == {CREATED_BY: "alice", APPROVED_BY: "bob"}


def test_four_eyes_refuses_self_approval_and_a_forged_or_missing_creator(policy_namespace: Installer) -> None:
    ns = policy_namespace(True)
    refused(create(ns, "anon", "alice", {}), f"{CREATED_BY} must be your own username (alice) at create")
    refused(create(ns, "forged", "alice", {CREATED_BY: "bob"}), "(four-eyes approvals are on)")
    ok(create(ns, "orders", "alice", {CREATED_BY: "alice"}))
    refused(approve(ns, "orders", "alice", "alice"), "four-eyes approval: alice created this EventReplay")
    # The creator cannot be rewritten afterwards to make a self-approval pass.
    rewrite = {"metadata": {"annotations": {CREATED_BY: "carol"}}}
    out = kubectl("patch", "eventreplay", "orders", "-n", ns, "--type=merge", "-p", json.dumps(rewrite), user="alice")
    refused(out, f"{CREATED_BY} is immutable")
    promotion = json.loads(ok(kubectl("get", "eventreplay", "orders", "-n", ns, "-o", "json")).stdout)["spec"]
    assert "approvedReportHash" not in promotion.get("promotion", {})


def test_an_approval_must_name_the_approving_user(policy_namespace: Installer) -> None:
    ns = policy_namespace(False)
    ok(create(ns, "orders", "alice", {}))
    refused(
        approve(ns, "orders", "alice", "bob"),
        f"requires the annotation {APPROVED_BY}: alice (your own username) in the same write; it names bob",
    )
    bare = {"spec": {"promotion": {"approvedReportHash": HASH}}}
    out = kubectl("patch", "eventreplay", "orders", "-n", ns, "--type=merge", "-p", json.dumps(bare), user="bob")
    refused(out, f"requires the annotation {APPROVED_BY}: bob")
    # The annotation alone cannot be moved to another name either.
    ok(approve(ns, "orders", "bob", "bob"))
    relabel = {"metadata": {"annotations": {APPROVED_BY: "carol"}}}
    out = kubectl("patch", "eventreplay", "orders", "-n", ns, "--type=merge", "-p", json.dumps(relabel), user="bob")
    refused(out, f"{APPROVED_BY} may only name the user writing it (bob)")


def test_without_four_eyes_the_creator_may_approve(policy_namespace: Installer) -> None:
    ns = policy_namespace(False)
    ok(create(ns, "orders", "alice", {CREATED_BY: "alice"}))
    ok(approve(ns, "orders", "alice", "alice"))
    got = json.loads(ok(kubectl("get", "eventreplay", "orders", "-n", ns, "-o", "json")).stdout)
    assert got["metadata"]["annotations"][APPROVED_BY] == "alice"
    assert got["spec"]["promotion"]["approvedReportHash"] == HASH


def test_the_policy_is_rendered_by_default_scoped_to_watched_namespaces_and_can_be_left_out(helm: Path) -> None:
    cluster = render(helm)
    policy = only(cluster, "ValidatingAdmissionPolicy")
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert {"name": "fourEyes", "expression": "false"} in policy["spec"]["variables"]
    binding = only(cluster, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"] and "matchResources" not in binding["spec"]

    scoped = render(helm, "--set", "watchNamespaces={team-a,team-b}", "--set", "approvals.fourEyes=true")
    assert {"name": "fourEyes", "expression": "true"} in only(scoped, "ValidatingAdmissionPolicy")["spec"]["variables"]
    (selector,) = only(scoped, "ValidatingAdmissionPolicyBinding")["spec"]["matchResources"]["namespaceSelector"][
        "matchExpressions"
    ]
    assert selector == {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}

    off = kinds(render(helm, "--set", "approvals.policy.enabled=false"))
    assert not set(off) & set(POLICY_KINDS)
