"""The EventReplay specs a watch stands for (pure): the one a scan of its rolling window would draft
(which the replay policy judges, and the gap finder's task is built from), and each new gap's draft,
named deterministically from the watch and the gap so the same gap is never drafted twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from ..api.v1alpha1 import API_VERSION, KIND, EventReplaySpec, EventReplayWatchSpec, WatchGap, parse_time
from ..job_names import Owner
from .owner import watch_owner_reference

DRAFT_LABEL = "eventreplay.io/watch"
"""On each draft: the name of the watch that drafted it."""


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_window(spec: EventReplayWatchSpec, now: datetime) -> tuple[str, str]:
    """[from, to) of a scan started `now`: the last `lookbackSeconds`, ending `settleSeconds` ago."""
    end = now.replace(microsecond=0) - timedelta(seconds=spec.settle_seconds)
    return rfc3339(end - timedelta(seconds=spec.lookback_seconds)), rfc3339(end)


def _spec_body(spec: EventReplayWatchSpec) -> dict[str, Any]:
    """The replay fields every spec of this watch shares, as written (aliases kept)."""
    template = spec.draft.template
    dump = {"by_alias": True, "exclude_unset": True, "exclude_none": True, "mode": "json"}
    dedup = template.dedup.model_dump(**dump)  # type: ignore[arg-type]
    redis = spec.redis.model_dump(**dump)  # type: ignore[arg-type]
    return {
        "source": spec.source.model_dump(**dump),  # type: ignore[arg-type]
        "validation": spec.validation.model_dump(**dump),  # type: ignore[arg-type]
        "sink": spec.sink.model_dump(**dump),  # type: ignore[arg-type]
        "dedup": {**dedup, "redis": redis, "mode": template.dedup.mode, "ledger": template.dedup.ledger},
        "transform": template.transform.model_dump(**dump),  # type: ignore[arg-type]
        "reconciliation": spec.reconciliation.model_dump(**dump),  # type: ignore[arg-type]
        "promotion": {"policy": "Manual"},
        "worker": template.worker.model_dump(**dump),  # type: ignore[arg-type]
        "deletionPolicy": template.deletion_policy,
    }


def scan_spec(spec: EventReplayWatchSpec, window: tuple[str, str]) -> EventReplaySpec:
    """The EventReplay a scan of `window` would draft: what the policy judges and the gap task reads."""
    body = _spec_body(spec)
    body["window"] = {"timestamps": {"from": window[0], "to": window[1]}}
    return EventReplaySpec.model_validate(body)


def gap_key(partition: int, first: str, last: str) -> str:
    """A gap's identity: its partition and window when first seen (12 hex of SHA-256)."""
    return hashlib.sha256(f"{partition}/{first}/{last}".encode()).hexdigest()[:12]


def draft_name(watch: str, key: str) -> str:
    """`<watch>-gap-<key>`: the same gap of the same watch always names the same draft."""
    return f"{watch}-gap-{key}"


def draft_window(gap: WatchGap, margin_seconds: int) -> tuple[str, str]:
    """The gap's time window plus the margin on each side (`to` past the last missing event)."""
    margin = timedelta(seconds=margin_seconds)
    start = parse_time(gap.from_) - margin
    end = parse_time(gap.to) + margin + timedelta(seconds=1)
    return rfc3339(start), rfc3339(end)


def draft_manifest(spec: EventReplayWatchSpec, owner: Owner, gap: WatchGap) -> dict[str, Any]:
    """The draft EventReplay of one gap: its partition and window, promotion Manual, owned by the watch."""
    body = _spec_body(spec)
    body["source"]["partitions"] = [str(gap.partition)]
    start, end = draft_window(gap, spec.draft.margin_seconds)
    body["window"] = {"timestamps": {"from": start, "to": end}}
    if spec.draft.template.dry_run:
        body["dryRun"] = True
    EventReplaySpec.model_validate(body)  # what admission would refuse, refused here first
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": draft_name(owner.name, gap.key),
            "namespace": owner.namespace,
            "labels": {DRAFT_LABEL: owner.name},
            "ownerReferences": [watch_owner_reference(owner)],
        },
        "spec": body,
    }
