"""kopf handlers of EventReplayWatches: thin adapters to `conduct.sync_watch`, and the Events it
returns posted on the watch. Create, resume, a spec update, the timer and a finished scan Job all
run the same level-based pass; the timer's interval is fixed at start-up (`register_watch_timer`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from ..api.v1alpha1 import GROUP, VERSION, WATCH_KIND, WATCH_PLURAL
from ..clients import Clients
from ..handlers import on_spec_change, run_pass
from ..kube import Kube
from ..ticks import job_finished
from .conduct import sync_watch
from .kube import WatchKube
from .owner import LABEL_WATCH_UID

RESOURCE = (GROUP, VERSION, WATCH_PLURAL)


def _run(memo: Any, body: Any, namespace: str | None, name: str) -> None:
    assert namespace is not None, "EventReplayWatch is namespaced"
    clients: Clients = memo.clients
    kube = clients.kube
    assert isinstance(kube, Kube), "the operator's own client"
    run_pass(body, lambda: sync_watch(clients, WatchKube(kube), namespace, name))


@on_spec_change(*RESOURCE)
def watch_changed(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    _run(memo, body, namespace, name)


def watch_tick(memo: Any, body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    """The timer: starts a due scan, follows a running one (one GET when there is nothing to do)."""
    _run(memo, body, namespace, name)


def owner_of(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """The watch owning a scan Job, as a minimal object (enough for the pass and kopf.event)."""
    meta = job.get("metadata") or {}
    uid = (meta.get("labels") or {}).get(LABEL_WATCH_UID)
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == WATCH_KIND and ref.get("uid") == uid:
            return {
                "apiVersion": ref.get("apiVersion"),
                "kind": WATCH_KIND,
                "metadata": {"namespace": meta.get("namespace"), "name": ref.get("name"), "uid": uid},
            }
    return None


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_WATCH_UID: kopf.PRESENT})
def scan_job_changed(memo: Any, body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
    """A scan Job finished: record its result now rather than at the next tick."""
    if event.get("type") != "MODIFIED" or not job_finished(body):
        return
    owner = owner_of(body)
    if owner is not None:
        _run(memo, owner, owner["metadata"]["namespace"], owner["metadata"]["name"])


def register_watch_timer(interval: float, registry: kopf.OperatorRegistry | None = None) -> None:
    """Each watch's pass at most every `interval` seconds (a scan's schedule is at least a minute)."""
    kopf.timer(*RESOURCE, interval=interval, initial_delay=interval, registry=registry)(watch_tick)
