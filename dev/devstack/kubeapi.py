"""The node harness's API client: the operator's thin JSON-over-REST client, plus a kubelet's pod calls.

The generated client's models get in the way of a kubelet stand-in (a Binding response fails to
deserialise, patch bodies default to JSON Patch), so this sends plain dicts to API paths and
returns plain dicts. Authentication and TLS come from a kubeconfig via the `kubernetes` loader.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from eventreplay.operator.kube import JSON, KubeError, api_client
from eventreplay.operator.kube import Kube as RestClient

__all__ = ["JSON", "Kube", "KubeError", "now", "pod_path"]

SMP = "application/strategic-merge-patch+json"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_path(ns: str, name: str, sub: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/pods/{name}{'/' + sub if sub else ''}"


class Kube:
    """The operator's client (`operator/kube.py`) on the stack's kubeconfig, with the calls of a kubelet."""

    def __init__(self, kubeconfig: str) -> None:
        self._rest = RestClient(api_client(kubeconfig))
        self.call = self._rest.call

    def patch_status(self, ns: str, name: str, status: JSON) -> JSON:
        """Strategic-merge-patch a pod's status subresource."""
        return self.call("PATCH", pod_path(ns, name, "status"), {"status": status}, content_type=SMP)

    def list_pods(self, field_selector: str) -> tuple[list[JSON], str]:
        out = self.call("GET", "/api/v1/pods", query={"fieldSelector": field_selector}, timeout=60)
        return list(out.get("items") or []), str(out["metadata"]["resourceVersion"])

    def watch_pods(self, field_selector: str, resource_version: str) -> Iterator[JSON]:
        """Yield watch events until the server ends the watch; an ERROR event raises KubeError."""
        query = {
            "watch": "true",
            "fieldSelector": field_selector,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": 240,
        }
        resp = self._rest.request(
            "GET", "/api/v1/pods", None, query=query, content_type="application/json", timeout=(10, 300)
        )
        if not 200 <= int(resp.status) <= 299:
            raise KubeError(int(resp.status), resp.read().decode(errors="replace"))
        raw = resp.response
        try:
            buffer = b""
            for chunk in raw.stream(amt=None, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event: JSON = json.loads(line)
                    if event.get("type") == "ERROR":
                        obj = event.get("object") or {}
                        raise KubeError(int(obj.get("code") or 0), str(obj.get("message")))
                    yield event
        finally:
            raw.release_conn()
