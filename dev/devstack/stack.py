"""The ordered list of components and the operations over all of them."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterable, Iterator

from . import config
from .component import Component
from .kafka import Kafka
from .redis import Redis


def components() -> list[Component]:
    """Start order; `down` runs it backwards."""
    from .containerd import Containerd
    from .kube import ApiServer, ControllerManager, Etcd
    from .kubelet import Kubelet
    from .node import NodeHarness
    from .registry import Registry

    return [
        Redis(),
        Kafka(),
        Registry(),
        Etcd(),
        ApiServer(),
        ControllerManager(),
        NodeHarness(),
        Containerd(),
        Kubelet(),
    ]


# `node` names the real node's components (with the stack they need under them).
GROUPS = {"node": ["redis", "kafka", "registry", "etcd", "kube-apiserver", "kube-controller-manager", "node-harness",
                   "containerd", "kubelet"]}  # fmt: skip


def select(names: Iterable[str] | None, *, every_optional: bool = False) -> list[Component]:
    """The named components (or groups), in start order; by default the non-optional ones."""
    every = components()
    if not names:
        return [c for c in every if every_optional or not c.optional]
    wanted = {name for given in names for name in GROUPS.get(given, [given])}
    unknown = wanted - {c.name for c in every}
    if unknown:
        raise SystemExit(f"unknown component(s): {', '.join(sorted(unknown))}")
    return [c for c in every if c.name in wanted]


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """One `up` or `down` at a time across processes (test sessions start the stack concurrently)."""
    path = config.state_dir() / "run" / "stack.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(names: Iterable[str] | None = None, verbose: bool = True) -> dict[str, float]:
    """Bring components up in order; returns seconds spent per component."""
    with _exclusive():
        return _up(names, verbose)


def _up(names: Iterable[str] | None, verbose: bool) -> dict[str, float]:
    spent: dict[str, float] = {}
    for comp in select(names):
        began = time.monotonic()
        started = comp.up()
        spent[comp.name] = time.monotonic() - began
        if verbose:
            verb = "started" if started else "already running"
            print(f"{comp.name:<20} {verb} ({spent[comp.name]:.1f}s)", flush=True)
    return spent


def down(names: Iterable[str] | None = None, verbose: bool = True) -> None:
    with _exclusive():
        _down(names, verbose)


def _down(names: Iterable[str] | None, verbose: bool) -> None:
    for comp in reversed(select(names, every_optional=True)):
        stopped = comp.down()
        if verbose:
            print(f"{comp.name:<20} {'stopped' if stopped else 'not running'}", flush=True)


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for comp in components():
        out.update(comp.env())
    return out
