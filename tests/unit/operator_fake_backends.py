"""The unit tests' fakes of Kafka and Redis as the operator reaches them (`KafkaPort`,
`CheckpointPort` of `operator/clients.py`); `operator_fakes.World` wires them with the Kubernetes fake."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from eventreplay.operator.checkpoints import CheckpointsUnavailable
from eventreplay.operator.kafka import KafkaUnavailable
from eventreplay.operator.planner import Observed
from eventreplay.operator.results_scan import ResultsScan
from eventreplay.operator.retention import TopicRetention
from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.names import Tenant
from eventreplay.worker.contract.sink_keys import legacy_sink_ledger_key

CLUSTER_ID = "kc-1"
"""The id the fake Kafka cluster reports."""


class FakeKafka:
    """A topic with `partitions` partitions holding offsets [0, high) each; `down` makes it unreachable."""

    def __init__(self, partitions: int | None = 2, high: int = 100, low: int = 0) -> None:
        self.partitions, self.high, self.low = partitions, high, low
        self.down = ""
        self.retained: int | None = 0
        """Records retained in the destination (what an unbounded reconciliation would read)."""
        self.observed = 0
        self.ensured: list[tuple[list[str], int]] = []
        self.retention_ms: int | None = None
        self.written: dict[str, set[str]] = {}
        """Output topics that already hold records: topic -> uids of their writers."""
        self.topic_configs: list[dict[str, str]] = []
        self.deleted: list[str] = []
        self.results: ResultsScan | None = None
        """An External replay's results topic as `scan_results` tallies it (None: missing)."""
        self.scanned: list[str] = []
        self.cluster_asked = 0
        self.lags: dict[str, int] = {}
        """Per consumer group, the lag `consumer_lag` answers (the test moves it)."""
        self.lag_asked = 0

    def observe(self, spec: Any, as_of: datetime) -> tuple[int | None, dict[int, Observed]]:
        self.observed += 1
        if self.down:
            raise KafkaUnavailable(self.down)
        count = self.partitions or 0
        return self.partitions, {p: Observed(low=self.low, high=self.high) for p in range(count)}

    def retention(self, spec: Any) -> TopicRetention:
        if self.down:
            raise KafkaUnavailable(self.down)
        return TopicRetention(retention_ms=self.retention_ms)

    def writers(self, bootstrap: str, topics: list[str]) -> dict[str, set[str]]:
        if self.down:
            raise KafkaUnavailable(self.down)
        return {t: self.written[t] for t in topics if t in self.written}

    def retained_records(self, bootstrap: str, topic: str) -> int | None:
        if self.down:
            raise KafkaUnavailable(self.down)
        return self.retained

    def scan_results(self, bootstrap: str, topic: str, uid: str) -> ResultsScan | None:
        if self.down:
            raise KafkaUnavailable(self.down)
        self.scanned.append(topic)
        return self.results

    def cluster_id(self, bootstrap: str) -> str:
        self.cluster_asked += 1
        if self.down:
            raise KafkaUnavailable(self.down)
        return CLUSTER_ID

    def consumer_lag(self, bootstrap: str, topic: str, groups: list[str]) -> dict[str, int]:
        self.lag_asked += 1
        if self.down:
            raise KafkaUnavailable(self.down)
        return {g: self.lags.get(g, 0) for g in groups}

    def ensure_topics(
        self, bootstrap: str, names: list[str], partitions: int, config: dict[str, str] | None = None
    ) -> None:
        if self.down:
            raise KafkaUnavailable(self.down)
        self.ensured.append((names, partitions))
        self.topic_configs.append(config or {})

    def delete_topics(self, bootstrap: str, names: list[str]) -> None:
        self.deleted.extend(names)

    def delete_groups(self, bootstrap: str, prefix: str) -> int:
        return 0


class FakeCheckpoints:
    """The workers' checkpoint mirrors, the report and failure keys, the promotion mirrors."""

    def __init__(self) -> None:
        self.checkpoints: dict[int, Checkpoint] = {}
        self.keys: dict[str, bytes] = {}
        self.promotions_done: dict[int, PromotionCheckpoint] = {}
        self.down = ""
        self.calls = 0
        self.tenants: set[Tenant] = set()  # the key tenants the mirrors were read under
        self.legacy_claims: dict[str, int] = {}
        """Open claims of 0.1.0 promotions per legacy sink ledger; none: carried over for good."""
        self.legacy_asked: list[tuple[str, str]] = []

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise CheckpointsUnavailable(self.down)

    def carry_legacy_sink_ledgers(self, url: str) -> bool:
        self._check()
        return not any(self.legacy_claims.values())

    def legacy_sink_claims(self, url: str, cluster: str, topic: str) -> int:
        self._check()
        self.legacy_asked.append((cluster, topic))
        return self.legacy_claims.get(legacy_sink_ledger_key(cluster, topic), 0)

    def read(self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]) -> dict[int, Checkpoint]:
        self._check()
        self.tenants.add(tenant)
        return {p: self.checkpoints[p] for p in partitions if p in self.checkpoints}

    def get(self, url: str, key: str) -> bytes | None:
        self._check()
        return self.keys.get(key)

    def promotions(
        self, url: str, tenant: Tenant, uid: str, partitions: Iterable[int]
    ) -> dict[int, PromotionCheckpoint]:
        self._check()
        self.tenants.add(tenant)
        return {p: self.promotions_done[p] for p in partitions if p in self.promotions_done}

    def delete_matching(self, url: str, patterns: Iterable[str]) -> int:
        self._check()
        doomed = [k for k in self.keys if any(fnmatch.fnmatchcase(k, pattern) for pattern in patterns)]
        for key in doomed:
            del self.keys[key]
        return len(doomed)

    def close(self) -> None:
        pass
