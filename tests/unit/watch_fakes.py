"""In-process fakes of what a watch's pass talks to (`operator/watch/kube.WatchKubePort`), and
`WatchWorld`, which runs passes against them with the replay fakes' Kafka and Redis."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from operator_fake_backends import FakeCheckpoints, FakeKafka
from operator_fakes import merge_patch
from operator_fixtures import operator_config

from eventreplay.operator.clients import Clients
from eventreplay.operator.events import Event
from eventreplay.operator.planner import Observed
from eventreplay.operator.watch.conduct import sync_watch
from eventreplay.worker.contract.names import watch_scan_key

JSON = dict[str, Any]
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
UID = "w-1"
WATCH_SPEC: JSON = {
    "source": {"bootstrapServers": "k:9092", "topic": "orders"},
    "sink": {"topic": "orders-out"},
    "redis": {"url": "redis://r:6379/0"},
    "lookbackSeconds": 3600,
    "schedule": {"intervalSeconds": 300},
    "draft": {"enabled": True},
}


def gap_entry(
    partition: int = 0, first: str = "2026-11-20T11:10:00.000Z", last: str = "2026-11-20T11:12:00.000Z"
) -> JSON:
    return {
        "partition": partition,
        "firstOffset": 10,
        "lastOffset": 29,
        "firstTime": first,
        "lastTime": last,
        "missing": 20,
        "sampleIds": [f"e-{i}" for i in range(8)],
    }


def summary(*gaps: JSON) -> bytes:
    import orjson

    missing = sum(g["missing"] for g in gaps)
    return orjson.dumps(
        {
            "version": 1,
            "counts": {"sourceRecords": 200, "missing": missing, "destinationRecords": 200 - missing},
            "missingIds": missing,
            "existingTopic": "orders-out",
            "existing": [],
            "gaps": list(gaps),
            "outages": [],
        }
    )


class TimedKafka(FakeKafka):
    """The fake topic answering a time window too: the window holds every record."""

    def observe(self, spec: Any, as_of: datetime) -> tuple[int | None, dict[int, Observed]]:
        count, seen = super().observe(spec, as_of)
        return count, {p: Observed(o.low, o.high, start_at_time=o.low, end_at_time=o.high) for p, o in seen.items()}


class FakeWatchKube:
    """One watch, its scan Jobs and its drafts; records every write."""

    def __init__(self, obj: JSON | None) -> None:
        self.obj = obj
        self.jobs: dict[str, JSON] = {}
        self.drafts: dict[str, JSON] = {}
        self.patches: list[JSON] = []
        self.draft_creates = 0
        self.expired: list[str] = []

    def get_watch(self, ns: str, name: str) -> JSON | None:
        return copy.deepcopy(self.obj)

    def patch_watch_status(self, ns: str, name: str, patch: JSON) -> int:
        assert self.obj is not None
        self.patches.append(patch)
        merge_patch(self.obj.setdefault("status", {}), patch)
        return 1

    def create_draft(self, body: JSON) -> bool:
        self.draft_creates += 1
        name = body["metadata"]["name"]
        if name in self.drafts:
            return False
        self.drafts[name] = copy.deepcopy(body)
        return True

    def list_jobs(self, ns: str, selector: str) -> list[JSON]:
        return [copy.deepcopy(j) for j in self.jobs.values()]

    def create_job(self, job: JSON) -> bool:
        name = job["metadata"]["name"]
        if name in self.jobs:
            return False
        self.jobs[name] = copy.deepcopy(job)
        return True

    def expire_job(self, ns: str, name: str, ttl: int) -> None:
        self.expired.append(name)
        self.jobs[name]["spec"]["ttlSecondsAfterFinished"] = ttl

    def finish(self, name: str, kind: str = "Complete", message: str = "") -> None:
        conditions = [{"type": kind, "status": "True", "reason": "Done", "message": message}]
        self.jobs[name]["status"] = {"conditions": conditions}


@dataclass
class WatchWorld:
    spec: JSON = field(default_factory=lambda: copy.deepcopy(WATCH_SPEC))
    kafka: FakeKafka = field(default_factory=TimedKafka)
    checkpoints: FakeCheckpoints = field(default_factory=FakeCheckpoints)
    config_overrides: JSON = field(default_factory=dict)
    now: datetime = NOW

    def __post_init__(self) -> None:
        meta = {"name": "w", "namespace": "ns", "uid": UID, "generation": 1}
        obj = {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplayWatch", "metadata": meta}
        self.kube = FakeWatchKube({**obj, "spec": self.spec})
        self.clients = Clients(
            kube=None,  # type: ignore[arg-type]  # a watch's pass reaches Kubernetes through `kube` only
            kafka=self.kafka,
            checkpoints=self.checkpoints,
            config=operator_config(**self.config_overrides),
        )

    def sync(self, after_seconds: float = 0) -> list[Event]:
        self.now += timedelta(seconds=after_seconds)
        return sync_watch(self.clients, self.kube, "ns", "w", now=self.now)

    @property
    def status(self) -> JSON:
        assert self.kube.obj is not None
        return dict(self.kube.obj.get("status") or {})

    def scan_finds(self, scan: int, *gaps: JSON) -> None:
        """Scan `scan`'s Job succeeded, leaving a summary with `gaps`."""
        self.checkpoints.keys[watch_scan_key("ns", UID, scan)] = summary(*gaps)
        self.kube.finish(f"w-scan-{scan}")

    def condition(self, kind: str) -> JSON:
        return next(c for c in self.status["conditions"] if c["type"] == kind)
