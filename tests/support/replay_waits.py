"""Waiting for an EventReplay to reach a state, shared by the operator tests and the chart
end-to-end scenario (real node, kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventreplay.operator.kube import Kube, KubeError
from support import kube_probes

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll `check`; an API error or a half-written status (KeyError, AssertionError) means "not yet"."""
    return kube_probes.wait_for(check, what, timeout, interval=interval, retry_on=(KubeError, KeyError, AssertionError))


def get_replay(k: Kube, ns: str, name: str) -> dict[str, Any]:
    found = k.get_replay(ns, name)
    assert found is not None, f"{ns}/{name} is gone"
    return found


def condition(replay: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (replay.get("status") or {}).get("conditions") or []:
        if cond["type"] == kind:
            return dict(cond)
    return {}


def wait_for_replay(
    k: Kube,
    ns: str,
    name: str,
    test: Callable[[dict[str, Any]], bool],
    what: str,
    *,
    timeout: float = 240,
    stalled_fails: bool = True,
) -> dict[str, Any]:
    """Poll the replay until `test` holds; a Stalled replay fails the wait at once (unless that is awaited)."""

    def check() -> dict[str, Any] | None:
        got = get_replay(k, ns, name)
        if stalled_fails:
            assert condition(got, "Stalled").get("status") != "True", condition(got, "Stalled")
        return got if test(got) else None

    return wait_for(check, timeout, f"{name}: {what}", interval=1)


def wait_for_condition(k: Kube, ns: str, name: str, kind: str, *, timeout: float = 240) -> dict[str, Any]:
    """The replay once its condition `kind` is True (failing early if it stalls)."""
    return wait_for_replay(k, ns, name, lambda r: condition(r, kind).get("status") == "True", kind, timeout=timeout)
