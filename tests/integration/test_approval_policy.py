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

from devstack import kube, pki
from eventreplay.operator.kube import Kube
from support.chart_render import ChartDriver
from support.cli_run import cli, spec_for
from support.operator_driver import replay_manifest

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
def policy_namespace(chart: ChartDriver, k: Kube, unique: str) -> Iterator[Installer]:
    """Returns install(four_eyes) -> a fresh namespace that only the new release's policy judges (`k`: the CRD)."""
    made: list[tuple[str, str]] = []

    def install(four_eyes: bool) -> str:
        ns = f"approvals-{len(made)}-{unique}"
        release = f"ap{len(made)}{unique}"
        made.append((ns, release))
        ok(kubectl("create", "namespace", ns))
        docs = chart.render(
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
    # Anyone who may edit the replay may withdraw the approval (hash and name together).
    withdraw = {"metadata": {"annotations": {APPROVED_BY: None}}, "spec": {"promotion": {"approvedReportHash": None}}}
    ok(kubectl("patch", "eventreplay", "orders", "-n", ns, "--type=merge", "-p", json.dumps(withdraw), user="alice"))


def test_without_four_eyes_the_creator_may_approve(policy_namespace: Installer) -> None:
    ns = policy_namespace(False)
    ok(create(ns, "orders", "alice", {CREATED_BY: "alice"}))
    ok(approve(ns, "orders", "alice", "alice"))
    got = json.loads(ok(kubectl("get", "eventreplay", "orders", "-n", ns, "-o", "json")).stdout)
    assert got["metadata"]["annotations"][APPROVED_BY] == "alice"
    assert got["spec"]["promotion"]["approvedReportHash"] == HASH


def test_the_policy_is_rendered_by_default_scoped_to_watched_namespaces_and_can_be_left_out(chart: ChartDriver) -> None:
    cluster = chart.render()
    policy = chart.only(cluster, "ValidatingAdmissionPolicy")
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert {"name": "fourEyes", "expression": "false"} in policy["spec"]["variables"]
    binding = chart.only(cluster, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"] and "matchResources" not in binding["spec"]

    scoped = chart.render("--set", "watchNamespaces={team-a,team-b}", "--set", "approvals.fourEyes=true")
    assert {"name": "fourEyes", "expression": "true"} in chart.only(scoped, "ValidatingAdmissionPolicy")["spec"][
        "variables"
    ]
    (selector,) = chart.only(scoped, "ValidatingAdmissionPolicyBinding")["spec"]["matchResources"]["namespaceSelector"][
        "matchExpressions"
    ]
    assert selector == {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}

    off = chart.kinds(chart.render("--set", "approvals.policy.enabled=false"))
    assert not set(off) & set(POLICY_KINDS)


def user_kubeconfig(tmp_path: Path, user: str) -> Path:
    """A kubeconfig that authenticates as `user`: a client certificate signed by the stack's CA."""
    key, csr, crt = (tmp_path / f"{user}.{ext}" for ext in ("key", "csr", "crt"))
    ext = tmp_path / f"{user}.ext"
    ext.write_text(pki.CLIENT_EXT)
    openssl = ["openssl"]
    req = [
        *openssl,
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={user}",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    ]
    ok(subprocess.run(req, capture_output=True, text=True))
    sign = [
        *openssl, "x509", "-req", "-in", str(csr), "-CA", str(pki.path("ca.crt")), "-CAkey", str(pki.path("ca.key")),
        "-set_serial", str(int(time.time() * 1000)), "-days", "1", "-extfile", str(ext), "-out", str(crt),
    ]  # fmt: skip
    ok(subprocess.run(sign, capture_output=True, text=True))
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": pki.server_url(), "certificate-authority": str(pki.path("ca.crt"))}}
        ],
        "users": [{"name": user, "user": {"client-certificate": str(crt), "client-key": str(key)}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    path = tmp_path / f"{user}.kubeconfig"
    path.write_text(json.dumps(doc))
    return path


def test_eventreplay_approve_names_its_own_user_and_four_eyes_refuses_the_creator(
    policy_namespace: Installer, k: Kube, tmp_path: Path
) -> None:
    ns = policy_namespace(True)
    ok(create(ns, "orders", "alice", {CREATED_BY: "alice"}))
    k.patch_replay_status(ns, "orders", {"reconciliation": {"reportHash": HASH}})
    as_alice = {"KUBECONFIG": str(user_kubeconfig(tmp_path, "alice"))}
    as_bob = {"KUBECONFIG": str(user_kubeconfig(tmp_path, "bob"))}

    own = cli("approve", "orders", "-n", ns, env=as_alice)
    assert own.returncode == 6, own.stderr
    assert "four-eyes approval: alice created this EventReplay and cannot approve it" in own.stderr

    approved = cli("approve", "orders", "-n", ns, env=as_bob)
    assert approved.returncode == 0, approved.stderr
    assert f"approved report {HASH} (spec.promotion.approvedReportHash) as bob ({APPROVED_BY})" in approved.stdout
    got = k.get_replay(ns, "orders") or {}
    assert got["metadata"]["annotations"][APPROVED_BY] == "bob"
    assert got["spec"]["promotion"]["approvedReportHash"] == HASH
    again = cli("approve", "orders", "-n", ns, env=as_alice)
    assert again.returncode == 0 and f"report {HASH} is already approved by bob" in again.stdout
