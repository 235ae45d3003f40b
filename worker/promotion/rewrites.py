"""What production wrote into the destination since the report: the ids promotion leaves alone.

A report compares the destination up to its ends when reconciliation read it (`SinkMark`). Before
writing, the promoter reads the destination from that mark to its last stable offset now
(read_committed): an id with a record there that no promotion wrote (no `er-promoted-by`) was
rewritten by production after the report, and production's newer value is the truth. Promotion
skips such an id and counts and lists it (`PromotionCheckpoint.rewritten`) instead of overwriting
it with a correction computed against an older value.

Restarts stay exactly once: every sandbox record is judged once, in the transaction that commits
its offset with the counts; a restart judges only what no transaction committed, against a set
that has only grown (the tail is re-read from the mark at each start, then caught up before each
sandbox partition). Records a promotion wrote, this one included (a SIGKILLed attempt's committed
transactions, or an aborted one's, which read_committed never shows), carry `er-promoted-by` and
never count as production's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import msgspec
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from ..contract.headers import PROMOTED_BY_HEADER
from ..contract.kafka_clients import job_config, range_reader_config, watermarks
from ..contract.ownership import Headers, header
from ..contract.step_tasks import EventIdSource, PromoteTask
from ..contract.summaries import EventIdPlan, SinkMark
from ..contract.tasks import OffsetRange
from ..runtime import kafka_io
from ..runtime.canonical import event_id_of
from ..runtime.range_reader import RangeReader

log = logging.getLogger("eventreplay.promote")
Record = tuple[bytes | None, bytes | None, Headers]
"""(key, value, headers) of a destination record."""


def tail_ranges(mark: SinkMark, since: dict[int, int], logs: dict[int, tuple[int, int]]) -> list[OffsetRange]:
    """Per destination partition with records to read, [where reading stopped, its end now): at first the
    report's mark; a partition the mark does not know had no log then, and one retention shortened
    since starts at its log start. `logs`: (low, high) watermarks per partition, now."""
    out = []
    for p, (low, high) in sorted(logs.items()):
        start = since.get(p, max(low, mark.end_offsets.get(str(p), low)))
        if high > start:
            out.append(OffsetRange(partition=p, start_offset=start, end_offset=high))
    return out


def production_ids(records: Iterable[Record], spec: EventIdSource) -> set[str]:
    """The event ids of the records production wrote (no promotion's header); records without an id name nothing."""
    out = set()
    for key, value, headers in records:
        if header(headers, PROMOTED_BY_HEADER) is not None:
            continue
        event_id = event_id_of(key, value, spec, headers)
        if event_id is not None:
            out.add(event_id)
    return out


class SinkTail:
    """The destination past the report's mark, read incrementally: `ids` are production's rewrites so far."""

    def __init__(
        self, task: PromoteTask, admin: AdminClient, mark: SinkMark | msgspec.UnsetType, event_id: EventIdPlan
    ) -> None:
        self.task, self.admin, self.topic = task, admin, task.sink_topic
        self.spec = EventIdSource.model_validate(
            {"source": event_id.source, "field": event_id.field, "header": event_id.header}
        )
        self.ids: set[str] = set()
        self.since: dict[int, int] = {}
        self.mark = mark if isinstance(mark, SinkMark) and mark.topic == self.topic else None
        if self.mark is None:  # a report from before the mark, or of another topic: nothing to compare with
            log.warning("the report records no end of %s: production's rewrites are not re-checked", self.topic)
        self.consumer = Consumer(range_reader_config(job_config(task.kafka), task.group_id))

    def catch_up(self) -> set[str]:
        """Read what production committed since the last call (the first: since the report); the ids so far."""
        if self.mark is None:
            return self.ids
        servers = self.task.kafka.bootstrap_servers
        count = kafka_io.partition_count(self.admin, self.topic, servers)
        logs = {p: watermarks(self.consumer, self.topic, p, servers) for p in range(count)}
        for r in tail_ranges(self.mark, self.since, logs):
            self.ids |= self._read(r)
            self.since[r.partition] = r.end_offset
        return self.ids

    def _read(self, r: OffsetRange) -> set[str]:
        tuning = self.task.tuning
        reader = RangeReader(self.consumer, self.topic, r, tuning.batch_size, tuning.stall_timeout_seconds)
        found: set[str] = set()
        for batch in reader.batches():
            found |= production_ids(((m.key(), m.value(), m.headers()) for m in batch), self.spec)
        return found

    def close(self) -> None:
        self.consumer.close()
