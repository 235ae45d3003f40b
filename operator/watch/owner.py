"""What the watch owns and how it is found: the owner reference and labels of its scan Jobs and
drafts, and its scan Jobs' names (each defined once)."""

from __future__ import annotations

from ..api.v1alpha1 import GROUP, WATCH_KIND
from ..job_names import WORKER_LABELS, Owner, fitted_name, label_value, owner_reference

LABEL_WATCH_UID = f"{GROUP}/watch-uid"
LABEL_WATCH = f"{GROUP}/watch"
LABEL_SCAN = f"{GROUP}/scan"


def watch_owner_reference(owner: Owner) -> dict[str, str | bool]:
    """The watch as controller of its scan Jobs and drafts: they go with it."""
    return owner_reference(owner, WATCH_KIND)


def scan_job_name(watch: str, scan: int) -> str:
    """`<watch>-scan-<n>`: a restarted operator finds the scan it started."""
    return fitted_name(watch, f"-scan-{scan}")


def scan_labels(owner: Owner, scan: int) -> dict[str, str]:
    return {**WORKER_LABELS, LABEL_WATCH: label_value(owner.name), LABEL_WATCH_UID: owner.uid, LABEL_SCAN: str(scan)}


def scans_of(owner: Owner) -> str:
    """The label selector of a watch's scan Jobs."""
    return f"{LABEL_WATCH_UID}={owner.uid}"
