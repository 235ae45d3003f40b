"""The blocked-pods stage of the partitions phase: list the replay's pods once (only while a
Running partition is not progressing) and record on each partition why its pod cannot run."""

from __future__ import annotations

from ..api.v1alpha1 import PartitionProgress
from ..job_names import LABEL_UID
from ..pod_blocks import decide_blocked, decide_look, newest_blocks
from .context import Pass


def run(p: Pass, parts: list[PartitionProgress]) -> list[PartitionProgress]:
    """`parts` with their `blocked` records: one pod listing by the replay's uid label at most."""
    # Another plan's partitions say nothing about this plan's pods (nor what was announced).
    old = [] if p.replanned else p.old.partitions
    if not decide_look(old, parts):
        return decide_blocked(parts, old, {}, p.now)
    pods = p.c.kube.list_pods(p.ns, f"{LABEL_UID}={p.owner.uid}")
    return decide_blocked(parts, old, newest_blocks(pods), p.now)
