"""`status`, `watch` and `reconcile`: the EventReplay resource in the cluster, through the kubeconfig."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from eventreplay.operator.api.v1alpha1 import GROUP, PLURAL, VERSION, ObjectMeta
from eventreplay.operator.kube import MERGE, Kube, KubeError, api_client

from . import output, status_view
from .bars import LiveDisplay, RateTracker
from .errors import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, CliError, unreachable

_ERRNO = re.compile(r"(\[Errno -?\d+\][^'\")]*)")


@dataclass(frozen=True)
class Cluster:
    kube: Kube
    host: str
    namespace: str
    """The kubeconfig context's namespace: the default for -n."""


def connect(kubeconfig: str | None, context: str | None) -> Cluster:
    """A client and the context's default namespace, from --kubeconfig / $KUBECONFIG / ~/.kube/config."""
    import logging

    from kubernetes import config as kconfig

    # urllib3 logs every retry of an unreachable server; the one-line error says it all.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    from_file: Any = kconfig.new_client_from_config
    contexts: Any = kconfig.list_kube_config_contexts
    try:
        api = from_file(config_file=kubeconfig, context=context) if kubeconfig or context else api_client(None)
    except (kconfig.ConfigException, OSError, ValueError, TypeError) as err:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise CliError(f"cannot load the kubeconfig ({where}): {err}", EXIT_UNREACHABLE) from err
    namespace = "default"
    try:
        _all, active = contexts(config_file=kubeconfig)
        chosen = next((c for c in _all if c.get("name") == context), active) if context else active
        namespace = (chosen.get("context") or {}).get("namespace") or "default"
    except (kconfig.ConfigException, OSError, ValueError, TypeError):
        pass  # in-cluster: no kubeconfig context
    return Cluster(Kube(api), str(api.configuration.host), namespace)


def path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}"


def kube_failure(host: str, err: KubeError) -> CliError:
    if err.status == 0:
        found = _ERRNO.search(str(err))
        return unreachable("the Kubernetes API", host, found.group(1) if found else str(err))
    if err.status in (401, 403):
        return CliError(f"the Kubernetes API at {host} refused the request: {err}", EXIT_UNREACHABLE)
    return CliError(f"Kubernetes API: {err}", EXIT_FAILED)


def fetch(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    try:
        return cluster.kube.call("GET", path(namespace, name), timeout=15)
    except KubeError as err:
        if err.status == 404:
            hint = "" if "not found" in str(err) else " (is the EventReplay CRD installed?)"
            raise CliError(f"EventReplay {namespace}/{name} not found{hint}", EXIT_NOT_FOUND) from err
        raise kube_failure(cluster.host, err) from err


def status(cluster: Cluster, namespace: str, name: str, display: LiveDisplay, fmt: str = "table") -> int:
    obj = fetch(cluster, namespace, name)
    if output.machine(fmt):
        print(output.dump(obj, fmt, sort_keys=True))
    else:
        print(status_view.render(obj, unicode=display.unicode, max_rows=display.max_rows()))
    return EXIT_OK


def watch(cluster: Cluster, namespace: str, name: str, display: LiveDisplay, *, interval: float, timeout: float) -> int:
    """Redraw until Ready (exit 0) or Stalled (exit 1); a pipe gets a new frame when status changes."""
    rates = RateTracker()
    deadline = time.monotonic() + timeout if timeout > 0 else None
    last_version = None
    while True:
        obj = fetch(cluster, namespace, name)
        # Conditions and the report take ~20 lines: the bars get the rest, so a frame fits the screen.
        rows = max(3, display.max_rows() - 20)
        text = status_view.render(obj, rates=rates, unicode=display.unicode, max_rows=rows)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if display.tty:
            display.show(text.splitlines(), "")
        elif version != last_version:
            print(text + "\n", flush=True)
        last_version = version
        result = status_view.outcome(obj)
        if result is not None:
            display.close()
            print(f"{namespace}/{name} is {result}")
            return EXIT_OK if result == "Ready" else EXIT_FAILED
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"{namespace}/{name} is neither Ready nor Stalled after {timeout:.0f}s", EXIT_FAILED)
        time.sleep(interval)


def whoami(cluster: Cluster) -> str | None:
    """The username the API server authenticates this client as (SelfSubjectReview); None if not served."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        found = cluster.kube.call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, timeout=15)
    except KubeError as err:
        if err.status in (403, 404):
            return None  # an API server before 1.28, or a role without it: approve without naming
        raise kube_failure(cluster.host, err) from err
    username = ((found.get("status") or {}).get("userInfo") or {}).get("username")
    return str(username) if username else None


def gitops_managed(meta: ObjectMeta) -> bool:
    """Argo CD or Flux applies this object: a change made here alone is reverted at the next sync."""
    return any("argocd.argoproj.io" in k for k in meta.annotations) or any("fluxcd.io" in k for k in meta.labels)


def refresh(cluster: Cluster, namespace: str, name: str) -> int:
    """spec.reconciliation.refresh += 1 (a conditional merge patch): the operator reconciles again."""
    obj = fetch(cluster, namespace, name)
    meta = ObjectMeta.model_validate(obj.get("metadata") or {})
    current = int(((obj.get("spec") or {}).get("reconciliation") or {}).get("refresh", 0))
    patch = {
        "metadata": {"resourceVersion": meta.resource_version},
        "spec": {"reconciliation": {"refresh": current + 1}},
    }
    try:
        cluster.kube.call("PATCH", path(namespace, name), patch, content_type=MERGE, timeout=15)
    except KubeError as err:
        if err.status == 409:
            raise CliError(f"{namespace}/{name} changed while refreshing; run reconcile again", EXIT_FAILED) from err
        if err.status == 422:
            raise CliError(f"the API server refused the refresh: {err}", EXIT_REFUSED) from err
        raise kube_failure(cluster.host, err) from err
    print(f"{namespace}/{name}: spec.reconciliation.refresh = {current + 1}; a new report follows (approve it again)")
    if gitops_managed(meta):
        print("note: this replay is managed by GitOps: commit the same refresh to Git, or it is reverted")
    return EXIT_OK
