"""The combine Job of a windowed-aggregate replay: every replayed event of the sandbox -> one
result per (window, key) in the results topic, written exactly once.

The sandbox holds each valid, de-duplicated, transformed event exactly once, per source
partition in offset order (the replay workers' guarantee), so reading it partition by partition
gives the same results every time (`aggregator.py`). A time-window replay read whole windows (the
plan's read range): only the windows overlapping its replay window are written, and those the log's
head left incomplete are reported instead (`CombineSummary.incomplete_windows`). All results go
out in ONE transaction under a transactional.id stable per replay: a killed Job leaves nothing (aborted) or everything
(committed). A retried Job that finds the results topic already written compares: the same
results -> nothing is written again; other results -> a permanent failure (never a second copy).
The summary goes to Redis last (`names.combine_key`): its presence means the results are complete.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from typing import Any

import msgspec
import orjson
from confluent_kafka import KafkaException, Producer

from ..contract.combine_task import CombineTask
from ..contract.exit_codes import PermanentFailure
from ..contract.headers import REPLAY_UID_HEADER
from ..contract.kafka_clients import create_topics, transactional_producer_config
from ..contract.names import combine_key, combine_transactional_id
from ..contract.summaries import CombineSummary
from ..contract.tasks import OffsetRange
from ..runtime.produce import Headers, produce
from ..runtime.step import StepJob, completed_at
from ..runtime.transactional_loop import kafka_failure
from .aggregator import WindowedAggregator

log = logging.getLogger("eventreplay.combine")
Record = tuple[int, bytes, bytes]
"""(results partition, key = result id, value = sorted-key JSON)."""


def encode(results: list[dict[str, Any]], partitions: int) -> list[Record]:
    """Result records, each on the partition its id hashes to (crc32: the same everywhere)."""
    out = []
    for result in results:
        key = result["id"].encode()
        out.append((zlib.crc32(key) % partitions, key, orjson.dumps(result, option=orjson.OPT_SORT_KEYS)))
    return out


def digest(records: list[Record]) -> str:
    h = hashlib.sha256()
    for partition, key, value in sorted(records):
        h.update(b"%d\x00%s\x00%s\x00" % (partition, key, value))
    return h.hexdigest()


class Combiner(StepJob[CombineSummary]):
    def __init__(self, task: CombineTask) -> None:
        super().__init__(task)
        self.task = task

    def _run(self) -> CombineSummary:
        task = self.task
        sandbox = self.full_ranges(task.sandbox_topic)
        aggregator = self._aggregate(sandbox)
        create_topics(self.admin, [task.results_topic], len(sandbox), what="results topic")
        results, incomplete = aggregator.emitted(task.requested)
        records = encode(results, len(sandbox))
        written = self._existing()
        if not written:
            self._write(records)
        elif digest(written) != digest(records):
            raise PermanentFailure(
                f"results topic {task.results_topic} already holds {len(written)} other results; "
                "delete it (or create a new replay) to combine again"
            )
        summary = CombineSummary(
            results_topic=task.results_topic,
            results=len(records),
            windows=len({r["windowStart"] for r in results}),
            counts=aggregator.counts,
            digest=digest(records),
            rewritten=not written,
            completed_at=completed_at(),
            incomplete_windows=incomplete or msgspec.UNSET,
        )
        self.store(combine_key(task.replay.key_tenant, task.replay.uid), summary)
        log.info("%d results in %s (%s)", len(records), task.results_topic, "written" if not written else "found")
        return summary

    def _aggregate(self, sandbox: list[OffsetRange]) -> WindowedAggregator:
        """Every replayed event: ascending partitions, each in source offset order (lateness is per partition)."""
        aggregator = WindowedAggregator(self.task.aggregate)
        for partition, batch in self.batches(self.task.sandbox_topic, sandbox):
            for msg in batch:
                try:
                    doc = orjson.loads(msg.value() or b"")
                except orjson.JSONDecodeError:
                    doc = None
                if isinstance(doc, dict):
                    aggregator.add(partition, doc)
                else:
                    aggregator.counts.not_json += 1
        return aggregator

    def _existing(self) -> list[Record]:
        """What an earlier attempt committed to the results topic (read_committed)."""
        topic = self.task.results_topic
        out: list[Record] = []
        for partition, batch in self.batches(topic, self.full_ranges(topic)):
            out.extend((partition, msg.key() or b"", msg.value() or b"") for msg in batch)
        return out

    def _write(self, records: list[Record]) -> None:
        tid = combine_transactional_id(self.task.replay.uid)
        producer = Producer(transactional_producer_config(self.base, tid, **{"transaction.timeout.ms": 300_000}))
        try:
            producer.init_transactions(60)
            producer.begin_transaction()
            # Reconcile and promote read only records carrying this replay's uid.
            headers: Headers = [(REPLAY_UID_HEADER, self.task.replay.uid.encode())]
            for partition, key, value in records:
                produce(producer, self.task.results_topic, value, key, partition, headers=headers)
            producer.commit_transaction(120)
        except KafkaException as err:
            raise kafka_failure(err, "writing the results", producer) from err
