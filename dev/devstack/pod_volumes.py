"""A container's ConfigMap volumes for the node harness: written to files, then bind-mounted
read-only at their mountPath inside a private mount namespace of the container's process alone.

What the kubelet's configMap volume plugin does, for what the worker Jobs use: `items` (or every
key), `defaultMode`, `readOnly`. A missing ConfigMap or key is an EnvError (the kubelet keeps
the pod Pending, ContainerCreating, until it appears). Other volume kinds (emptyDir) stay as
before: the process sees the host's directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import config
from .kubeapi import JSON, Kube, KubeError
from .pod_env import EnvError

Bind = tuple[Path, str]
"""(the host directory holding the volume's files, the container's mountPath)."""


def _data(kube: Kube, ns: str, name: str) -> dict[str, str]:
    try:
        obj = kube.call("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
    except KubeError as err:
        if err.status == 404:
            raise EnvError(f'configmap "{name}" not found ({ns}/{name})') from err
        raise
    return dict(obj.get("data") or {})


def _write(kube: Kube, ns: str, source: JSON, into: Path) -> None:
    data = _data(kube, ns, str(source["name"]))
    items = source.get("items") or [{"key": key, "path": key} for key in data]
    mode = int(source.get("defaultMode", 0o644))
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for item in items:
        if item["key"] not in data:
            raise EnvError(f"couldn't find key {item['key']} in configmap {ns}/{source['name']}")
        path = into / str(item["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[item["key"]])
        path.chmod(int(item.get("mode", mode)))


def materialize(kube: Kube, pod: JSON, container: JSON) -> list[Bind]:
    """Write each mounted configMap volume under the pod's state folder; what to bind where."""
    meta = pod["metadata"]
    ns = str(meta["namespace"])
    volumes = {str(v["name"]): v for v in pod["spec"].get("volumes") or []}
    root = config.state_dir() / "pods" / f"{ns}_{meta['name']}" / "volumes"
    binds: list[Bind] = []
    for m in container.get("volumeMounts") or []:
        source = volumes.get(str(m["name"]), {}).get("configMap")
        if source is None:
            continue
        into = root / str(m["name"])
        _write(kube, ns, source, into)
        binds.append((into, str(m["mountPath"])))
    return binds


def wrap(binds: list[Bind], argv: list[str]) -> list[str]:
    """argv run in its own mount namespace with each bind in place (read-only); argv as is without
    binds. The shell execs the command, so the pid stays the container's."""
    if not binds:
        return argv
    # Paths travel as arguments (never inside the script): each step takes two and shifts them off.
    step = 'mkdir -p "$2" && mount --bind -o ro "$1" "$2" && shift 2'
    script = " && ".join([step] * len(binds)) + ' && exec "$@"'
    paths = [part for src, dst in binds for part in (str(src), dst)]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *paths, *argv]
