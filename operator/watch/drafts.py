"""Draft EventReplays for the recorded gaps, and the expiry of old scan Jobs.

A draft is created for each recorded gap that names none yet, under the name its gap decides
(`replay_spec.draft_name`): a create that finds the name taken is that gap's draft, made by an
earlier pass (an operator killed between the scan and the draft drafts nothing twice).
"""

from __future__ import annotations

from ..api.v1alpha1 import EventReplayWatchStatus, WatchGap
from ..events import Event
from ..job_state import job_state
from .context import WatchPass
from .owner import LABEL_SCAN, scans_of
from .replay_spec import draft_manifest

EXPIRE_AFTER_SECONDS = 60
"""A scan Job past the history limit goes this long after it finished (Kubernetes' TTL controller)."""


def ensure_drafts(p: WatchPass, status: EventReplayWatchStatus) -> EventReplayWatchStatus:
    """Every recorded gap with its draft (when drafts are enabled)."""
    if not p.spec.draft.enabled or not any(gap.draft is None for gap in status.gaps):
        return status
    gaps = [gap if gap.draft is not None else gap.model_copy(update={"draft": _draft(p, gap)}) for gap in status.gaps]
    return status.model_copy(update={"gaps": gaps})


def _draft(p: WatchPass, gap: WatchGap) -> str:
    """Create the gap's draft (or find it made): its name."""
    body = draft_manifest(p.spec, p.owner, gap)
    name: str = body["metadata"]["name"]
    if p.kube.create_draft(body):
        window = body["spec"]["window"]["timestamps"]
        text = f"EventReplay {name} drafted for partition {gap.partition}, {window['from']} to {window['to']}"
        p.events.append(Event("Normal", "Drafted", text))
    return name


def expire_old_scans(p: WatchPass) -> None:
    """Finished scan Jobs beyond `historyLimit` (the newest kept) handed to the TTL controller."""
    finished = []
    for job in p.kube.list_jobs(p.ns, scans_of(p.owner)):
        state, _ = job_state(job)
        if state in ("Succeeded", "Failed"):
            number = int((job["metadata"].get("labels") or {}).get(LABEL_SCAN, "0") or 0)
            finished.append((number, job))
    finished.sort(key=lambda item: item[0], reverse=True)
    for _number, job in finished[p.spec.history_limit :]:
        if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is None:
            p.kube.expire_job(p.ns, job["metadata"]["name"], EXPIRE_AFTER_SECONDS)
