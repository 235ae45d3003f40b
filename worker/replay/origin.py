"""Where a dead letter came from: the origin a redrive carries onto what it writes.

A replay whose source is a dead-letter topic (`source.deadLetters`) reads the records another run
could not take, each with the coordinates of the record it was first read from:
- an EventReplay's dead letters carry `er-source-topic/partition/offset`, or `er-origin-*` when they
  are themselves a redrive's dead letters (the first origin wins, so a chain of redrives keeps it);
- Kafka Connect's carry `__connect.errors.topic/partition/offset` (with
  `errors.deadletterqueue.context.headers.enable=true`).
The redrive writes that origin as `er-origin-*` on its sandbox, dead-letter and so promoted records,
beside its own `er-source-*` (the dead letter it read, which the restart guard relies on). A record
without an origin, or a truncated dead letter (its value was cut when written), cannot be redriven:
it is dead-lettered with reason `origin`.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Message

from ..contract.headers import (
    ORIGIN_OFFSET_HEADER,
    ORIGIN_PARTITION_HEADER,
    ORIGIN_TOPIC_HEADER,
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    TRUNCATED_HEADER,
)
from ..contract.tasks import DeadLetterKind
from ..runtime.formats import Decode, Rejected
from ..runtime.produce import Headers

ORIGIN_REASON = "origin"
ORIGIN = (ORIGIN_TOPIC_HEADER, ORIGIN_PARTITION_HEADER, ORIGIN_OFFSET_HEADER)
CONNECT = ("__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset")
SOURCES: dict[DeadLetterKind, tuple[tuple[str, str, str], ...]] = {
    "eventReplay": (ORIGIN, (SOURCE_TOPIC_HEADER, SOURCE_PARTITION_HEADER, SOURCE_OFFSET_HEADER)),
    "connect": (CONNECT,),
}
"""Per kind, the header names an origin is read from, in the order they are tried."""

Origin = Callable[[Message], "Headers | Rejected"]


def _found(headers: dict[str, bytes | None], names: tuple[str, str, str]) -> Headers | None:
    values = [headers.get(name) for name in names]
    if any(not value for value in values):
        return None
    topic, partition, offset = values
    assert topic is not None and partition is not None and offset is not None
    if not (partition.isdigit() and offset.isdigit()):
        return None
    return list(zip(ORIGIN, (topic, partition, offset), strict=True))


def origin_reader(kind: DeadLetterKind | None) -> Origin | None:
    """The origin of each dead letter of `kind` as `er-origin-*` headers; None for a plain source."""
    if kind is None:
        return None
    tried = SOURCES[kind]

    def origin(msg: Message) -> Headers | Rejected:
        pairs: list[tuple[str, bytes | None]] = msg.headers() or []  # type: ignore[assignment]
        headers = dict(reversed(pairs))  # the first of a name wins
        if headers.get(TRUNCATED_HEADER) == b"true":
            return Rejected(ORIGIN_REASON, "a truncated dead letter (er-truncated): its value was cut when written")
        for names in tried:
            found = _found(headers, names)
            if found is not None:
                return found
        return Rejected(ORIGIN_REASON, f"no origin headers ({', '.join(tried[-1])}): not a dead letter of {kind}")

    return origin


Read = Callable[[Message], "bytes | Rejected | None"]


def read_step(decode: Decode | None, origin: Origin | None) -> Read | None:
    """How a record's value is read before validation: its origin checked (a redrive), then decoded (a
    registry format); None when the value is read as it is."""
    if origin is None:
        return None if decode is None else (lambda msg: decode(msg.value()))

    def read(msg: Message) -> bytes | Rejected | None:
        if type(found := origin(msg)) is Rejected:
            return found
        return msg.value() if decode is None else decode(msg.value())

    return read
