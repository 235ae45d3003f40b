"""A thin JSON-over-REST client for the node harness, on top of the `kubernetes` package.

The generated client's models get in the way of a kubelet stand-in (a Binding response fails to
deserialise, patch bodies default to JSON Patch), so this sends plain dicts to API paths and
returns plain dicts. Authentication and TLS come from a kubeconfig via the `kubernetes` loader.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

JSON = dict[str, Any]
SMP = "application/strategic-merge-patch+json"


class KubeError(Exception):
    """A non-2xx API answer; `status` is the HTTP code (0 when the request did not complete)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_path(ns: str, name: str, sub: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/pods/{name}{'/' + sub if sub else ''}"


class Kube:
    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import config as kconfig

        load: Any = kconfig.new_client_from_config
        self._api: Any = load(config_file=kubeconfig)
        self._host: str = self._api.configuration.host

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any,
        query: dict[str, Any] | None,
        content_type: str,
        timeout: Any,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException

        url = self._host + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json", "Content-Type": content_type}
        auth = self._api.configuration.auth_settings().get("BearerToken")
        if auth:
            headers["authorization"] = auth["value"]
        try:
            return self._api.rest_client.request(method, url, headers=headers, body=body, _request_timeout=timeout)
        except ApiException as err:  # raised for transport errors (status 0)
            raise KubeError(int(err.status or 0), str(err.reason)) from err
        except OSError as err:
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
        resp = self._request(method, path, body=body, query=query, content_type=content_type, timeout=timeout)
        try:
            data = resp.read()
        except Exception as err:  # urllib3 raises many types mid-read
            raise KubeError(0, repr(err)) from err
        text = data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
        if not 200 <= int(resp.status) <= 299:
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            raise KubeError(int(resp.status), str(message))
        return json.loads(text) if text else {}

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
        resp = self._request(
            "GET", "/api/v1/pods", body=None, query=query, content_type="application/json", timeout=(10, 300)
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
