"""`eventreplay approve`: the approval patch (report hash + approver annotation), applied or printed for Git."""

from __future__ import annotations

from typing import Any

from eventreplay.operator.api.v1alpha1 import APPROVED_BY, GROUP, KIND, VERSION, ObjectMeta
from eventreplay.operator.kube import MERGE, KubeError

from . import output
from .cluster import Cluster, fetch, gitops_managed, kube_failure, path, whoami
from .errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, CliError


def approvable_report(obj: dict[str, Any], expected: str | None) -> str:
    """The report hash an approval names now; refused (CliError) when there is nothing to approve."""
    meta = obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    policy = ((obj.get("spec") or {}).get("promotion") or {}).get("policy", "Manual")
    if policy != "Manual":
        raise CliError(f"{where} has promotion policy {policy}: approval only applies to Manual", EXIT_REFUSED)
    report = ((obj.get("status") or {}).get("reconciliation") or {}).get("reportHash")
    if not report:
        raise CliError(
            f"{where} has no reconciliation report yet (status.reconciliation.reportHash is empty); "
            "wait until it is Reconciled",
            EXIT_REFUSED,
        )
    if expected and expected != report:
        raise CliError(f"the current report of {where} is {report}, not {expected}: review it again", EXIT_REFUSED)
    return str(report)


def approval_patch(report: str, approver: str | None) -> dict[str, Any]:
    """The merge patch that approves `report`: the hash, and the approver in the annotation the chart's
    approval policy compares with the user writing it."""
    metadata: dict[str, Any] = {"annotations": {APPROVED_BY: approver}} if approver else {}
    return {"metadata": metadata, "spec": {"promotion": {"approvedReportHash": report}}}


def gitops_patch(obj: dict[str, Any], report: str, approver: str | None) -> dict[str, Any]:
    """The approval patch as a file to commit: it names its object (a Kustomize patch, or
    `kubectl patch --type merge --patch-file`), and carries no resourceVersion (Git has none)."""
    meta = obj.get("metadata") or {}
    patch = approval_patch(report, approver)
    named = {"name": meta.get("name"), "namespace": meta.get("namespace"), **patch["metadata"]}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": named, "spec": patch["spec"]}


def approve(cluster: Cluster, namespace: str, name: str, expected: str | None, *, fmt: str = "table") -> int:
    """spec.promotion.approvedReportHash := status.reconciliation.reportHash, and the approver's own
    username in the eventreplay.io/approved-by annotation, in one conditional merge patch (the chart's
    policy refuses a hash without the name of the user writing it)."""
    obj = fetch(cluster, namespace, name)
    meta = ObjectMeta.model_validate(obj.get("metadata") or {})
    report = approvable_report(obj, expected)
    if ((obj.get("spec") or {}).get("promotion") or {}).get("approvedReportHash") == report:
        by = meta.annotations.get(APPROVED_BY)
        print(f"{namespace}/{name}: report {report} is already approved" + (f" by {by}" if by else ""))
        return EXIT_OK
    user = whoami(cluster)
    patch = approval_patch(report, user)
    # resourceVersion makes the patch conditional: approve exactly the report that was read.
    patch["metadata"]["resourceVersion"] = meta.resource_version
    try:
        cluster.kube.call("PATCH", path(namespace, name), patch, content_type=MERGE, timeout=15)
    except KubeError as err:
        if err.status == 409:
            raise CliError(f"{namespace}/{name} changed while approving; run approve again", EXIT_FAILED) from err
        # 403 with "denied request": the approval policy (e.g. four-eyes); 422: the CRD's rules.
        if err.status == 422 or (err.status == 403 and "denied request" in str(err)):
            raise CliError(f"the API server refused the approval: {err}", EXIT_REFUSED) from err
        raise kube_failure(cluster.host, err) from err
    if output.machine(fmt):
        print(output.dump(patch, fmt))
        return EXIT_OK
    print(
        f"{namespace}/{name}: approved report {report} (spec.promotion.approvedReportHash)"
        + (f" as {user} ({APPROVED_BY})" if user else "")
    )
    if gitops_managed(meta):
        print(
            "note: this replay is managed by GitOps: commit the same approvedReportHash to Git, or it is reverted "
            f"(`eventreplay approve {name} --dry-run -o yaml` prints the patch; with the approval policy, the "
            f"GitOps tool's own username goes in {APPROVED_BY}: --approver)"
        )
    return EXIT_OK


def dry_run(
    cluster: Cluster, namespace: str, name: str, expected: str | None, *, approver: str | None, fmt: str
) -> int:
    """Print the approval patch without applying it: what a GitOps user commits (nothing is written)."""
    obj = fetch(cluster, namespace, name)
    report = approvable_report(obj, expected)
    # In Git the GitOps tool writes the object: with the approval policy it is that tool's username
    # the annotation must name (--approver); without, the person who reviewed it.
    patch = gitops_patch(obj, report, approver or whoami(cluster))
    if output.machine(fmt):
        print(output.dump(patch, fmt))
    else:
        print(f"{namespace}/{name}: would approve report {report}; the patch (nothing applied):")
        print(output.dump(patch, "yaml"))
    return EXIT_OK
