"""In-process fakes of what `sync()` talks to, one per port of `operator/clients.py`: the
Kubernetes calls here, Kafka and Redis in `operator_fake_backends`; plus `World`, which runs
controller passes against them, and the scenes more than one test starts from (`replayed`,
`reconciled`, `World.promotion_finished`). No stack, no kopf: every decision path in well under a second.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from operator_fake_backends import FakeCheckpoints, FakeKafka
from operator_fixtures import operator_config
from summary_fixtures import REPORT_HASH, report_summary

from eventreplay.operator.clients import Clients
from eventreplay.operator.config import OperatorConfig
from eventreplay.operator.job_names import Step
from eventreplay.operator.phases.context import Outcome
from eventreplay.operator.sync import sync
from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.names import Tenant, failure_key, key_tenant, planned_layout, report_key

JSON = dict[str, Any]
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
UID = "u-1"
NAMESPACE = "ns"
PROMOTE = f"r-promote-{REPORT_HASH[:12]}"
"""The promotion Job of the report `report_summary()` describes."""
SPEC: JSON = {
    "source": {"bootstrapServers": "k:9092", "topic": "orders"},
    "window": {"offsets": {"from": 0, "to": 100}},
    "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"},
    "sink": {"topic": "orders-out"},
}


def merge_patch(target: JSON, patch: JSON) -> None:
    """Apply a JSON merge patch in place (RFC 7386), as the API server does for the status."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeKube:
    """One replay and its Jobs and pods; records every write."""

    def __init__(self, obj: JSON | None) -> None:
        self.obj = obj
        self.jobs: dict[str, JSON] = {}
        self.config_maps: dict[str, JSON] = {}
        self.pods: dict[str, list[JSON]] = {}
        self.patches: list[JSON] = []
        self.created: list[str] = []
        self.suspended: list[tuple[str, bool]] = []
        self.expired: list[tuple[str, int]] = []
        self.pod_lookups: list[str] = []
        """Jobs whose pods were listed for a failed Job's message."""
        self.pod_listings: list[str] = []
        """Label selectors the replay's pods were listed by (blocked pods)."""
        self.refuse: Exception | None = None
        """What creating a Job raises instead (a quota, an invalid Job, a foreign Job's name)."""

    def get_replay(self, ns: str, name: str) -> JSON | None:
        return copy.deepcopy(self.obj)

    def patch_replay_status(self, ns: str, name: str, patch: JSON) -> int:
        assert self.obj is not None
        self.patches.append(patch)
        merge_patch(self.obj.setdefault("status", {}), patch)
        return len(json.dumps({"status": patch}))

    def json_patch_replay_status(self, ns: str, name: str, ops: list[JSON]) -> int:
        """RFC 6902 on the status, as the API server applies it (a failed `test` fails the whole patch)."""
        assert self.obj is not None
        status = copy.deepcopy(self.obj.setdefault("status", {}))
        for op in ops:
            parts = op["path"].removeprefix("/status/").split("/")
            parent: Any = status
            for part in parts[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
            if op["op"] == "test":
                assert parent[last] == op["value"], f"test failed at {op['path']}"
            elif op["op"] == "remove":
                del parent[last]
            else:  # add / replace of an object member or a list entry in place
                parent[last] = copy.deepcopy(op["value"])
        self.obj["status"] = status
        self.patches.append({"jsonPatch": ops})
        return len(json.dumps(ops))

    def list_jobs(self, ns: str, selector: str) -> list[JSON]:
        key, value = selector.split("=", 1)
        return [copy.deepcopy(j) for j in self.jobs.values() if j["metadata"]["labels"].get(key) == value]

    def create_job(self, job: JSON) -> bool:
        if self.refuse is not None:
            raise self.refuse
        name = job["metadata"]["name"]
        if name in self.jobs:
            return False
        self.jobs[name] = copy.deepcopy(job)
        self.created.append(name)
        return True

    def create_config_map(self, body: JSON) -> bool:
        name = body["metadata"]["name"]
        if name in self.config_maps:
            return False
        self.config_maps[name] = copy.deepcopy(body)
        return True

    def expire_job(self, ns: str, name: str, ttl: int) -> None:
        self.jobs[name]["spec"]["ttlSecondsAfterFinished"] = ttl
        self.expired.append((name, ttl))

    def set_job_suspended(self, ns: str, name: str, suspend: bool) -> None:
        self.jobs[name]["spec"]["suspend"] = suspend
        self.suspended.append((name, suspend))

    def list_pods(self, ns: str, selector: str) -> list[JSON]:
        if not selector.startswith("job-name="):  # a label selector over all the replay's pods
            key, value = selector.split("=", 1)
            self.pod_listings.append(selector)
            every = [pod for pods in self.pods.values() for pod in pods]
            return [p for p in every if (p.get("metadata") or {}).get("labels", {}).get(key) == value]
        job = selector.removeprefix("job-name=")
        self.pod_lookups.append(job)
        return self.pods.get(job, [])

    # What the Job controller and the kubelet would do.
    def finish(self, name: str, *, failed: str = "") -> None:
        """Mark a Job Complete, or Failed with `failed` as its condition message."""
        kind = "Failed" if failed else "Complete"
        condition = {
            "type": kind,
            "status": "True",
            "reason": "BackoffLimitExceeded" if failed else "",
            "message": failed,
        }
        self.jobs[name]["status"] = {"conditions": [condition]}

    def ttl_controller(self) -> list[str]:
        """Delete the finished Jobs handed to the TTL controller (their time is up); their names."""
        gone = [n for n, j in self.jobs.items() if j["spec"].get("ttlSecondsAfterFinished") is not None]
        for name in gone:
            del self.jobs[name]
        return gone

    def pod(self, job: str, name: str, status: JSON) -> None:
        """A pod of Job `job` (its template's labels and `job-name`, as the Job controller sets them)."""
        labels = {**self.jobs[job]["spec"]["template"]["metadata"]["labels"], "job-name": job}
        meta = {"name": name, "labels": labels, "creationTimestamp": "2026-11-20T12:00:00Z"}
        self.pods.setdefault(job, []).append({"metadata": meta, "status": status})

    def terminated_pod(self, job: str, message: str, at: str = "2026-11-20T12:00:00Z") -> None:
        state = {"terminated": {"message": message, "finishedAt": at}}
        self.pods.setdefault(job, []).append({"status": {"containerStatuses": [{"state": state}]}})


def replay(**spec: Any) -> JSON:
    """An EventReplay as the API server returns it (uid and generation set)."""
    return {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "r", "namespace": NAMESPACE, "uid": UID, "generation": 1},
        "spec": {**copy.deepcopy(SPEC), **spec},
    }


