"""One batch of the replay: validate, transform, classify against the ledger, produce.

`prepare` validates, transforms (and encodes) a batch and sends its ledger request (one Redis round
trip, answered while the previous batch is produced; `withinReplay`: native marks, the ids already
marked go to the ledger script with the next batch); `finish` reads the ledger's verdicts and
produces the batch in offset order: emitted records to the sandbox (and the output digest),
duplicates and processed ones counted, everything else dead-lettered with its reason. Their loops
(`_screen`, `finish`) run once per event: keep them inlined; per-batch work stays outside them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import redis
from confluent_kafka import Message, Producer

from ..contract.checkpoints import Checkpoint
from ..contract.exit_codes import RetriableFailure
from ..contract.headers import (
    REPLAY_UID_HEADER,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
)
from ..contract.tasks import Task
from ..ledger.dedup import CONFLICTS, MARK_FORMAT, ReplayLedger, pack
from ..runtime import digest
from ..runtime.formats import Decode, Rejected
from ..runtime.produce import Headers, RecordTooLarge, produce
from ..runtime.sink_encoding import Encode
from .dead_letter import DeadLetters
from .fidelity import carrier
from .origin import origin_reader, read_step
from .transform import BuiltTransform, Shaped, check_deterministic, output_step
from .validate import Valid, Validator


@dataclass(slots=True)
class Prepared:
    """A batch validated and transformed, its ledger verdicts requested but not yet read."""

    outcomes: list[Any]  # (message, key, output) or (message, Rejected); see ReplayBatches.prepare
    ticket: int | None  # the ledger request of its candidates, None without any
    bytes_in: int  # counted when the batch is finished: it may be prepared during the previous commit
    statuses: str | None = None  # native marks' verdicts, read before the next batch is sent
    asked: list[int] | None = None  # candidates whose id was marked already: the script decides
    asked_ticket: int = -1  # the script request for them
    decoded: list[bytes] | None = None  # the candidates' decoded values (a registry format), in order
    unencoded: list[bytes] | None = None  # the candidates' outputs as JSON, before the sink's encoding, in order
    shaped: list[Shaped] | None = None  # the candidates' `Record` keys and headers (`sink.key: transform`)


# ledger.id_digest and ledger.content_hash (BLAKE2b-128 and -64), as prototypes to copy: copying a
# keyed-size prototype is cheaper than blake2b(..., digest_size=n) per event.
_ID_HASH, _CONTENT_HASH = blake2b(digest_size=16), blake2b(digest_size=8)
Samples = list[tuple[dict[str, Any], bytes]]
"""A user transform's first (document, value) pairs, to check it is deterministic."""


