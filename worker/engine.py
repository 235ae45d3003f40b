"""Replay one partition's frozen range exactly once into the sandbox topic.

Loop: consume a batch -> validate -> transform -> classify against the ledger (one Redis round
trip) -> produce sandbox / dead-letter records -> every N records or T seconds commit the
transaction with the consumer position and the checkpoint as its commit metadata -> mirror the
checkpoint to Redis. A crash anywhere resumes from the last committed transaction: the ledger
marks left by the aborted attempt carry their offset, so they are recognised as our own.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import redis
from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from . import digest, kafka_io
from .contract.checkpoints import Checkpoint, now
from .contract.exit_codes import Fenced, PermanentFailure, RetriableFailure
from .contract.tasks import Task
from .ledger import ReplayLedger
from .metrics import WorkerMetrics
from .progress import ProgressMirror, connect_redis
from .transform import build, check_deterministic
from .validate import Rejected, Valid, Validator

log = logging.getLogger("eventreplay.worker")
Headers = list[tuple[str, str | bytes | None]]


@dataclass(slots=True)
class Prepared:
    """A batch validated and transformed, its ledger verdicts requested but not yet read."""

    outcomes: list[Any]  # (message, key, output) or (message, Rejected); see Engine._prepare
    sent: bool


_CONFLICT = {
    "C": "same id with other content earlier in this replay",
    "X": "same id with other content in the production ledger",
}


# ledger.id_digest and ledger.content_hash (BLAKE2b-128 and -64), as prototypes to copy.
_ID_HASH, _CONTENT_HASH = blake2b(digest_size=16), blake2b(digest_size=8)

_FENCED_CODES = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


def kafka_failure(err: KafkaException, what: str, producer: Producer | None = None) -> Exception:
    """Map a Kafka client error to the worker's failure classes."""
    kerr: KafkaError = err.args[0]
    if kerr.code() == KafkaError._FATAL and producer is not None:
        # produce() only says "fatal"; the transactional API reports the underlying cause.
        try:
            producer.abort_transaction(5)
        except KafkaException as cause:
            kerr = cause.args[0]
    if kerr.code() in _FENCED_CODES:
        return Fenced(f"{what}: fenced by a newer worker for this partition ({kerr.str()})")
    return RetriableFailure(f"{what}: {kerr.str()}")


