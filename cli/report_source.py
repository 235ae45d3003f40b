"""The `ReportSource` over Kafka and Redis: the report topic, the sandbox and the existing window of one report.

Where things are: the report summary the reconciliation Job stored in Redis (`names.report_key`,
kept for the report's ttlSeconds) names the report topic and, in its plan, the exact sandbox and
existing ranges it compared and how existing ids are read; the report topic is compacted, so it
may still hold ids of older reports of the replay: only records whose `er-report-hash` header is
the summary's hash are this report.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import redis
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from eventreplay.worker.contract.headers import REPLAY_UID_HEADER, REPORT_HASH_HEADER
from eventreplay.worker.contract.kafka_clients import client_config, planner_consumer_config
from eventreplay.worker.contract.names import PLANNER_GROUP_ID, Tenant, report_key
from eventreplay.worker.contract.ownership import header
from eventreplay.worker.contract.source_ref import Headers
from eventreplay.worker.contract.step_tasks import event_id_ref
from eventreplay.worker.contract.summaries import EventIdPlan, PlannedRange, ReportSummary

from .errors import EXIT_FAILED, EXIT_NOT_FOUND, CliError
from .report_read import Replayed

POLL_SECONDS = 1.0
IDLE_POLLS = 30  # a range that yields nothing for this long is unreadable (deleted, compacted away)


def load_summary(client: redis.Redis, tenant: Tenant, uid: str) -> ReportSummary:
    """The report summary of replay `uid` whose keys carry `tenant` (`names.key_tenant`)."""
    raw = client.get(report_key(tenant, uid))
    if raw is None:
        raise CliError(
            f"the report of replay uid {uid} is no longer in Redis (past its ttlSeconds, or never made)",
            EXIT_NOT_FOUND,
        )
    return ReportSummary.from_json(raw)


def existing_id(key: bytes | None, value: bytes | None, spec: EventIdPlan, headers: Headers = None) -> str | None:
    """An existing record's event id, by the rule the report was made with (its plan's eventId)."""
    if spec.source == "key":
        return key.decode(errors="replace") if key else None
    if spec.source == "header":
        raw = event_id_ref(spec.source, spec.field, spec.header).read(None, key, headers)
    else:
        try:
            doc = orjson.loads(value) if value is not None else None
        except orjson.JSONDecodeError:
            return None
        raw = doc.get(spec.field) if isinstance(doc, dict) else None
    return None if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "" else str(raw)


class KafkaReportSource:
    """Reads one report (`summary`) from the cluster at `bootstrap` (each call scans afresh)."""

    def __init__(self, bootstrap: str, settings: dict[str, str], summary: ReportSummary) -> None:
        self.config = planner_consumer_config(client_config(bootstrap, settings), PLANNER_GROUP_ID)
        self.summary = summary
        self.uid = summary.report.plan.replay.uid.encode()

    def _read(self, topic: str, ranges: list[PlannedRange]) -> Iterator[Message]:
        """Every record of [start, end) of each range, partitions ascending."""
        consumer = Consumer(self.config)
        try:
            for r in sorted(ranges, key=lambda r: r.partition):
                yield from _range(consumer, topic, r)
        finally:
            consumer.close()

    def report_ids(self) -> Iterator[tuple[str, str]]:
        topic = self.summary.report_topic
        consumer = Consumer(self.config)
        try:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None:
                raise CliError(f"report topic {topic!r} not found", EXIT_NOT_FOUND)
            ranges = []
            for p in sorted(meta.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                ranges.append(PlannedRange(partition=p, start_offset=low, end_offset=high))
        finally:
            consumer.close()
        wanted = self.summary.report_hash.encode()
        for msg in self._read(topic, ranges):
            key, value = msg.key(), msg.value()
            if key and value and header(msg.headers() or [], REPORT_HASH_HEADER) == wanted:
                yield key.decode(errors="replace"), value.decode(errors="replace")

    def sandbox(self) -> Iterator[tuple[str, Replayed]]:
        plan = self.summary.report.plan
        for msg in self._read(plan.sandbox_topic, plan.sandbox):
            key = msg.key()
            if key and header(msg.headers() or [], REPLAY_UID_HEADER) == self.uid:
                rec = Replayed(msg.partition() or 0, msg.offset() or 0, msg.timestamp()[1], msg.value())
                yield key.decode(errors="replace"), rec

    def existing(self) -> Iterator[tuple[str | None, bytes | None]]:
        plan = self.summary.report.plan
        for msg in self._read(plan.existing_topic, plan.existing):
            yield existing_id(msg.key(), msg.value(), plan.event_id, msg.headers()), msg.value()


def _range(consumer: Consumer, topic: str, r: PlannedRange) -> Iterator[Message]:
    if r.end_offset <= r.start_offset:
        return
    consumer.assign([TopicPartition(topic, r.partition, r.start_offset)])
    idle = 0
    while True:
        msg = consumer.poll(POLL_SECONDS)
        if msg is None:
            # read_committed: a range may end in transaction markers no poll returns; the position passes them
            if consumer.position([TopicPartition(topic, r.partition)])[0].offset >= r.end_offset:
                return
            idle += 1
            if idle >= IDLE_POLLS:
                raise CliError(f"{topic}[{r.partition}]: nothing to read before offset {r.end_offset}", EXIT_FAILED)
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return
            raise CliError(f"{topic}[{r.partition}]: {err.str()}", EXIT_FAILED)
        idle = 0
        offset = msg.offset() or 0
        if offset >= r.end_offset:
            return
        yield msg
        if offset + 1 >= r.end_offset:
            return
