"""A thin JSON-over-REST Kubernetes client: the few calls the operator makes, plain dicts in and out.

The generated client's typed models validate bodies strictly and pick JSON Patch for dicts;
plain dicts and explicit content types keep the operator's manifests exactly as built.
TLS and authentication come from the kubeconfig (or the in-cluster service account).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from .api.v1alpha1 import GROUP, PLURAL, VERSION

JSON = dict[str, Any]
Timeout = float | tuple[float, float]
"""Seconds for the whole request, or (connect, read) seconds."""
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class KubeError(Exception):
    """A non-2xx answer; `status` is the HTTP code (0: the request did not complete)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class JobRejected(KubeError):
    """The API server will not create a Job (or the schema ConfigMap its Jobs mount) for this replay
    as built (quota, RBAC, validation, a foreign object holding its name): a condition and an Event,
    not a crash of the pass."""

    @property
    def retriable(self) -> bool:
        return self.status == 403  # a quota or a grant can change without the replay changing


def api_client(kubeconfig: str | None = None) -> Any:
    """A configured `kubernetes.client.ApiClient`: in-cluster when there is no kubeconfig."""
    from kubernetes import client
    from kubernetes import config as kconfig

    from_file: Any = kconfig.new_client_from_config  # untyped library functions
    in_cluster: Any = kconfig.load_incluster_config
    if kubeconfig:
        return from_file(config_file=kubeconfig)
    try:
        cfg = client.Configuration()
        in_cluster(client_configuration=cfg)
        return client.ApiClient(cfg)
    except kconfig.ConfigException:
        return from_file()