class Engine:
    def __init__(self, task: Task) -> None:
        self.task = task
        self.src = task.source
        self.transform, self.user_transform = build(task.transform)
        self.identity = task.transform.function == "identity"
        self.validator = Validator(task.validation, task.as_of, needs_doc=task.transform.function != "identity")
        self.redis = connect_redis(task.dedup)
        self.mirror = ProgressMirror(self.redis, task)
        self.ledger = ReplayLedger(
            self.redis,
            ledger=task.dedup.ledger,
            uid=task.replay.uid,
            partition=self.src.partition,
            span=self.src.end_offset - self.src.start_offset,
            mode=task.dedup.mode,
            ttl_seconds=task.dedup.ttl_seconds,
            hash_content=task.dedup.hash_content,
        )
        self._determinism_checked = False
        self._carry: list[Message] = []  # consumed past a transaction's limit, for the next one
        self.admin, self.consumer, self.producer = kafka_io.new_clients(task)
        self.headers_base: Headers = [
            ("er-source-topic", self.src.topic.encode()),
            ("er-source-partition", str(self.src.partition).encode()),
            ("er-replay-uid", task.replay.uid.encode()),
        ]
        self._where = f"{self.src.topic}/{self.src.partition}"
        self.metrics = WorkerMetrics(task.replay.namespace, task.replay.name, self.src.topic, self.src.partition)

    # -- set-up ---------------------------------------------------------------------------------
    def _setup(self) -> Checkpoint:
        servers = self.task.kafka.bootstrap_servers
        count = kafka_io.partition_count(self.admin, self.src.topic, servers)
        if self.src.partition >= count:
            raise PermanentFailure(
                f"topic {self.src.topic!r} has no partition {self.src.partition} ({count} partitions)"
            )
        kafka_io.ensure_topics(
            self.admin, [self.task.output.sandbox_topic, self.task.output.dead_letter_topic], count, servers
        )
        try:
            # Fences any earlier worker with our transactional.id and aborts its open transaction.
            self.producer.init_transactions(60)
            committed = self.consumer.committed([TopicPartition(self.src.topic, self.src.partition)], timeout=30)[0]
        except KafkaException as err:
            raise kafka_failure(err, "initialising the transactional producer") from err
        ckpt = self._restore(committed)
        if ckpt.committed_offset >= self.src.end_offset:
            return ckpt
        low, high = kafka_io.watermarks(self.consumer, self.src.topic, self.src.partition, servers)
        if ckpt.committed_offset < low:
            raise PermanentFailure(
                f"retention expired: offset {ckpt.committed_offset} of {self._where} is below the log "
                f"start offset {low}; events {ckpt.committed_offset}..{low - 1} are gone"
            )
        if high < self.src.end_offset:
            raise PermanentFailure(
                f"end offset {self.src.end_offset} is beyond the log end {high} of {self._where}"
                " (was the topic recreated?)"
            )
        return ckpt

    def _restore(self, committed: TopicPartition) -> Checkpoint:
        start, end = self.src.start_offset, self.src.end_offset
        if committed.offset >= 0 and committed.metadata:
            ckpt = Checkpoint.from_json(committed.metadata)
            if (ckpt.start_offset, ckpt.end_offset) != (start, end):
                raise PermanentFailure(
                    f"the replay group committed range [{ckpt.start_offset}, {ckpt.end_offset}) for this "
                    f"partition; the task asks for [{start}, {end}): a frozen plan must not change"
                )
            log.info("resuming at offset %d (%d records done)", ckpt.committed_offset, ckpt.records)
            return ckpt
        return Checkpoint.fresh(self.src.partition, start, end)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> Checkpoint:
        ckpt = self._setup()
        self.metrics.resumed(ckpt)
        if ckpt.committed_offset < self.src.end_offset:
            self.consumer.assign([TopicPartition(self.src.topic, self.src.partition, ckpt.committed_offset)])
            while ckpt.committed_offset < self.src.end_offset:
                ckpt = self._transaction(ckpt)
        ckpt.state, ckpt.updated_at = "done", now()
        self.mirror.write(ckpt)
        self.consumer.close()
        return ckpt

    def _transaction(self, ckpt: Checkpoint) -> Checkpoint:
        tuning = self.task.tuning
        end = self.src.end_offset
        chain = digest.BlockDigest(bytes.fromhex(ckpt.digest) if ckpt.digest else digest.ZERO)
        nxt = ckpt.committed_offset
        limit = end  # lowered to a digest block boundary once the transaction is big or old enough
        records = 0
        began = last_progress = time.monotonic()
        pending: Prepared | None = None
        try:
            self.producer.begin_transaction()
            while nxt < limit:
                batch, nxt = self._next_batch(nxt, limit)
                if batch:
                    # Overlap: the ledger classifies this batch while the previous one is produced.
                    batch_began = time.perf_counter()
                    prepared = self._prepare(batch, ckpt)
                    if pending is not None:
                        self._finish(pending, ckpt, chain)
                    pending = prepared
                    self.metrics.batch(time.perf_counter() - batch_began)
                    records += len(batch)
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > tuning.stall_timeout_seconds:
                    raise RetriableFailure(
                        f"no progress for {tuning.stall_timeout_seconds:.0f}s at offset {nxt} (< end {end}): "
                        "an open transaction on the source may hold back the last stable offset"
                    )
                if limit == end and (
                    records >= tuning.transaction_max_records
                    or time.monotonic() - began >= tuning.transaction_max_seconds
                ):
                    # Commit on a block boundary: a checkpoint never falls inside a digest block.
                    limit = min(end, digest.block_end(nxt))
            if pending is not None:
                self._finish(pending, ckpt, chain)
            ckpt.committed_offset, ckpt.digest = nxt, chain.close().hex()
            ckpt.transactions += 1
            ckpt.updated_at = now()
            position = TopicPartition(self.src.topic, self.src.partition, nxt, metadata=ckpt.to_json().decode())
            self.producer.send_offsets_to_transaction([position], self.consumer.consumer_group_metadata(), 60)
            self.producer.commit_transaction(60)
        except KafkaException as err:
            raise kafka_failure(err, f"transaction ending at offset {nxt}", self.producer) from err
        self.metrics.committed(ckpt)
        self.mirror.write(ckpt)
        return ckpt

    def _next_batch(self, nxt: int, limit: int) -> tuple[list[Message], int]:
        """Records in [nxt, limit) and the next offset to read (at most `limit`).

        Messages at or past a limit below the end were consumed already: they are kept, in
        order, for the next transaction.
        """
        msgs = self._carry or self.consumer.consume(self.task.tuning.batch_size, timeout=0.5)
        self._carry = []
        if not msgs:
            return msgs, nxt
        last = msgs[-1].offset()
        # The common batch: only records, all below the limit (one partition: offsets ascend).
        if (
            last is not None
            and nxt <= (msgs[0].offset() or 0)
            and last < limit
            and not [m for m in msgs if m.error() is not None]
        ):
            return msgs, last + 1
        out: list[Message] = []
        for index, msg in enumerate(msgs):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    # The fetch position passed every record and control marker below this offset.
                    if (msg.offset() or 0) >= limit:
                        if limit < self.src.end_offset:
                            self._carry = msgs[index:]
                        return out, limit
                    continue
                if err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    raise PermanentFailure(f"retention expired while replaying at offset {nxt}: {err.str()}")
                if err.fatal():
                    raise RetriableFailure(f"consumer: {err.str()}")
                log.warning("consumer: %s", err.str())
                continue
            offset = msg.offset() or 0
            if offset >= limit:
                if limit < self.src.end_offset:
                    self._carry = msgs[index:]
                return out, limit
            if offset >= nxt:
                out.append(msg)
                nxt = offset + 1
        return out, nxt

    def _prepare(self, batch: list[Message], ckpt: Checkpoint) -> Prepared:
        """Validate and transform a batch, and send its candidates to the ledger.

        Outcomes are (message, key, output) for ledger candidates and (message, Rejected) for
        dead letters. This loop and `_finish` run once per event: the ledger record (`ledger.pack`)
        is built inline and the record timestamp is only read when the full validation path runs.
        """
        outcomes: list[Any] = []
        blob: list[bytes] = []
        fast, full = self.validator.check_fast, self.validator.check_full
        transform = None if self.identity else self.transform
        samples: list[tuple[dict[str, Any], bytes]] | None = None
        if self.user_transform and not self._determinism_checked:
            samples = []
        # Copying a keyed-size prototype is cheaper than blake2b(..., digest_size=n) per call.
        hashed, no_hash, id_proto, content_proto = self.ledger.hashed, bytes(8), _ID_HASH, _CONTENT_HASH
        bytes_in = 0
        add, pack_one = outcomes.append, blob.append
        for msg in batch:
            value = msg.value()
            res: Valid | Rejected | None = fast(value)
            if res is None:
                res = full(value, msg.timestamp()[1])
                if type(res) is Rejected:
                    if value:
                        bytes_in += len(value)
                    add((msg, res))
                    continue
            event_id, doc = res  # type: ignore[misc]
            assert value is not None
            bytes_in += len(value)
            if transform is None:
                out = value
            else:
                if samples is not None and len(samples) < 50:
                    samples.append((doc, value))
                try:
                    out = transform(doc, value)
                except Exception as err:  # noqa: BLE001 - user code: the event is dead-lettered with the error
                    add((msg, Rejected("transform", f"{type(err).__name__}: {err}"[:300])))
                    continue
            key = event_id.encode()
            add((msg, key, out))
            # ledger.pack, inlined: id digest (14 bytes), content hash (8), source offset (8).
            h = id_proto.copy()
            h.update(key)
            pack_one(h.digest()[:14])
            if hashed:
                h = content_proto.copy()
                h.update(value)
                pack_one(h.digest())
            else:
                pack_one(no_hash)
            pack_one(msg.offset().to_bytes(8, "big"))  # type: ignore[union-attr]
        ckpt.bytes_in += bytes_in
        if samples:  # checked on the first batch that has valid events, not merely the first batch
            check_deterministic(self.transform, self.task.transform.function, samples)
            self._determinism_checked = True
        sent = bool(blob)
        if sent:
            try:
                self.ledger.send(b"".join(blob))
            except redis.RedisError as err:
                raise RetriableFailure(f"dedup ledger: {err}") from err
        return Prepared(outcomes, sent)

    def _finish(self, prepared: Prepared, ckpt: Checkpoint, chain: digest.BlockDigest) -> None:
        """Receive the ledger's verdicts for a batch and produce its records in offset order."""
        try:
            statuses = self.ledger.receive() if prepared.sent else ""
        except redis.RedisError as err:
            raise RetriableFailure(f"dedup ledger: {err}") from err
        sandbox, partition, produce = self.task.output.sandbox_topic, self.src.partition, self.producer.produce
        base, offset_header = self.headers_base, "er-source-offset"
        # digest.BlockDigest.add, inlined: this loop runs once per emitted event.
        block, running, bits, sha256, fold = chain.block, chain.running, digest.BLOCK_BITS, hashlib.sha256, digest.fold
        emitted = duplicate = processed = bytes_out = 0
        i = 0
        for item in prepared.outcomes:
            if len(item) == 3:
                msg, key, out = item
                status = statuses[i]
                i += 1
                if status == "N":
                    offset = msg.offset()
                    headers = [*base, (offset_header, b"%d" % offset)]
                    try:
                        produce(sandbox, out, key, partition, headers=headers)
                    except BufferError:
                        self._produce_retry(sandbox, key, out, headers)
                    if offset >> bits != block:
                        if running is not None:
                            chain.state = fold(chain.state, running.digest())
                        block, running = offset >> bits, sha256()
                    running.update(  # type: ignore[union-attr]
                        b"".join((len(key).to_bytes(4, "big"), key, len(out).to_bytes(4, "big"), out))
                    )
                    emitted += 1
                    bytes_out += len(out)
                    continue
                if status == "D":
                    duplicate += 1
                    continue
                if status == "P":
                    processed += 1
                    continue
                rejected = Rejected("conflict", f"event id {key.decode()!r}: {_CONFLICT[status]}")
            else:
                msg, rejected = item
            ckpt.dead_lettered += 1
            ckpt.reasons[rejected.reason] = ckpt.reasons.get(rejected.reason, 0) + 1
            self._produce(self.task.output.dead_letter_topic, msg.key(), msg.value(), msg, rejected)
        ckpt.emitted += emitted
        ckpt.duplicate += duplicate
        ckpt.processed += processed
        ckpt.bytes_out += bytes_out
        chain.block, chain.running = block, running

    def _produce_retry(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        while True:
            self.producer.poll(0.05)
            try:
                self.producer.produce(topic, value, key, self.src.partition, headers=headers)
                return
            except BufferError:
                continue

    def _produce(self, topic: str, key: bytes | None, value: bytes | None, msg: Message, rejected: Rejected) -> None:
        headers: Headers = [
            *self.headers_base,
            ("er-source-offset", str(msg.offset()).encode()),
            ("er-reason", rejected.reason.encode()),
            ("er-error", rejected.message.encode()),
        ]
        try:
            self.producer.produce(topic, value, key, self.src.partition, headers=headers)
        except BufferError:
            self._produce_retry(topic, key, value, headers)
