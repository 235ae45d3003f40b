"""The combine Job of a windowed-aggregate replay: every replayed event of the sandbox -> one
result per (window, key) in the results topic, written exactly once.

The sandbox holds each valid, de-duplicated, transformed event exactly once, per source
partition in offset order (the replay workers' guarantee), so reading it partition by partition
gives the same results every time (`windows.py`). All results go out in ONE transaction under a
transactional.id stable per replay: a killed Job leaves nothing (aborted) or everything
(committed). A retried Job that finds the results topic already written compares: the same
results -> nothing is written again; other results -> a permanent failure (never a second copy).
The summary goes to Redis last (`names.combine_key`): its presence means the results are complete.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from ..contract.combine_task import CombineTask
from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.headers import REPLAY_UID_HEADER
from ..contract.kafka_clients import create_topics, job_config, range_reader_config, transactional_producer_config
from ..contract.names import combine_key, combine_transactional_id
from ..contract.settings import redis_location
from ..contract.tasks import OffsetRange
from ..runtime.produce import Headers, produce
from ..runtime.range_reader import RangeReader, full_ranges
from ..runtime.redis_connection import connect_redis
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


class Combiner:
    def __init__(self, task: CombineTask) -> None:
        self.task = task
        self.redis = connect_redis(task.redis)
        self.base = job_config(task.kafka)
        self.admin = AdminClient(self.base)
        self.consumer = Consumer(range_reader_config(self.base, task.group_id))

    def run(self) -> dict[str, Any]:
        try:
            return self._run()
        except redis.RedisError as err:
            raise RetriableFailure(f"Redis at {redis_location(self.task.redis.redis_url)}: {err}") from err
        finally:
            self.consumer.close()

    def _run(self) -> dict[str, Any]:
        task, servers = self.task, self.task.kafka.bootstrap_servers
        sandbox = full_ranges(self.consumer, self.admin, task.sandbox_topic, servers)
        aggregator = WindowedAggregator(task.aggregate)
        for r in sandbox:  # ascending partitions, each in source offset order: lateness is per partition
            for batch in self._reader(task.sandbox_topic, r).batches():
                for msg in batch:
                    try:
                        doc = orjson.loads(msg.value() or b"")
                    except orjson.JSONDecodeError:
                        doc = None
                    if isinstance(doc, dict):
                        aggregator.add(r.partition, doc)
                    else:
                        aggregator.counts["notJson"] += 1
        create_topics(self.admin, [task.results_topic], len(sandbox), what="results topic")
        records = encode(aggregator.results(), len(sandbox))
        written = self._existing(len(sandbox))
        if not written:
            self._write(records)
        elif digest(written) != digest(records):
            raise PermanentFailure(
                f"results topic {task.results_topic} already holds {len(written)} other results; "
                "delete it (or create a new replay) to combine again"
            )
        summary = {
            "version": 1,
            "resultsTopic": task.results_topic,
            "results": len(records),
            "windows": len({r["windowStart"] for r in aggregator.results()}) if records else 0,
            "counts": dict(sorted(aggregator.counts.items())),
            "digest": digest(records),
            "rewritten": not written,
            "completedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.redis.set(
            combine_key(task.replay.uid), orjson.dumps(summary, option=orjson.OPT_SORT_KEYS), ex=task.redis.ttl_seconds
        )
        log.info("%d results in %s (%s)", len(records), task.results_topic, "written" if not written else "found")
        return summary

    def _reader(self, topic: str, r: OffsetRange) -> RangeReader:
        t = self.task.tuning
        return RangeReader(self.consumer, topic, r, t.batch_size, t.stall_timeout_seconds)

    def _existing(self, partitions: int) -> list[Record]:
        """What an earlier attempt committed to the results topic (read_committed)."""
        topic, servers = self.task.results_topic, self.task.kafka.bootstrap_servers
        out: list[Record] = []
        for r in full_ranges(self.consumer, self.admin, topic, servers):
            for batch in self._reader(topic, r).batches():
                out.extend((r.partition, msg.key() or b"", msg.value() or b"") for msg in batch)
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
