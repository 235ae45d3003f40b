"""One pass over one EventReplayWatch (`sync_watch`): read it, admit it (its spec, the worker image
and the replay policy, judged on the EventReplay spec a scan would draft), then follow the running
scan or start a due one, draft the recorded gaps, and write status. Safe to re-run at any time.

The Events a pass is worth come back to the handler, which posts them on the watch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError

from ..api.v1alpha1 import EventReplayWatch, EventReplayWatchStatus, ObjectMeta
from ..clients import Clients
from ..conditions import Want
from ..events import Event
from ..job_names import Owner
from ..phases.plan import decide_admission
from . import decide, metrics, scans
from .context import WatchPass
from .drafts import ensure_drafts, expire_old_scans
from .kube import WatchKubePort
from .replay_spec import scan_spec, scan_window
from .status_write import as_wire, patch_of, with_conditions, write

INVALID = "InvalidSpec"


def lock_key(namespace: str, name: str) -> str:
    return f"watch:{namespace}/{name}"


def sync_watch(
    clients: Clients, kube: WatchKubePort, namespace: str, name: str, *, now: datetime | None = None
) -> list[Event]:
    """Bring one watch's scans, drafts and status in line with its spec; nothing for a gone one."""
    with clients.lock(lock_key(namespace, name)):
        obj = kube.get_watch(namespace, name)
        meta = ObjectMeta.model_validate(obj["metadata"]) if obj is not None else None
        if obj is None or meta is None or meta.deletion_timestamp or meta.uid is None:
            metrics.forget(namespace, name)
            clients.forget(lock_key(namespace, name), None)
            return []
        old = _lenient(obj.get("status"))
        owner = Owner(namespace, name, meta.uid)
        try:
            spec = EventReplayWatch.desired(obj).spec
        except ValidationError as err:
            return _refused(kube, owner, old, meta.generation, message=_first(err))
        p = WatchPass(clients, kube, owner, spec, old, meta.generation, now or datetime.now(UTC))
        conduct(p)
        return p.events


def conduct(p: WatchPass) -> None:
    """Admit; follow or start a scan; drafts; expiry; the status write and the metrics."""
    active = p.old.active_scan
    window = (active.from_, active.to) if active is not None else scan_window(p.spec, p.now)
    try:
        spec = scan_spec(p.spec, window)
    except ValidationError as err:
        _finish(p, p.old, decide.refused_conditions(INVALID, _first(err)))
        return
    refused = decide_admission("", spec, "", p.c.config, p.ns)
    if refused is not None:
        _finish(p, p.old, decide.refused_conditions(refused.reason, refused.message))
        return
    resolved = p.c.config.policy.resolve(p.ns, spec)
    status = p.old
    if active is not None:
        status = scans.follow(p, resolved, active)
    elif decide.scan_due(p.spec, status, p.now):
        status = scans.start(p, resolved, window)
    if status.active_scan is None and active is not None:
        write(p, with_conditions(status, decide.watch_conditions(p.spec, status), p.now, p.generation))  # before drafts
    status = ensure_drafts(p, status)
    expire_old_scans(p)
    _finish(p, status, decide.watch_conditions(p.spec, status))


def _finish(p: WatchPass, status: EventReplayWatchStatus, wants: list[Want]) -> None:
    final = with_conditions(status, wants, p.now, p.generation)
    write(p, final)
    metrics.observe(p.ns, p.name, final)


def _refused(
    kube: WatchKubePort, owner: Owner, old: EventReplayWatchStatus, generation: int | None, *, message: str
) -> list[Event]:
    """A spec that does not validate: Ready False with the reason; nothing else is touched."""
    metrics.forget(owner.namespace, owner.name)
    final = with_conditions(old, decide.refused_conditions(INVALID, message), datetime.now(UTC), generation)
    patch = patch_of(as_wire(old), as_wire(final))
    if patch:
        kube.patch_watch_status(owner.namespace, owner.name, patch)
    return [Event("Warning", INVALID, message)] if final.conditions != old.conditions else []


def _lenient(raw: object) -> EventReplayWatchStatus:
    """The stored status, or a fresh one when it does not validate (someone edited it)."""
    try:
        return EventReplayWatchStatus.model_validate(raw or {})
    except ValidationError:
        return EventReplayWatchStatus()


def _first(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"[:1024]
