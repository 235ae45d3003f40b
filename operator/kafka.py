"""Planning, Kafka-facing part: watermarks, offsets_for_times, topic metadata, sandbox topic creation.

Thin on purpose: it gathers facts into `planner.Observed` and the pure planner decides. The
operator connects with its *own* client settings (`OperatorConfig.kafka_settings`), never with a
tenant's Secret: the workers get theirs through secretKeyRef. Consumers here only `assign`, never
commit, and never auto-create topics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.kafka_clients import (
    Config,
    client_config,
    create_topics,
    offsets_for_times,
    planner_consumer_config,
    watermarks,
)

from .api.v1alpha1 import EventReplaySpec
from .planner import PAST_END, Observed, PlanRefused, selected_partitions, window_times

log = logging.getLogger(__name__)


class KafkaUnavailable(Exception):
    """The cluster did not answer in time: retry later (not a reason to stall)."""


@dataclass(frozen=True)
class KafkaAccess:
    """How the operator reaches a cluster: its own settings plus the replay's bootstrap servers."""

    settings: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def _config(self, bootstrap: str) -> Config:
        return client_config(bootstrap, self.settings)

    def consumer(self, bootstrap: str) -> Consumer:
        return Consumer(planner_consumer_config(self._config(bootstrap), "eventreplay-operator-planner"))

    def admin(self, bootstrap: str) -> AdminClient:
        return AdminClient(self._config(bootstrap))

    def observe(self, spec: EventReplaySpec, as_of: datetime) -> tuple[int | None, dict[int, Observed]]:
        """(partition count or None when the topic is missing, facts per selected partition)."""
        topic = spec.source.topic
        consumer = self.consumer(spec.source.bootstrap_servers)
        try:
            meta = consumer.list_topics(topic, timeout=self.timeout).topics.get(topic)
            if meta is None or (meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
                return None, {}
            if meta.error is not None:
                raise KafkaUnavailable(f"metadata for {topic}: {meta.error}")
            count = len(meta.partitions)
            try:
                chosen = selected_partitions(spec, count)
            except PlanRefused:  # the pure planner raises it again, with the reason
                return count, {}
            bootstrap = spec.source.bootstrap_servers
            marks = {p: watermarks(consumer, topic, p, bootstrap, timeout=self.timeout) for p in chosen}
            observed = {p: Observed(low=low, high=high) for p, (low, high) in marks.items()}
            times = window_times(spec, as_of)
            if times is not None:
                observed = self._by_time(consumer, topic, observed, times)
            return count, observed
        except (KafkaException, RetriableFailure) as err:
            raise KafkaUnavailable(str(err)) from err
        finally:
            consumer.close()

    def _by_time(
        self, consumer: Consumer, topic: str, observed: dict[int, Observed], times: tuple[int, int]
    ) -> dict[int, Observed]:
        starts = self._offsets_for(consumer, topic, list(observed), times[0])
        ends = self._offsets_for(consumer, topic, list(observed), times[1])
        result: dict[int, Observed] = {}
        for p, seen in observed.items():
            start = starts[p]
            first = None
            if start == seen.low and seen.low > 0:
                first = self._timestamp_at(consumer, topic, p, seen.low)
            result[p] = Observed(seen.low, seen.high, start, ends[p], first)
        return result

    def _offsets_for(self, consumer: Consumer, topic: str, parts: list[int], when_ms: int) -> dict[int, int]:
        found = offsets_for_times(consumer, topic, parts, when_ms, timeout=self.timeout)
        return {p: PAST_END if offset < 0 else offset for p, offset in found.items()}

    def _timestamp_at(self, consumer: Consumer, topic: str, partition: int, offset: int) -> int | None:
        """Timestamp of the first record at or after `offset` (None if none arrives in time)."""
        consumer.assign([TopicPartition(topic, partition, offset)])
        try:
            msg = consumer.poll(self.timeout)
            if msg is None or msg.error() is not None:
                return None
            _kind, stamp = msg.timestamp()
            return int(stamp) if stamp >= 0 else None
        finally:
            consumer.unassign()

    def ensure_topics(
        self, bootstrap: str, names: list[str], partitions: int, config: dict[str, str] | None = None
    ) -> None:
        """Create the sandbox and dead-letter topics (partitions as the source); existing is fine."""
        try:
            create_topics(self.admin(bootstrap), names, partitions, timeout=self.timeout, config=config)
        except RetriableFailure as err:
            raise KafkaUnavailable(str(err)) from err
