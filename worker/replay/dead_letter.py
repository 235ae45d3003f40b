"""What a dead letter carries: the source record's bytes with its reason (and, in a redrive, its
origin), or a truncated copy and a hash when they are too large to be written again.

A record above maxEventBytes (or one no producer limit admits) cannot be copied whole: writing it
would fail the same way, and a retried Job would fail on it forever. Its dead letter keeps the first
`COPY_BYTES` bytes plus the size and SHA-256 of the whole value (headers `er-value-bytes`,
`er-value-sha256`, `er-truncated`), so the record can be found and verified at its source offset.
"""

from __future__ import annotations

import hashlib

from confluent_kafka import Message, Producer

from ..contract.checkpoints import Checkpoint
from ..contract.headers import (
    ERROR_HEADER,
    REASON_HEADER,
    SHA256_HEADER,
    SIZE_HEADER,
    SOURCE_OFFSET_HEADER,
    TRUNCATED_HEADER,
)
from ..runtime.formats import Rejected
from ..runtime.produce import Headers, RecordTooLarge, produce
from .origin import Origin

COPY_BYTES = 65_536
"""How much of a too-large value its dead letter keeps."""


def truncated_copy(value: bytes | None, key: bytes | None) -> tuple[bytes | None, bytes | None, Headers]:
    """(value, key, headers) of the dead letter of a record too large to be copied whole."""
    if value is None:
        return None, _cut(key), []
    headers: Headers = [
        (TRUNCATED_HEADER, b"true"),
        (SIZE_HEADER, str(len(value)).encode()),
        (SHA256_HEADER, hashlib.sha256(value).hexdigest().encode()),
    ]
    return value[:COPY_BYTES], _cut(key), headers


def _cut(key: bytes | None) -> bytes | None:
    return key if key is None or len(key) <= COPY_BYTES else key[:COPY_BYTES]


class DeadLetters:
    """A partition's dead-letter writer: counts each one in the checkpoint and writes it."""

    def __init__(self, producer: Producer, topic: str, partition: int, base: Headers, origin: Origin | None) -> None:
        self.producer, self.topic, self.partition, self.base, self.origin = producer, topic, partition, base, origin

    def write(self, ckpt: Checkpoint, msg: Message, rejected: Rejected) -> None:
        ckpt.dead_lettered += 1
        ckpt.reasons[rejected.reason] = ckpt.reasons.get(rejected.reason, 0) + 1
        headers: Headers = [
            *self.base,
            (SOURCE_OFFSET_HEADER, str(msg.offset()).encode()),
            (REASON_HEADER, rejected.reason.encode()),
            (ERROR_HEADER, rejected.message.encode()),
        ]
        if self.origin is not None and type(found := self.origin(msg)) is not Rejected:
            headers += found  # type: ignore[arg-type]  # a later redrive of these keeps the first origin
        value, key = msg.value(), msg.key()
        if rejected.reason != "oversized":
            try:
                produce(self.producer, self.topic, value, key, self.partition, headers=headers)
                return
            except RecordTooLarge:
                pass  # a key and value within maxEventBytes whose headers or key do not fit
        value, key, extra = truncated_copy(value, key)
        produce(self.producer, self.topic, value, key, self.partition, headers=[*headers, *extra])
