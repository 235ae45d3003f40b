"""The operator's long-lived clients and per-process memory, kept in kopf's memo; the ports
(`Protocol`s) say exactly what of Kubernetes, Kafka and Redis the operator uses, so the unit
tests' fakes (`tests/unit/operator_fakes.py`) are type-checked against the same surface."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.names import Tenant

from .api.v1alpha1 import EventReplaySpec
from .config import OperatorConfig
from .kube import JSON
from .planner import Observation
from .results_scan import ResultsScan
from .retention import TopicRetention


class KubePort(Protocol):
    """The Kubernetes calls of a pass (`kube.Kube`): the replay, its status, its Jobs and pods, its schema ConfigMap."""

    def get_replay(self, ns: str, name: str) -> JSON | None: ...
    def patch_replay_status(self, ns: str, name: str, patch: JSON) -> int: ...
    def json_patch_replay_status(self, ns: str, name: str, ops: list[JSON]) -> int: ...
    def list_jobs(self, ns: str, selector: str) -> list[JSON]: ...
    def list_pods(self, ns: str, selector: str) -> list[JSON]: ...
    def create_job(self, job: JSON) -> bool: ...
    def create_config_map(self, body: JSON) -> bool: ...
    def expire_job(self, ns: str, name: str, ttl: int) -> None: ...
    def set_job_suspended(self, ns: str, name: str, suspend: bool) -> None: ...


class KafkaPort(Protocol):
    """What the operator asks Kafka (`kafka.KafkaAccess`): planning facts, topics, clean-up."""

    def observe(self, spec: EventReplaySpec, as_of: datetime) -> Observation: ...
    def retention(self, spec: EventReplaySpec) -> TopicRetention: ...
    def writers(self, bootstrap: str, topics: list[str]) -> dict[str, set[str]]: ...
    def retained_records(self, bootstrap: str, topic: str) -> int | None: ...
    def scan_results(self, bootstrap: str, topic: str, uid: str) -> ResultsScan | None: ...
    def cluster_id(self, bootstrap: str) -> str: ...
    def consumer_lag(self, bootstrap: str, topic: str, groups: list[str]) -> dict[str, int]: ...
    def ensure_topics(
        self, bootstrap: str, names: list[str], partitions: int, config: dict[str, str] | None = None
    ) -> None: ...
    def delete_topics(self, bootstrap: str, names: list[str]) -> None: ...
    def delete_groups(self, bootstrap: str, prefix: str) -> int: ...


class CheckpointPort(Protocol):
    """What the operator reads from (and deletes in) Redis (`checkpoints.CheckpointReader`)."""

    def carry_legacy_sink_ledgers(self, url: str) -> bool: ...
    def legacy_sink_claims(self, url: str, cluster: str, topic: str) -> int: ...
    def read(self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]) -> dict[int, Checkpoint]: ...
    def get(self, url: str, key: str) -> bytes | None: ...
    def promotions(
        self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]
    ) -> dict[int, PromotionCheckpoint]: ...
    def delete_matching(self, url: str, patterns: Iterable[str]) -> int: ...
    def close(self) -> None: ...


@dataclass
class Clients:
    """Created once at start-up; `sync` reaches Kubernetes, Kafka and Redis only through these."""

    kube: KubePort
    kafka: KafkaPort
    checkpoints: CheckpointPort
    config: OperatorConfig
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    ensured_topics: set[str] = field(default_factory=set)
    """Replay uids whose sandbox topics this process has created (created once, then trusted)."""
    guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, key: str) -> threading.Lock:
        """One lock per replay: a handler and the timer never sync the same replay at once."""
        with self.guard:
            return self.locks.setdefault(key, threading.Lock())

    def forget(self, key: str, uid: str | None) -> None:
        """A replay is gone: its per-process memory goes too (it only grew before)."""
        with self.guard:
            self.locks.pop(key, None)
            if uid is not None:
                self.ensured_topics.discard(uid)