class ReplayBatches:
    def __init__(
        self,
        task: Task,
        producer: Producer,
        ledger: ReplayLedger,
        transform: BuiltTransform,
        validator: Validator,
        *,
        decode: Decode | None = None,
        encode: Encode | None = None,
    ) -> None:
        self.task, self.producer, self.ledger, self.transform = task, producer, ledger, transform
        self.validator, self.decode, self.encode = validator, decode, encode
        self.partition = task.source.partition
        self._determinism_checked = False
        self._unsettled: Prepared | None = None  # the last batch of native marks, verdicts unread
        self.carry = carrier(task.sink)  # None unless the sink keeps the source key, headers or time
        self.headers_base: Headers = [
            (SOURCE_TOPIC_HEADER, task.source.topic.encode()),
            (SOURCE_PARTITION_HEADER, str(task.source.partition).encode()),
            (REPLAY_UID_HEADER, task.replay.uid.encode()),
        ]
        self.origin = origin_reader(task.source.dead_letters)  # a redrive: each dead letter's origin
        self.read = read_step(decode, self.origin)
        dlq = task.output.dead_letter_topic
        self.dead = DeadLetters(producer, dlq, self.partition, self.headers_base, self.origin)

    def prepare(self, batch: list[Message]) -> Prepared:
        """Validate and transform a batch, and send its candidates to the ledger.

        `_screen` is the per-event loop, every per-batch lookup hoisted into its locals (`_marking`).
        Outcomes are (message, key, output) for ledger candidates and (message, Rejected) for dead
        letters. A user transform's first valid events are kept as samples to check it is deterministic.
        """
        samples: Samples | None = [] if self.transform.user_code and not self._determinism_checked else None
        prepared, blob = self._screen(batch, samples)
        if samples:  # checked on the first batch that has valid events, not merely the first batch
            check_deterministic(self.transform.fn, self.task.transform.function, samples)
            self._determinism_checked = True
        return self._send(prepared, blob)

    def _screen(self, batch: list[Message], samples: Samples | None) -> tuple[Prepared, list[bytes]]:
        blob: list[bytes] = []
        unencoded: list[bytes] | None = [] if self.encode is not None and self.carry is not None else None
        shaped: list[Shaped] | None = [] if self.transform.record else None
        decoded: list[bytes] | None = None if self.decode is None else []
        prepared = Prepared([], None, 0, decoded=decoded, unencoded=unencoded, shaped=shaped)
        add, pack_one, bytes_in = prepared.outcomes.append, blob.append, 0
        fast, full, reads_record = self.validator.check_fast, self.validator.check_full, self.validator.reads_record
        read, output = self.read, output_step(self.transform, self.encode, unencoded, shaped)
        native, hashed, mask, key_piece, pieces, mark = self._marking()
        id_proto, content_proto, no_hash = _ID_HASH, _CONTENT_HASH, bytes(8)
        for msg in batch:
            value = msg.value()
            if read is not None:  # a registry format (the decoded value's JSON from here on), a redrive
                if type(plain := read(msg)) is Rejected:
                    bytes_in += len(value or b"")
                    add((msg, plain))
                    continue
                value = plain  # type: ignore[assignment]
            res: Valid | Rejected | None = fast(value)
            if res is None:  # the record's timestamp (and key, headers) are read only on this path
                if reads_record:
                    res = full(value, msg.timestamp()[1], msg.key(), msg.headers())
                else:
                    res = full(value, msg.timestamp()[1])
                if type(res) is Rejected:
                    bytes_in += len(value or b"")
                    add((msg, res))
                    continue
            event_id, doc = res  # type: ignore[misc]
            assert value is not None
            bytes_in += len(value)
            out = value
            if output is not None:
                if samples is not None and len(samples) < 50:
                    samples.append((doc, value))
                if type(out := output(doc, value)) is Rejected:  # type: ignore[assignment]
                    add((msg, out))
                    continue
            key = event_id.encode()
            add((msg, key, out))
            if decoded is not None:
                decoded.append(value)
            h = id_proto.copy()
            h.update(key)
            d = h.digest()
            if hashed:
                h = content_proto.copy()
                h.update(value)
            offset = msg.offset().to_bytes(8, "big")  # type: ignore[union-attr]
            if native:  # ReplayLedger.mark_command, inlined: HSETNX <bucket> <id digest> <hash + offset>
                bucket = int.from_bytes(d[10:14], "big") & mask
                piece = pieces.get(bucket) or key_piece(bucket)
                pack_one(mark % (piece, d[:10], h.digest(), offset) if hashed else mark % (piece, d[:10], offset))
            else:  # ledger.pack, inlined: id digest (14 bytes), content hash (8), source offset (8)
                pack_one(d[:14])
                pack_one(h.digest() if hashed else no_hash)
                pack_one(offset)
        prepared.bytes_in = bytes_in
        return prepared, blob

    def _marking(self) -> tuple[bool, bool, int, Callable[[int], bytes], dict[int, bytes], bytes]:
        """What `_screen` builds a batch's ledger records with: native marks or not, content hashed or
        not, the bucket mask, the bucket heads known this epoch (and how to make one), the mark's format."""
        ledger = self.ledger
        pieces = ledger.start_marks() if ledger.native else {}
        return ledger.native, ledger.hashed, ledger.bucket_mask, ledger.key_piece, pieces, MARK_FORMAT[ledger.hashed]

    def _send(self, prepared: Prepared, blob: list[bytes]) -> Prepared:
        """Once per batch: settle the previous batch's native verdicts, then send this one's marks."""
        ledger, ticket = self.ledger, None
        try:
            if self._unsettled is not None:
                self._settle(self._unsettled)
            if blob and ledger.native:
                ticket = ledger.send_marks(blob, len(blob))
            elif blob:
                ticket = ledger.send(b"".join(blob))
        except redis.RedisError as err:
            raise RetriableFailure(f"dedup ledger: {err}") from err
        prepared.ticket = ticket
        if ticket is not None and ledger.native:
            self._unsettled = prepared
        return prepared

    def _settle(self, prepared: Prepared) -> None:
        """Read a batch's native verdicts; send the ids already marked to the script.

        Done before the next batch's marks go out, so the script's answer is not queued behind
        them: `finish` then finds it back already or nearly.
        """
        self._unsettled = None
        assert prepared.ticket is not None
        statuses = prepared.statuses = self.ledger.receive(prepared.ticket)
        if "?" in statuses:
            candidates = [item for item in prepared.outcomes if len(item) == 3]
            asked = prepared.asked = [i for i, status in enumerate(statuses) if status == "?"]
            hashed, decoded = self.ledger.hashed, prepared.decoded
            # The content hashed is what the marks hashed: the decoded value for a registry format.
            values = decoded if decoded is not None else [item[0].value() for item in candidates]
            prepared.asked_ticket = self.ledger.send(
                b"".join(pack(candidates[i][1].decode(), values[i], candidates[i][0].offset(), hashed) for i in asked)
            )

    def _verdicts(self, prepared: Prepared) -> str:
        """The ledger's verdicts for a batch's candidates, in order (the script's for those it was asked)."""
        try:
            if prepared is self._unsettled:  # the last batch: no next one settled it
                self._settle(prepared)
            if prepared.statuses is None:
                return "" if prepared.ticket is None else self.ledger.receive(prepared.ticket)
            if not prepared.asked:
                return prepared.statuses
            merged = list(prepared.statuses)
            for i, verdict in zip(prepared.asked, self.ledger.receive(prepared.asked_ticket), strict=True):
                merged[i] = verdict
            return "".join(merged)
        except redis.RedisError as err:
            raise RetriableFailure(f"dedup ledger: {err}") from err

    def finish(self, prepared: Prepared, ckpt: Checkpoint, chain: digest.BlockDigest) -> None:
        """Receive the ledger's verdicts for a batch and produce its records in offset order."""
        statuses = self._verdicts(prepared)
        sandbox, partition, producer = self.task.output.sandbox_topic, self.partition, self.producer
        base, offset_header, carry, origin = self.headers_base, SOURCE_OFFSET_HEADER, self.carry, self.origin
        unencoded, shaped = prepared.unencoded, prepared.shaped  # a field key reads JSON; a Record's parts
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
                    if origin is not None:
                        headers += origin(msg)  # type: ignore[arg-type]  # screened: never Rejected here
                    if carry is not None:
                        parts = None if shaped is None else shaped[i - 1]
                        headers += carry(msg, out if unencoded is None else unencoded[i - 1], parts)
                    try:
                        produce(producer, sandbox, out, key, partition, headers=headers)
                    except RecordTooLarge as err:  # above the producer's limit: a dead letter, not a retry
                        rejected = Rejected("oversized", f"the output does not fit: {err}"[:300])
                        self.dead.write(ckpt, msg, rejected)
                        continue
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
                rejected = Rejected("conflict", f"event id {key.decode()!r}: {CONFLICTS[status]}")
            else:
                msg, rejected = item
            self.dead.write(ckpt, msg, rejected)
        ckpt.bytes_in += prepared.bytes_in
        ckpt.emitted += emitted
        ckpt.duplicate += duplicate
        ckpt.processed += processed
        ckpt.bytes_out += bytes_out
        chain.block, chain.running = block, running
