"""Reconcile the replayed output (sandbox) with the existing output (the sink over its window) per id.

Four passes, memory flat whatever the window (per-id state lives in Redis, `spill.py`):
1. sandbox, every partition in ascending order, read_committed, [low, high) at start -> the
   replayed side (first copy of an id wins; later copies are counted as duplicates);
2. the existing window, partitions ascending -> the existing side (the last record of an id in
   (partition, offset) order is "the existing output"; earlier ones are counted as superseded;
   records without an id are counted as unidentified);
3. bucket by bucket in id order: classify (unchanged / changed / missing / extra), both
   checksums, the smallest sample ids, the delta (changed + missing) per winning partition;
4. the delta and the extra ids to the compacted report topic (key = id, value = class, header
   er-report-hash; the hash is over the report, counts and samples, not over this list of ids),
   then the summary to Redis (last: its presence means the report is complete), only once the
   report is proven to account for every id (`report_invariants.py`: Redis may lose the working set).
A crash anywhere is recovered by running again: a new run id, the same data, the same report
hash; the next run drops partial working sets (else they expire by TTL) and report-topic records
are overwritten in place.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter

import msgspec
from confluent_kafka import KafkaError, Message, Producer

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.headers import REPLAY_UID_HEADER, REPORT_HASH_HEADER
from ..contract.kafka_clients import create_topics, idempotent_producer_config
from ..contract.names import report_key
from ..contract.sink_record import sink_key
from ..contract.step_tasks import ReconcileTask
from ..contract.summaries import (
    CanonicalPlan,
    ClassSamples,
    EventIdPlan,
    PlannedRange,
    ReplayRef,
    Report,
    ReportCounts,
    ReportPlan,
    ReportSummary,
    SinkMark,
)
from ..contract.tasks import OffsetRange
from ..ledger.sink import promoted_hashes
from ..runtime.canonical import (
    CLASSES,
    HASH_BYTES,
    UNCOMPARED,
    Checksum,
    Samples,
    bucket_bits,
    bucket_of,
    canonical_hash,
    classify,
    id_at,
    id_order,
    report_hash,
)
from ..runtime.formats import as_read, decoder
from ..runtime.kafka_io import cluster_id
from ..runtime.produce import produce
from ..runtime.spill import Spill, coords
from ..runtime.step import StepJob, completed_at
from .invariants import check

log = logging.getLogger("eventreplay.reconcile")
CHUNK = 256  # buckets per pipelined read: ~12k ids in memory at a time
CANONICAL_FORM = "sorted-key-json+headers/v1"
KEYED_FORM = "sorted-key-json+headers+key/v1"  # canonical.key: the record key is part of the content
DECODED_FORM = "{}-decoded+"
"""A registry format's values are compared decoded: the same content under two schema ids is unchanged."""
LISTED = ("changed", "missing", "extra")  # the classes the report topic lists, one record per id


def form_name(task: ReconcileTask) -> str:
    """The canonical form's name in the report: what the report compared (decoded values, the key)."""
    fmt = task.sink_format.format
    form = KEYED_FORM if task.canonical.key else CANONICAL_FORM
    return form if fmt == "json" else DECODED_FORM.format(fmt) + form


def _planned(ranges: list[OffsetRange]) -> list[PlannedRange]:
    return [PlannedRange(partition=r.partition, start_offset=r.start_offset, end_offset=r.end_offset) for r in ranges]