@dataclass
class World:
    """One replay, the fakes around it, and clients kept across passes (as kopf's memo keeps them)."""

    kube: FakeKube = field(default_factory=lambda: FakeKube(replay()))
    kafka: FakeKafka = field(default_factory=FakeKafka)
    checkpoints: FakeCheckpoints = field(default_factory=FakeCheckpoints)
    config: OperatorConfig = field(default_factory=operator_config)
    clients: Clients | None = None

    def sync(self, now: datetime = NOW) -> Outcome:
        if self.clients is None:  # the fakes type-check against the ports (`clients.py`)
            self.clients = Clients(kube=self.kube, kafka=self.kafka, checkpoints=self.checkpoints, config=self.config)
        return sync(self.clients, "ns", "r", now=now)

    def edit(self, **spec: Any) -> None:
        """A spec change: the API server bumps metadata.generation."""
        assert self.kube.obj is not None
        self.kube.obj["spec"].update(spec)
        self.kube.obj["metadata"]["generation"] += 1

    @property
    def status(self) -> JSON:
        assert self.kube.obj is not None
        return cast(JSON, self.kube.obj.get("status") or {})

    @property
    def key_tenant(self) -> Tenant:
        """The tenant the replay's Redis keys carry, by the layout its plan records."""
        return key_tenant(NAMESPACE, planned_layout((self.status.get("plan") or {}).get("keyLayout")))

    def condition(self, kind: str) -> tuple[str, str]:
        found = next(c for c in self.status["conditions"] if c["type"] == kind)
        return found["status"], found["reason"]

    def kstatus(self) -> tuple[str, str, str, str]:
        """(Ready, Reconciling, Stalled) statuses and the Ready reason."""
        ready, reason = self.condition("Ready")
        return ready, self.condition("Reconciling")[0], self.condition("Stalled")[0], reason

    # Scenes: what the workers and the Job controller do between two passes.
    def partitions_finished(self, checkpoints: tuple[int, ...] = (0, 1)) -> None:
        """Both partition Jobs succeed; the workers' final checkpoints (100 offsets each, all read
        and emitted) are in Redis for the partitions in `checkpoints`."""
        for p in checkpoints:
            done = Checkpoint.fresh(p, 0, 100, emitted=100, state="done")
            self.checkpoints.checkpoints[p] = msgspec.structs.replace(done, committed_offset=100)
        self.kube.finish("r-0")
        self.kube.finish("r-1")

    def reconciliation_finished(self, summary: bytes | None = None) -> None:
        """The reconciliation Job succeeds and leaves its report (`report_summary()` by default)."""
        self.kube.finish("r-reconcile")
        self.checkpoints.keys[report_key(self.key_tenant, UID)] = summary if summary is not None else report_summary()

    def step_failed(self, step: Step, said: str, *, condition: str = "BackoffLimitExceeded") -> None:
        """The step's (first) Job fails with `condition`; its worker's own message `said` is in Redis."""
        self.kube.finish(f"r-{step}", failed=condition)
        self.checkpoints.keys[failure_key(self.key_tenant, UID, step)] = said.encode()

    def promotion_finished(self, report_hash: str = REPORT_HASH, **per_partition: Any) -> None:
        """The promotion Job of `report_hash` succeeds: both partitions' promotion checkpoints say done
        (`per_partition`: more checkpoint fields, a value per partition)."""
        self.kube.finish(f"r-promote-{report_hash[:12]}")
        self.checkpoints.promotions_done = {
            p: PromotionCheckpoint(
                partition=p,
                report_hash=report_hash,
                start_offset=0,
                end_offset=10,
                committed_offset=10,
                written=5,
                state="done",
                **{name: values[p] for name, values in per_partition.items()},
            )
            for p in (0, 1)
        }


def checkpoint(partition: int, committed: int, *, start: int = 0, end: int = 100, **counts: Any) -> Checkpoint:
    """A worker's checkpoint of `partition` over [start, end), committed up to `committed`."""
    return Checkpoint(partition=partition, start_offset=start, end_offset=end, committed_offset=committed, **counts)


def replayed(*, checkpoints: tuple[int, ...] = (0, 1), **spec: Any) -> World:
    """A replay whose partitions are all done (their workers' final checkpoints in Redis, one per
    partition in `checkpoints`): the pass after this one sees it replayed."""
    world = World(kube=FakeKube(replay(**spec)))
    world.sync()
    world.partitions_finished(checkpoints)
    return world


def reconciled(*, checkpoints: tuple[int, ...] = (0, 1), **spec: Any) -> World:
    """A replay whose reconciliation Job succeeded and left its report."""
    world = replayed(checkpoints=checkpoints, **spec)
    world.sync()
    world.reconciliation_finished()
    return world
