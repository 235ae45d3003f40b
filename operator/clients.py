"""The operator's long-lived clients and per-process memory, kept in kopf's memo."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .checkpoints import CheckpointReader
from .config import OperatorConfig
from .kafka import KafkaAccess
from .kube import Kube


@dataclass
class Clients:
    """Created once at start-up; `sync` reaches Kubernetes, Kafka and Redis only through these."""

    kube: Kube
    kafka: KafkaAccess
    checkpoints: CheckpointReader
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