class Reconciler(StepJob[ReportSummary]):
    def __init__(self, task: ReconcileTask) -> None:
        super().__init__(task)
        self.task = task
        self.uid = task.replay.uid
        self.run_id = uuid.uuid4().hex[:12]
        self.counts: Counter[str] = Counter()
        self.names = tuple(task.canonical.headers)
        self.sink = task.sink_topic or task.existing.topic
        self.cluster = ""
        self.decode = decoder(task.sink_format, self.sink)  # None: JSON values, compared as they are

    def _run(self) -> ReportSummary:
        task = self.task
        sandbox = self.full_ranges(task.sandbox_topic)
        existing = self.existing_ranges(task.existing)
        mark = self._sink_mark()  # before reading it: a record written during the passes counts as since
        spans = [sum(r.end_offset - r.start_offset for r in side) for side in (sandbox, existing)]
        bits = bucket_bits(max(spans))
        self.cluster = cluster_id(self.admin, self.servers)
        spill = Spill(self.redis, task.replay.key_tenant, self.uid, self.run_id, self.target.ttl_seconds)
        dropped = spill.start()
        log.info("run %s: sandbox %d records, existing %d records, %d buckets", self.run_id, *spans, 1 << bits)
        if dropped:
            log.info("run %s: dropped %d keys earlier runs left (no stored report uses them)", self.run_id, dropped)
        self.plan = self._plan(sandbox, existing)  # before the passes: `_compare` puts it in the report
        self._spill_sandbox(spill, sandbox, bits)
        self._spill_existing(spill, existing, bits)
        report = self._compare(spill, bits)
        digest = report_hash(report)
        published, ranges = self._publish(spill, bits, digest, len(sandbox))
        check(self.counts, published, spill.kept())
        summary = ReportSummary(
            report_hash=digest,
            report=report,
            run=self.run_id,
            bucket_bits=bits,
            report_topic=task.report.topic,
            completed_at=completed_at(),
            sink_mark=mark,
            report_ranges=ranges,
        )
        self.store(report_key(task.replay.key_tenant, self.uid), summary)
        return summary

    def _plan(self, sandbox: list[OffsetRange], existing: list[OffsetRange]) -> ReportPlan:
        task = self.task
        return ReportPlan(
            replay=ReplayRef(namespace=task.replay.namespace, name=task.replay.name, uid=self.uid),
            sandbox_topic=task.sandbox_topic,
            sandbox=_planned(sandbox),
            existing_topic=task.existing.topic,
            existing=_planned(existing),
            event_id=EventIdPlan(source=task.event_id.source, field=task.event_id.field, header=task.event_id.header),
            canonical=CanonicalPlan(form=form_name(task), headers=sorted(set(self.names))),
            refresh=task.refresh,
        )

    def _sink_mark(self) -> SinkMark:
        """The destination's ends now (read_committed: its last stable offsets): what promotion re-reads from."""
        try:
            ends = self.full_ranges(self.sink)
        except PermanentFailure:  # no destination topic yet: all it will hold is written after the report
            ends = []
        return SinkMark(topic=self.sink, end_offsets={str(r.partition): r.end_offset for r in ends})

    # -- passes 1 and 2 -------------------------------------------------------------------------
    def _spill_sandbox(self, spill: Spill, ranges: list[OffsetRange], bits: int) -> None:
        # ownership.written_by, inlined (once per sandbox record): confluent-kafka hands a list or None.
        names, counts, mark = self.names, self.counts, (REPLAY_UID_HEADER, self.uid.encode())
        decode, keyed = self.decode, self.task.canonical.key
        # ascending partitions, then offsets: the first copy is the winner
        for partition, batch in self.batches(self.task.sandbox_topic, ranges):
            triples = []
            for msg in batch:
                headers = msg.headers()
                if not headers or mark not in headers:
                    counts["foreign"] += 1  # another replay's record: never part of this report
                    continue
                key = msg.key()
                if not key:
                    counts["replayedUnidentified"] += 1  # never written by the worker
                    continue
                event_id, raw = key.decode(), msg.value()
                if decode is not None:
                    raw = as_read(decode, raw)
                promoted_key = sink_key(key, headers) if keyed else UNCOMPARED  # what promotion would write
                value = canonical_hash(raw, headers, names, promoted_key) + coords(partition, msg.offset() or 0)
                triples.append((f"{bucket_of(event_id, bits):x}", event_id, value))
            counts["replayedRecords"] += len(triples)
            counts["duplicates"] += spill.write("s", "first", triples)

    def _spill_existing(self, spill: Spill, ranges: list[OffsetRange], bits: int) -> None:
        names, counts, decode, keyed = self.names, self.counts, self.decode, self.task.canonical.key
        ref = self.task.event_id.ref  # parsed once, read per record
        # ascending (partition, offset): the last write is the existing output
        for _partition, batch in self.batches(self.task.existing.topic, ranges):
            triples = []
            for msg in batch:
                value = msg.value()
                if decode is not None:  # the id and the content of the decoded value
                    value = as_read(decode, value)
                key, headers = msg.key(), msg.headers()
                event_id = id_at(ref, key, value, headers)
                if event_id is None:
                    counts["unidentified"] += 1
                    continue
                digest = canonical_hash(value, headers, names, key if keyed else UNCOMPARED)
                triples.append((f"{bucket_of(event_id, bits):x}", event_id, digest))
            counts["existingRecords"] += len(triples)
            counts["superseded"] += spill.write("e", "last", triples)

    # -- pass 3 ---------------------------------------------------------------------------------
    def _compare(self, spill: Spill, bits: int) -> Report:
        replayed, existing = Checksum(), Checksum()
        samples = {cls: Samples(self.task.report.sample_size) for cls in CLASSES}
        per_partition: Counter[int] = Counter()
        counts = self.counts
        total = 1 << bits
        for first in range(0, total, CHUNK):
            listed: list[tuple[int, str, str]] = []  # what the report topic lists: delta and extra ids
            rows = []
            for i, (side_s, side_e) in enumerate(spill.read_buckets(first, min(CHUNK, total - first))):
                ids = sorted({raw.decode() for raw in (*side_s, *side_e)}, key=id_order)
                rows += [
                    (first + i, event_id, side_s.get(event_id.encode()), side_e.get(event_id.encode()))
                    for event_id in ids
                ]
            candidates = [event_id for _, event_id, sv, ev in rows if sv is not None and sv[:HASH_BYTES] != ev]
            promoted = promoted_hashes(self.redis, self.cluster, self.sink, candidates)
            for bucket, event_id, sv, ev in rows:
                mine = None if sv is None else sv[:HASH_BYTES]
                if mine is not None:
                    replayed.add(event_id, mine)
                if ev is not None:
                    existing.add(event_id, ev)
                cls = classify(mine, ev)
                if cls in ("changed", "missing") and mine is not None and promoted.get(event_id) == mine.hex():
                    # another promotion already wrote this content (its record may lie outside the
                    # existing window, stamped with its promotion time): nothing to correct
                    cls = "unchanged"
                    counts["alreadyPromoted"] += 1
                counts[cls] += 1
                samples[cls].add(event_id)
                if cls in LISTED:
                    listed.append((bucket, event_id, cls))
                if cls in ("changed", "missing"):
                    assert sv is not None
                    per_partition[int.from_bytes(sv[HASH_BYTES : HASH_BYTES + 4], "big")] += 1
            spill.write_listed(listed)
        counts["replayedIds"], counts["existingIds"] = replayed.count, existing.count
        return Report(
            counts=self._counts(),
            replayed_checksum=replayed.hexdigest(),
            existing_checksum=existing.hexdigest(),
            samples=ClassSamples(
                unchanged=samples["unchanged"].ids,
                changed=samples["changed"].ids,
                missing=samples["missing"].ids,
                extra=samples["extra"].ids,
            ),
            delta_by_partition={str(p): n for p, n in sorted(per_partition.items())},
            plan=self.plan,
        )

    def _counts(self) -> ReportCounts:
        """Every count, 0 when never met (`foreign` at 0 is then omitted: a clean sandbox's report keeps its hash)."""
        names = (f.encode_name for f in msgspec.structs.fields(ReportCounts))
        return msgspec.convert({name: self.counts[name] for name in names}, ReportCounts)

    # -- pass 4 ---------------------------------------------------------------------------------
    def _publish(
        self, spill: Spill, bits: int, digest: str, partitions: int
    ) -> tuple[Counter[str], list[PlannedRange]]:
        """The delta and the extra ids to the report topic; how many ids of each class it holds, and
        the offsets they were written at."""
        topic = self.task.report.topic
        compacted = {"cleanup.policy": "compact"}
        create_topics(self.admin, [topic], max(1, partitions), config=compacted, what="report topic")
        producer = Producer(idempotent_producer_config(self.base))
        failed: list[str] = []
        offsets: dict[int, tuple[int, int]] = {}

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                failed.append(err.str())
                return
            # So status can say where the report lives: any tool reads exactly these records.
            partition, offset = msg.partition(), msg.offset()
            if partition is None or offset is None:
                return  # a delivered record always has both; the client's types allow neither
            low, high = offsets.get(partition, (offset, offset))
            offsets[partition] = (min(low, offset), max(high, offset))

        headers: list[tuple[str, str | bytes | None]] = [
            (REPORT_HASH_HEADER, digest.encode()),
            (REPLAY_UID_HEADER, self.uid.encode()),
        ]
        total, published = 1 << bits, Counter[str]()
        for first in range(0, total, CHUNK):
            for bucket in spill.listed_buckets(first, min(CHUNK, total - first)):
                for event_id, cls in bucket.items():
                    produce(producer, topic, cls, event_id, headers=headers, on_delivery=delivered)
                    published[cls.decode()] += 1
            producer.poll(0)
        if producer.flush(120) or failed:
            raise RetriableFailure(f"report topic {topic!r}: {failed[0] if failed else 'records still queued'}")
        ranges = [
            PlannedRange(partition=p, start_offset=lo, end_offset=hi + 1) for p, (lo, hi) in sorted(offsets.items())
        ]
        return published, ranges
