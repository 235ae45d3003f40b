"""Planning, Kafka-facing part: watermarks, offsets_for_times, topic metadata, sandbox topic creation.

Thin on purpose: it gathers facts into `planner.Observed` and the pure planner decides. The
operator connects with its *own* client settings (`OperatorConfig.kafka_settings`), never with a
tenant's Secret: the workers get theirs through secretKeyRef. Consumers here only `assign`, never
commit, and never auto-create topics.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.headers import REPLAY_UID_HEADER
from eventreplay.worker.contract.kafka_clients import (
    Config,
    all_watermarks,
    client_config,
    create_topics,
    offsets_for_times,
    planner_consumer_config,
)
from eventreplay.worker.contract.names import PLANNER_GROUP_ID
from eventreplay.worker.contract.ownership import header
from eventreplay.worker.contract.sink_keys import sink_cluster

from .api.v1alpha1 import EventReplaySpec
from .consumer_lag import group_lags
from .planner import PAST_END, Observation, Observed, PlanRefused, read_times, selected_partitions, window_times
from .results_scan import ResultsScan, read_results
from .retention import TopicRetention

log = logging.getLogger(__name__)


class KafkaUnavailable(Exception):
    """The cluster did not answer in time: retry later (not a reason to stall)."""

    reason = "KafkaUnavailable"


class PlanDeadlineExceeded(KafkaUnavailable):
    """Planning as a whole took longer than `KafkaAccess.plan_deadline`: retried on a later pass."""

    reason = "PlanDeadlineExceeded"


@dataclass
class Deadline:
    """One budget for every broker call of a plan: each call gets what is left, at most `step`."""

    seconds: float
    step: float
    started: float = field(default_factory=time.monotonic)

    def left(self, what: str) -> float:
        remaining = self.seconds - (time.monotonic() - self.started)
        if remaining <= 0:
            raise PlanDeadlineExceeded(f"planning exceeded its {self.seconds:g} s deadline before {what}")
        return min(self.step, remaining)


@dataclass(frozen=True)
class KafkaAccess:
    """How the operator reaches a cluster: its own settings plus the replay's bootstrap servers."""

    settings: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    """One broker call's limit."""
    plan_deadline: float = 30.0
    """All of one plan's broker calls together (metadata, watermarks, timestamps)."""

    def _config(self, bootstrap: str) -> Config:
        return client_config(bootstrap, self.settings)

    def consumer(self, bootstrap: str) -> Consumer:
        return Consumer(planner_consumer_config(self._config(bootstrap), PLANNER_GROUP_ID))

    def admin(self, bootstrap: str) -> AdminClient:
        return AdminClient(self._config(bootstrap))

    def observe(self, spec: EventReplaySpec, as_of: datetime) -> Observation:
        """(partition count or None when the topic is missing, facts per selected partition).

        Batched: one metadata request, two ListOffsets for the watermarks, two for a time window,
        one assignment for the first timestamps -- whatever the partition count -- all within
        one `plan_deadline`."""
        topic = spec.source.topic
        deadline = Deadline(self.plan_deadline, self.timeout)
        consumer = self.consumer(spec.source.bootstrap_servers)
        try:
            meta = consumer.list_topics(topic, timeout=deadline.left("metadata")).topics.get(topic)
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
            marks = all_watermarks(consumer, topic, list(chosen), bootstrap, timeout=deadline.left("watermarks"))
            observed = {p: Observed(low=low, high=high) for p, (low, high) in marks.items()}
            times = read_times(spec, window_times(spec, as_of))  # whole aggregation windows
            if times is not None:
                observed = self._by_time(consumer, topic, observed, times, deadline)
            return count, observed
        except (KafkaException, RetriableFailure) as err:
            raise KafkaUnavailable(str(err)) from err
        finally:
            consumer.close()

    def _by_time(
        self, consumer: Consumer, topic: str, observed: dict[int, Observed], times: tuple[int, int], deadline: Deadline
    ) -> dict[int, Observed]:
        starts = self._offsets_for(consumer, topic, list(observed), times[0], deadline)
        ends = self._offsets_for(consumer, topic, list(observed), times[1], deadline)
        trimmed = {p: seen.low for p, seen in observed.items() if starts[p] == seen.low and seen.low > 0}
        firsts = self._timestamps_at(consumer, topic, trimmed, deadline) if trimmed else {}
        return {p: Observed(seen.low, seen.high, starts[p], ends[p], firsts.get(p)) for p, seen in observed.items()}

    def _offsets_for(
        self, consumer: Consumer, topic: str, parts: list[int], when_ms: int, deadline: Deadline
    ) -> dict[int, int]:
        found = offsets_for_times(consumer, topic, parts, when_ms, timeout=deadline.left("offsets_for_times"))
        return {p: PAST_END if offset < 0 else offset for p, offset in found.items()}

    def _timestamps_at(
        self, consumer: Consumer, topic: str, offsets: dict[int, int], deadline: Deadline
    ) -> dict[int, int | None]:
        """Timestamp of the first record at or after each offset, all partitions assigned at once
        (None for a partition whose record does not arrive in time)."""
        found: dict[int, int | None] = {}
        consumer.assign([TopicPartition(topic, p, offset) for p, offset in offsets.items()])
        try:
            wait = deadline.left("first timestamps")
            until = time.monotonic() + wait
            while len(found) < len(offsets) and (left := until - time.monotonic()) > 0:
                msg = consumer.poll(left)
                if msg is None:
                    break
                p = msg.partition()
                if msg.error() is not None or p is None or p in found:
                    continue
                _kind, stamp = msg.timestamp()
                found[p] = int(stamp) if stamp >= 0 else None
                consumer.pause([TopicPartition(topic, p)])
            return found
        finally:
            consumer.unassign()

    def retention(self, spec: EventReplaySpec) -> TopicRetention:
        """The source topic's time-based retention (describe_configs; one request)."""
        topic = spec.source.topic
        resource = ConfigResource(ResourceType.TOPIC, topic)
        admin = self.admin(spec.source.bootstrap_servers)  # referenced until the answer: a dropped client aborts it
        try:
            found = admin.describe_configs([resource], request_timeout=self.timeout)
            entries = found[resource].result(timeout=self.timeout)
        except KafkaException as err:
            raise KafkaUnavailable(f"configs of {topic}: {err}") from err
        policy = entries["cleanup.policy"].value if "cleanup.policy" in entries else "delete"
        ms = int(entries["retention.ms"].value) if "retention.ms" in entries else -1
        deletes = "delete" in (policy or "delete").split(",")
        return TopicRetention(retention_ms=ms if deletes and ms >= 0 else None)

    def delete_topics(self, bootstrap: str, names: list[str]) -> None:
        """Delete topics; one already gone is fine."""
        admin = self.admin(bootstrap)
        for name, future in admin.delete_topics(names, operation_timeout=self.timeout).items():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as err:
                if err.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise KafkaUnavailable(f"deleting topic {name}: {err}") from err

    def delete_groups(self, bootstrap: str, prefix: str) -> int:
        """Delete the consumer groups named `prefix` or `prefix-...`; how many there were."""
        admin = self.admin(bootstrap)
        try:
            listed = admin.list_consumer_groups(request_timeout=self.timeout).result(timeout=self.timeout)
            names = [g.group_id for g in listed.valid if g.group_id == prefix or g.group_id.startswith(f"{prefix}-")]
            futures = admin.delete_consumer_groups(names, request_timeout=self.timeout) if names else {}
            for future in futures.values():
                try:
                    future.result(timeout=self.timeout)
                except KafkaException as err:
                    if err.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                        raise
        except KafkaException as err:
            raise KafkaUnavailable(f"deleting consumer groups {prefix}*: {err}") from err
        return len(names)

    def writers(self, bootstrap: str, topics: list[str]) -> dict[str, set[str]]:
        """Per existing topic, the `er-replay-uid` of the first committed record of each non-empty
        partition ("" for a record without one): who already wrote a replay's output topics."""
        consumer = self.consumer(bootstrap)
        found: dict[str, set[str]] = {}
        try:
            meta = consumer.list_topics(timeout=self.timeout).topics
            for topic in topics:
                if topic not in meta:
                    continue
                marks = all_watermarks(consumer, topic, sorted(meta[topic].partitions), bootstrap, self.timeout)
                for p, (low, high) in sorted(marks.items()):
                    writer = self._writer_at(consumer, topic, p, low) if high > low else None
                    if writer is not None:
                        found.setdefault(topic, set()).add(writer)
            return found
        except (KafkaException, RetriableFailure) as err:
            raise KafkaUnavailable(str(err)) from err
        finally:
            consumer.close()

    def _writer_at(self, consumer: Consumer, topic: str, partition: int, offset: int) -> str | None:
        """The uid on the first committed record at or after `offset`; None when there is none."""
        consumer.assign([TopicPartition(topic, partition, offset)])
        try:
            msg = consumer.poll(self.timeout)
            if msg is None:
                return None  # only aborted records (or control markers) in the partition
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    return None
                raise KafkaUnavailable(f"reading {topic}/{partition}: {err.str()}")
            uid = header(msg.headers(), REPLAY_UID_HEADER)
            return uid.decode(errors="replace") if uid else ""
        finally:
            consumer.unassign()

    def retained_records(self, bootstrap: str, topic: str) -> int | None:
        """Records retained in `topic` (high - low over its partitions); None when it is missing."""
        deadline = Deadline(self.plan_deadline, self.timeout)
        consumer = self.consumer(bootstrap)
        try:
            meta = consumer.list_topics(topic, timeout=deadline.left("metadata")).topics.get(topic)
            if meta is None or meta.error is not None:
                return None
            marks = all_watermarks(
                consumer, topic, list(meta.partitions), bootstrap, timeout=deadline.left("watermarks")
            )
            return sum(high - low for low, high in marks.values())
        except (KafkaException, RetriableFailure) as err:
            raise KafkaUnavailable(str(err)) from err
        finally:
            consumer.close()

    def scan_results(self, bootstrap: str, topic: str, uid: str) -> ResultsScan | None:
        """An External replay's results topic, tallied (`results_scan`); None when it does not exist."""
        consumer = Consumer(
            {**planner_consumer_config(self._config(bootstrap), PLANNER_GROUP_ID), "enable.partition.eof": True}
        )
        try:
            return read_results(consumer, topic, uid, self.plan_deadline)
        except (KafkaException, RetriableFailure) as err:
            raise KafkaUnavailable(f"reading {topic}: {err}") from err
        finally:
            consumer.close()

    def consumer_lag(self, bootstrap: str, topic: str, groups: list[str]) -> dict[str, int]:
        """Per consumer group, its lag on `topic` (`consumer_lag.group_lags`)."""
        consumer = self.consumer(bootstrap)
        try:
            return group_lags(consumer, self.admin(bootstrap), topic, groups, self.timeout)
        except KafkaException as err:
            raise KafkaUnavailable(f"consumer group lag on {topic}: {err}") from err
        finally:
            consumer.close()

    def cluster_id(self, bootstrap: str) -> str:
        """The cluster as its sinks' ledger keys name it (`sink_keys.sink_cluster`, as promoters do)."""
        consumer = self.consumer(bootstrap)
        try:
            return sink_cluster(consumer.list_topics(timeout=self.timeout).cluster_id, bootstrap)
        except KafkaException as err:
            raise KafkaUnavailable(f"cluster metadata: {err}") from err
        finally:
            consumer.close()

    def ensure_topics(
        self, bootstrap: str, names: list[str], partitions: int, config: dict[str, str] | None = None
    ) -> None:
        """Create the sandbox and dead-letter topics (partitions as the source); existing is fine."""
        try:
            create_topics(self.admin(bootstrap), names, partitions, timeout=self.timeout, config=config)
        except RetriableFailure as err:
            raise KafkaUnavailable(str(err)) from err
