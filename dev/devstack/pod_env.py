"""A container's environment and argv as the kubelet builds them, for the node harness.

Order and rules follow the kubelet: `envFrom` first (with `prefix`), then `env[]` in order,
where a plain `value` may reference earlier variables as `$(NAME)` and `$$` escapes a dollar;
`valueFrom` values are not expanded. Command and args are expanded against the final
environment; unknown references stay as written. The "image" is this repository: PATH starts
with the virtualenv's bin folder, so `python` and `eventreplay-worker` resolve to it.
"""

from __future__ import annotations

import base64
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import config
from .kubeapi import JSON, Kube, KubeError

HOST_IP = config.HOST
_INDEXED = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class EnvError(Exception):
    """A referenced Secret/ConfigMap or key is missing: the kubelet's CreateContainerConfigError."""


class UnsupportedPod(Exception):
    """The pod needs something a process cannot give (several containers, no command, ...)."""


def venv_bin() -> Path:
    return Path(sys.executable).parent


def base_env(pod: JSON) -> dict[str, str]:
    """What the image would provide; deliberately not the harness's own environment."""
    return {
        "PATH": f"{venv_bin()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "HOSTNAME": str(pod["spec"].get("hostname") or pod["metadata"]["name"]),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "VIRTUAL_ENV": str(venv_bin().parent),
    }


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion (third_party/forked/golang/expansion)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append(text[i:])
                break
            name = text[i + 2 : close]
            out.append(env.get(name, f"$({name})"))
            i = close + 1
        else:
            out.append(char + nxt)
            i += 2
    return "".join(out)


def field_value(pod: JSON, field_path: str) -> str:
    meta = pod["metadata"]
    indexed = _INDEXED.match(field_path)
    if indexed:
        return str((meta.get(indexed.group(1)) or {}).get(indexed.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": pod["spec"].get("nodeName"),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName"),
        "status.podIP": HOST_IP,
        "status.hostIP": HOST_IP,
        "status.podIPs": HOST_IP,
        "status.hostIPs": HOST_IP,
    }
    if field_path not in simple:
        raise UnsupportedPod(f"fieldRef {field_path!r} is not supported by the node harness")
    return str(simple[field_path] or "")


class _Sources:
    """Secrets and ConfigMaps of the pod's namespace, fetched at most once per container start."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def data(self, kind: str, name: str) -> dict[str, str] | None:
        key = (kind, name)
        if key not in self.cache:
            try:
                obj = self.kube.call("GET", f"/api/v1/namespaces/{self.namespace}/{kind}/{name}")
            except KubeError as err:
                if err.status != 404:
                    raise
                self.cache[key] = None
            else:
                raw: dict[str, str] = obj.get("data") or {}
                if kind == "secrets":
                    raw = {k: base64.b64decode(v).decode(errors="replace") for k, v in raw.items()}
                self.cache[key] = raw
        return self.cache[key]

    def key(self, kind: str, ref: JSON) -> str | None:
        """The value of ref.key in the object ref.name, None when optional and missing."""
        name, key = str(ref.get("name", "")), str(ref["key"])
        data = self.data(kind, name)
        if data is not None and key in data:
            return data[key]
        if ref.get("optional"):
            return None
        what = "secret" if kind == "secrets" else "configmap"
        missing = f'{what} "{name}" not found' if data is None else f"couldn't find key {key} in {what}"
        raise EnvError(f"{missing} ({self.namespace}/{name})")


def container_env(kube: Kube, pod: JSON, container: JSON) -> dict[str, str]:
    """The full process environment: image defaults, then envFrom, then env[]."""
    sources = _Sources(kube, pod["metadata"]["namespace"])
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        kind, ref = ("secrets", src["secretRef"]) if "secretRef" in src else ("configmaps", src["configMapRef"])
        data = sources.data(kind, str(ref.get("name", "")))
        if data is None:
            if ref.get("optional"):
                continue
            raise EnvError(f'{kind[:-1]} "{ref.get("name")}" not found')
        env.update({f"{src.get('prefix', '')}{k}": v for k, v in data.items()})
    for var in container.get("env") or []:
        value_from = var.get("valueFrom")
        value: str | None
        if value_from is None:
            value = expand(str(var.get("value", "")), env)
        elif "fieldRef" in value_from:
            value = field_value(pod, str(value_from["fieldRef"]["fieldPath"]))
        elif "secretKeyRef" in value_from:
            value = sources.key("secrets", value_from["secretKeyRef"])
        elif "configMapKeyRef" in value_from:
            value = sources.key("configmaps", value_from["configMapKeyRef"])
        else:
            raise UnsupportedPod(f"env {var['name']}: {sorted(value_from)} is not supported")
        if value is not None:
            env[str(var["name"])] = value
    return {**base_env(pod), **env}


def container_argv(container: JSON, env: Mapping[str, str]) -> list[str]:
    command = [str(part) for part in container.get("command") or []]
    if not command:
        raise UnsupportedPod(
            f"container {container.get('name')!r} has no command: the node harness has no image "
            "entrypoints, so pods must set `command`"
        )
    args = [str(part) for part in container.get("args") or []]
    return [expand(part, env) for part in command + args]


def check_supported(spec: JSON) -> JSON:
    """The one container to run; raises UnsupportedPod with a clear reason otherwise."""
    containers = spec.get("containers") or []
    if len(containers) != 1:
        raise UnsupportedPod(f"the node harness runs single-container pods; this one has {len(containers)}")
    if spec.get("initContainers"):
        raise UnsupportedPod("the node harness does not run initContainers")
    return dict(containers[0])
