"""Kafka reading for reconciliation and promotion: range planning and bounded range reads.

Ranges are [start, end) offsets resolved once at start (D4): the end is reached when the fetch
position passes it (EOF or a record at/after it), never by waiting for a record at end - 1,
since transaction markers and compaction leave holes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.kafka_clients import offsets_for_times, watermarks
from ..contract.step_tasks import ExistingOutput, TimeWindow
from ..contract.tasks import OffsetRange
from . import kafka_io


def full_ranges(consumer: Consumer, admin: AdminClient, topic: str, servers: str) -> list[OffsetRange]:
    """[low, high) watermarks of every partition of a topic, now."""
    count = kafka_io.partition_count(admin, topic, servers)
    out = []
    for p in range(count):
        low, high = watermarks(consumer, topic, p, servers)
        out.append(OffsetRange(partition=p, start_offset=low, end_offset=high))
    return out


def check_ranges(
    consumer: Consumer, admin: AdminClient, topic: str, ranges: list[OffsetRange], servers: str
) -> list[OffsetRange]:
    """Explicit ranges must lie inside the log: below the start the data is gone (retention)."""
    count = kafka_io.partition_count(admin, topic, servers)
    for r in ranges:
        if r.partition >= count:
            raise PermanentFailure(f"topic {topic!r} has no partition {r.partition} ({count} partitions)")
        low, high = watermarks(consumer, topic, r.partition, servers)
        if r.start_offset < low and r.end_offset > r.start_offset:
            raise PermanentFailure(
                f"retention expired: {topic}/{r.partition} starts at {low}, the range at {r.start_offset}"
            )
        if r.end_offset > high:
            raise PermanentFailure(f"range end {r.end_offset} is beyond the log end {high} of {topic}/{r.partition}")
    return sorted(ranges, key=lambda r: r.partition)


def resolve_window(
    consumer: Consumer, admin: AdminClient, topic: str, window: TimeWindow, servers: str
) -> list[OffsetRange]:
    """[first offset with time >= from - slack, first offset with time >= to + slack) per partition.

    offsets_for_times answers -1 when no record is that late: the bound is then the high watermark.
    """
    full = full_ranges(consumer, admin, topic, servers)
    spans = {r.partition: r for r in full}
    bounds = []
    for stamp in window.bounds_ms:
        found = offsets_for_times(consumer, topic, list(spans), stamp)
        bounds.append({p: spans[p].end_offset if o < 0 else max(o, spans[p].start_offset) for p, o in found.items()})
    return [
        OffsetRange(
            partition=r.partition, start_offset=bounds[0][r.partition], end_offset=max(b[r.partition] for b in bounds)
        )
        for r in full
    ]


def existing_ranges(
    consumer: Consumer, admin: AdminClient, existing: ExistingOutput, servers: str
) -> list[OffsetRange]:
    """The existing output's ranges: explicit offsets (checked) or a time window (resolved)."""
    if existing.offsets is not None:
        return check_ranges(consumer, admin, existing.topic, list(existing.offsets), servers)
    assert existing.timestamps is not None
    return resolve_window(consumer, admin, existing.topic, existing.timestamps, servers)


class RangeReader:
    """Committed records of one partition range, batch by batch, with a stall timeout."""

    def __init__(self, consumer: Consumer, topic: str, r: OffsetRange, batch: int, stall: float) -> None:
        self.consumer, self.topic, self.range = consumer, topic, r
        self.batch, self.stall = batch, stall
        self.next = r.start_offset
        self._progress = time.monotonic()

    def start(self, offset: int) -> None:
        self.next = offset
        self._progress = time.monotonic()
        if offset < self.range.end_offset:
            self.consumer.assign([TopicPartition(self.topic, self.range.partition, offset)])

    @property
    def done(self) -> bool:
        return self.next >= self.range.end_offset

    def next_batch(self) -> list[Message]:
        """Records in [next, end) from one consume call; advances `next` past what it saw."""
        end, out = self.range.end_offset, []
        # consume() returns early only on a full batch: a short timeout keeps range ends quick.
        for msg in self.consumer.consume(self.batch, timeout=0.1):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    if (msg.offset() or 0) >= end:
                        self.next = end
                    continue
                if err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    raise PermanentFailure(f"retention expired reading {self.topic} at {self.next}: {err.str()}")
                raise RetriableFailure(f"consumer on {self.topic}: {err.str()}")
            offset = msg.offset() or 0
            if offset >= end:
                self.next = end
                break
            if offset >= self.next:
                out.append(msg)
                self.next = offset + 1
        if out or self.done:
            self._progress = time.monotonic()
        elif time.monotonic() - self._progress > self.stall:
            raise RetriableFailure(
                f"no progress for {self.stall:.0f}s on {self.topic}/{self.range.partition} at offset "
                f"{self.next} (< end {end}): an open transaction may hold back the last stable offset"
            )
        return out

    def batches(self) -> Iterator[list[Message]]:
        self.start(self.next)
        while not self.done:
            got = self.next_batch()
            if got:
                yield got
