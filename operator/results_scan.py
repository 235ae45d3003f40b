"""Reading an External aggregate replay's results topic once: what an external job (Flink) wrote there.

The operator reads it whole (read_committed) when the user signals the results complete, and tallies
only what reconciliation relies on: every record keyed by a result id `<windowStart>|<key>` and
carrying this replay's `er-replay-uid` header. The tally is pure (`tally`); the read is not.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.headers import REPLAY_UID_HEADER
from eventreplay.worker.contract.kafka_clients import all_watermarks
from eventreplay.worker.contract.ownership import header


@dataclass(frozen=True)
class ResultsScan:
    """What the results topic holds, as far as this replay is concerned."""

    records: int
    foreign: int
    """Records without this replay's er-replay-uid (another writer, or a job that did not stamp them)."""
    unkeyed: int
    """Records without a result id (key)."""
    results: int
    """Distinct result ids (a job run twice writes each again: reconciliation keeps the first copy)."""
    windows: int
    """Distinct window starts among the result ids."""


def tally(records: Iterable[tuple[bytes | None, bytes | None]], uid: str) -> ResultsScan:
    """(key, er-replay-uid header) of every record -> the counts the step decides on."""
    mine, count, foreign, unkeyed = uid.encode(), 0, 0, 0
    ids: set[bytes] = set()
    for key, writer in records:
        count += 1
        if writer != mine:
            foreign += 1
        elif not key:
            unkeyed += 1
        else:
            ids.add(key)
    windows = {key.split(b"|", 1)[0] for key in ids}
    return ResultsScan(records=count, foreign=foreign, unkeyed=unkeyed, results=len(ids), windows=len(windows))


def read_results(consumer: Consumer, topic: str, uid: str, deadline: float) -> ResultsScan | None:
    """Every committed record of `topic`, tallied; None when the topic does not exist. `consumer`
    must report partition ends (enable.partition.eof); past `deadline` seconds, RetriableFailure."""
    meta = consumer.list_topics(topic, timeout=min(deadline, 10)).topics.get(topic)
    if meta is None or (meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        return None
    if meta.error is not None:
        raise RetriableFailure(f"metadata for {topic}: {meta.error}")
    marks = all_watermarks(consumer, topic, sorted(meta.partitions), topic, timeout=min(deadline, 10))
    seen: list[tuple[bytes | None, bytes | None]] = []
    until = time.monotonic() + deadline
    for partition, (low, high) in sorted(marks.items()):
        if high > low:
            seen.extend(_partition(consumer, TopicPartition(topic, partition, low), high, until))
    return tally(seen, uid)


def _partition(
    consumer: Consumer, start: TopicPartition, high: int, until: float
) -> list[tuple[bytes | None, bytes | None]]:
    """One partition from `start` to its end (the EOF event: markers and aborted records are never delivered)."""
    consumer.assign([start])
    out: list[tuple[bytes | None, bytes | None]] = []
    try:
        while time.monotonic() < until:
            for msg in consumer.consume(1000, timeout=0.2):
                err = msg.error()
                if err is not None and err.code() == KafkaError._PARTITION_EOF:
                    return out
                if err is not None:
                    raise RetriableFailure(f"reading {start.topic}/{start.partition}: {err.str()}")
                out.append((msg.key(), header(msg.headers(), REPLAY_UID_HEADER)))
                if (msg.offset() or 0) + 1 >= high:
                    return out
        raise RetriableFailure(f"reading {start.topic}/{start.partition} took longer than the scan's deadline")
    finally:
        consumer.unassign()
