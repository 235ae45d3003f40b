"""The gap finder: which source events never reached the sink, grouped into outages.

Reads the sink's existing output (resolved exactly as reconciliation resolves it) into a
set of event ids, then the planned source ranges; a source record whose id is not in that set is
missing. Source values are read as the replay sees them: registry-framed ones (`avro`, `jsonSchema`)
go through the replay's own decode step (`runtime/formats.py`), and a value it would dead-letter is
counted (`sourceUndecodable`), never missing; an unreachable registry fails the finder retriably, as
it fails a replay. Writes nothing to Kafka: no sandbox, no ledger, no committed offsets (read-only
readers of a group that never commits); a watch's scan leaves its summary in Redis, last (`store`).
Memory grows with the sink ids in the window (a set of strings): it is meant for a day or a week
of a topic, not its whole history.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import orjson
import redis

from ..contract.exit_codes import RetriableFailure
from ..contract.gap_summary import GapSummary
from ..contract.gap_task import GapTask
from ..contract.names import GAP_FINDER_GROUP_ID
from ..contract.settings import redis_location
from ..contract.source_ref import parse
from ..contract.tasks import OffsetRange
from ..runtime.canonical import id_at
from ..runtime.formats import Rejected, as_read, decoder
from ..runtime.range_reader import check_ranges
from ..runtime.redis_connection import connect_redis
from ..runtime.step import RangeJob
from .grouping import Missing, group_gaps, outages

log = logging.getLogger("eventreplay.gaps")


class GapFinder(RangeJob):
    def __init__(self, task: GapTask) -> None:
        super().__init__(task.kafka, GAP_FINDER_GROUP_ID, task.tuning)
        self.task = task
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, Any]:
        try:
            summary = self._run()
        finally:
            self.consumer.close()
        self.store(summary)
        return summary

    def store(self, summary: dict[str, Any]) -> None:
        """A watch's scan: the summary in Redis for the operator (typed: what it will decode)."""
        target = self.task.summary
        if target is None:
            return
        body = GapSummary.from_json(orjson.dumps(summary)).to_json()
        try:
            connect_redis(target.redis, check_eviction=False).set(target.key, body, ex=target.redis.ttl_seconds)
        except redis.RedisError as err:
            raise RetriableFailure(f"Redis at {redis_location(target.redis.redis_url)}: {err}") from err

    def _run(self) -> dict[str, Any]:
        task, ex = self.task, self.task.existing
        existing = self.existing_ranges(ex)
        present = self._sink_ids(existing)
        source = check_ranges(self.consumer, self.admin, task.source_topic, list(task.source_ranges), self.servers)
        missing = self._missing(source, present)
        join_ms = task.join_seconds * 1000
        gaps = group_gaps(missing, join_ms)
        found = outages(gaps, join_ms)
        log.info(
            "%d source records, %d missing in %d gaps, %d outages",
            self.counts["sourceRecords"],
            len(missing),
            len(gaps),
            len(found),
        )
        return {
            "version": 1,
            "counts": dict(sorted(self.counts.items())),
            "missingIds": len({m.event_id for m in missing}),
            "existingTopic": ex.topic,
            "existing": [r.model_dump(by_alias=True) for r in existing],
            "gaps": [g.as_json(task.sample_size) for g in gaps],
            "outages": [w.as_json() for w in found],
        }

    def _sink_ids(self, ranges: list[OffsetRange]) -> set[str]:
        ids: set[str] = set()
        decode = decoder(self.task.sink_format, self.task.existing.topic)
        ref = self.task.event_id.ref  # parsed once, read per record
        for _partition, batch in self.batches(self.task.existing.topic, ranges):
            for msg in batch:
                event_id = id_at(ref, msg.key(), as_read(decode, msg.value()), msg.headers())
                if event_id is None:
                    self.counts["destinationUnidentified"] += 1
                    continue
                ids.add(event_id)
            self.counts["destinationRecords"] += len(batch)
        return ids

    def _missing(self, ranges: list[OffsetRange], present: set[str]) -> list[Missing]:
        # The source names its id the way the worker's validator reads it (key, header or field path).
        ref = parse(self.task.source_event_id_field)
        # Decoded whatever the id's source: a record the replay cannot decode never reaches a sink.
        decode = decoder(self.task.source_format, self.task.source_topic)
        out: list[Missing] = []
        for partition, batch in self.batches(self.task.source_topic, ranges):
            for msg in batch:
                value = msg.value() if decode is None else decode(msg.value())
                if isinstance(value, Rejected):
                    self.counts["sourceUndecodable"] += 1  # a replay dead-letters it: no output to miss
                    continue
                event_id = id_at(ref, msg.key(), value, msg.headers())
                if event_id is None:
                    # No id: a replay would dead-letter it, so no output can be missing for it.
                    self.counts["sourceWithoutId"] += 1
                elif event_id not in present:
                    _kind, stamp = msg.timestamp()
                    out.append(Missing(partition, msg.offset() or 0, max(int(stamp), 0), event_id))
            self.counts["sourceRecords"] += len(batch)
        self.counts["missing"] = len(out)
        return out