class Kube:
    def __init__(self, api: Any) -> None:
        self._api = api
        self._host: str = api.configuration.host

    def request(
        self, method: str, path: str, body: Any, *, query: dict[str, Any] | None, content_type: str, timeout: Timeout
    ) -> Any:
        """The raw response, whatever its status (`call` reads it, a watch streams it); a request that
        did not complete raises KubeError."""
        from kubernetes.client.exceptions import ApiException

        url = self._host + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        auth = self._api.configuration.auth_settings().get("BearerToken")
        if auth:
            headers["authorization"] = auth["value"]
        try:
            return self._api.rest_client.request(method, url, headers=headers, body=body, _request_timeout=timeout)
        except ApiException as err:
            raise KubeError(int(err.status or 0), str(err.reason)) from err
        except Exception as err:
            raise KubeError(0, repr(err)) from err

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> JSON:
        resp = self.request(method, path, body, query=query, content_type=content_type, timeout=timeout)
        try:
            data = resp.read()
        except Exception as err:
            raise KubeError(0, repr(err)) from err
        text = data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
        if not 200 <= int(resp.status) <= 299:
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            raise KubeError(int(resp.status), str(message))
        return json.loads(text) if text else {}

    # The operator's custom resources (EventReplays, EventReplayWatches), by their plural
    def custom_path(self, plural: str, ns: str, name: str = "") -> str:
        return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{plural}" + (f"/{name}" if name else "")

    def get_custom(self, plural: str, ns: str, name: str) -> JSON | None:
        """The object, or None when there is none of that name."""
        try:
            return self.call("GET", self.custom_path(plural, ns, name))
        except KubeError as err:
            if err.status == 404:
                return None
            raise

    def patch_custom_status(self, plural: str, ns: str, name: str, patch: JSON) -> int:
        """Merge-patch the status; the bytes sent."""
        body = {"status": patch}
        self.call("PATCH", self.custom_path(plural, ns, name) + "/status", body, content_type=MERGE)
        return len(json.dumps(body))

    # EventReplays
    def get_replay(self, ns: str, name: str) -> JSON | None:
        return self.get_custom(PLURAL, ns, name)

    def patch_replay_status(self, ns: str, name: str, patch: JSON) -> int:
        return self.patch_custom_status(PLURAL, ns, name, patch)

    def json_patch_replay_status(self, ns: str, name: str, ops: list[JSON]) -> int:
        """Apply JSON Patch operations to the status (paths under /status); the bytes sent."""
        self.call("PATCH", self.custom_path(PLURAL, ns, name) + "/status", ops, content_type=JSON_PATCH)
        return len(json.dumps(ops))

    # Jobs
    def list_jobs(self, ns: str, selector: str) -> list[JSON]:
        out = self.call("GET", f"/apis/batch/v1/namespaces/{ns}/jobs", query={"labelSelector": selector})
        return list(out.get("items") or [])

    def list_pods(self, ns: str, selector: str) -> list[JSON]:
        out = self.call("GET", f"/api/v1/namespaces/{ns}/pods", query={"labelSelector": selector})
        return list(out.get("items") or [])

    def create_job(self, job: JSON) -> bool:
        """Create; False when it already exists and is ours (names are deterministic, so a 409 is
        usually an earlier pass's Job). A Job of that name owned by anyone else, and a creation the
        API refuses (403 quota or RBAC, 422 invalid), raise JobRejected."""
        ns = job["metadata"]["namespace"]
        return self._create_owned("Job", f"/apis/batch/v1/namespaces/{ns}/jobs", job, self._job_owners)

    def create_config_map(self, body: JSON) -> bool:
        """Create; False when it already exists and is ours (its name holds its content's digest, so
        an earlier pass's is the same). One of that name owned by anyone else, and a creation the
        API refuses, raise JobRejected: the Jobs that would mount it cannot start."""
        ns = body["metadata"]["namespace"]
        return self._create_owned("ConfigMap", f"/api/v1/namespaces/{ns}/configmaps", body, self._config_map_owners)

    def _create_owned(self, kind: str, path: str, body: JSON, owners_of: Callable[[str, str], set[str]]) -> bool:
        """POST `body`; a 409 is ours when the object holding the name shares an owner uid with it."""
        meta = body["metadata"]
        ns, name = meta["namespace"], meta["name"]
        try:
            self.call("POST", path, body)
        except KubeError as err:
            if err.status == 409:
                owners = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
                if owners & owners_of(ns, name):
                    return False
                raise JobRejected(409, f"a {kind} named {name} already exists and is not this replay's") from err
            if err.status in (400, 403, 422):
                raise JobRejected(err.status, f"creating {kind} {name}: {err}") from err
            raise
        return True

    def _config_map_owners(self, ns: str, name: str) -> set[str]:
        found = self.call("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
        return {ref.get("uid") for ref in found["metadata"].get("ownerReferences") or []}

    def _job_owners(self, ns: str, name: str) -> set[str]:
        # A list by name, not a GET: the operator is granted list on Jobs, and needs no more.
        query = {"fieldSelector": f"metadata.name={name}"}
        items = self.call("GET", f"/apis/batch/v1/namespaces/{ns}/jobs", query=query).get("items") or []
        return {ref.get("uid") for item in items for ref in item["metadata"].get("ownerReferences") or []}

    def _patch_job_spec(self, ns: str, name: str, spec: JSON) -> None:
        # A Job already gone (deleted, or expired by its TTL) needs no change: not an error.
        try:
            self.call("PATCH", f"/apis/batch/v1/namespaces/{ns}/jobs/{name}", {"spec": spec}, content_type=MERGE)
        except KubeError as err:
            if err.status != 404:
                raise

    def expire_job(self, ns: str, name: str, ttl: int) -> None:
        """Hand a finished Job to Kubernetes' TTL-after-finished controller, which deletes it and its
        pods `ttl` seconds after it finished (the field is mutable; no delete grant needed)."""
        self._patch_job_spec(ns, name, {"ttlSecondsAfterFinished": ttl})

    def set_job_suspended(self, ns: str, name: str, suspend: bool) -> None:
        self._patch_job_spec(ns, name, {"suspend": suspend})
