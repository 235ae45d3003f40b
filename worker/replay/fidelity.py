"""The sink record's shape written onto each sandbox record (`contract/sink_record.py`).

Only built when the replay keeps something of its source records (`SinkRecord.plain` is false):
the replay's per-record loop then adds what `carried` returns to the sandbox record's headers: the
kept source headers, a transform's `Record` headers, the sink key (`er-sink-key`) and the source
timestamp (`er-source-timestamp`).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from ..contract.headers import SINK_KEY_HEADER, SOURCE_TIMESTAMP_HEADER
from ..contract.sink_record import SOURCE_KEY, SinkRecord
from ..runtime.produce import Headers
from .transform import Shaped

Carry = Callable[[Message, bytes, "Shaped | None"], Headers]
"""(source message, written value as JSON, a `Record`'s key and headers) -> the headers that carry
the sink record's shape."""


def field_key(value: bytes, read: Callable[[object], object]) -> bytes | None:
    """The key a field of the written value gives: a string as UTF-8, another JSON value as its JSON text."""
    try:
        found = read(orjson.loads(value))
    except orjson.JSONDecodeError:
        return None
    if found is None:
        return None
    return found.encode() if isinstance(found, str) else orjson.dumps(found)


def carrier(shape: SinkRecord) -> Carry | None:
    """What a replay adds to each sandbox record for this shape; None for today's plain record."""
    if shape.plain:
        return None
    kept = shape.headers
    field = shape.key_field
    source_key, source_time = shape.key == SOURCE_KEY, shape.timestamp == "source"

    def carried(msg: Message, value: bytes, parts: Shaped | None) -> Headers:
        out: Headers = []
        if kept is not None:
            source: Headers = msg.headers() or []  # type: ignore[assignment]  # (name, bytes) pairs
            out += [(name, raw) for name, raw in source if kept.keeps(name)]
        if parts is not None:  # `sink.key: transform`: the Record's key and headers
            out += parts[1]
            out.append((SINK_KEY_HEADER, parts[0]))
        elif source_key:
            out.append((SINK_KEY_HEADER, msg.key()))
        elif field is not None:
            out.append((SINK_KEY_HEADER, field_key(value, field.read)))
        if source_time:
            kind, stamp = msg.timestamp()
            if kind != TIMESTAMP_NOT_AVAILABLE:
                out.append((SOURCE_TIMESTAMP_HEADER, b"%d" % stamp))
        return out

    return carried
