"""How a replayed record is shaped for the sink: its key, the source headers it keeps, its timestamp.

`spec.sink.key`, `spec.sink.headers` and `spec.sink.timestamp`, resolved by the operator (defaults
applied) and carried in the replay task. The replay writes the shape onto each sandbox record as
headers (`headers.py`: the sink key, the source timestamp) beside the kept source headers; the
sandbox key stays the event id, so every reader of the sandbox finds the id where it always did,
and promotion applies the shape when it writes the sink record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .headers import RESERVED_PREFIX, SINK_KEY_HEADER
from .model import Contract
from .source_ref import SourceRef, parse

EVENT_ID = "eventId"
SOURCE_KEY = "sourceKey"
TRANSFORM_KEY = "transform"
FIELD_PREFIX = "field:"
SINK_KEY_PATTERN = r"^(eventId|sourceKey|transform|field:[^.:\s]+(\.[^.:\s]+)*)$"
SINK_KEY_RULE = (
    "`eventId`, `sourceKey`, `field:<path>` (a field path `a.b.c` of the written value), or `transform` "
    "(the transform returns the whole record: `contract/transform_record.py`)"
)
HEADER_NAME_PATTERN = r"^[!-~]{1,249}$"
ALLOW_OR_DENY = "headers: set exactly one of allow or deny"

Timestamp = Literal["source", "replay"]


class HeaderFilter(Contract):
    """Which source headers a sink record keeps: only those `allow` names, or all but the `deny` ones."""

    allow: list[str] | None = Field(default=None, max_length=100)
    deny: list[str] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> HeaderFilter:
        if (self.allow is None) == (self.deny is None):
            raise ValueError(ALLOW_OR_DENY)
        return self

    def keeps(self, name: str) -> bool:
        if name.startswith(RESERVED_PREFIX):
            return False
        return name in self.allow if self.allow is not None else name not in (self.deny or ())


KEEP_ALL = HeaderFilter(deny=[])


class SinkRecord(Contract):
    """The shape of a sink record; the default is today's: keyed by event id, the replay's headers
    only, stamped when promoted."""

    key: str = Field(default=EVENT_ID, pattern=SINK_KEY_PATTERN, description=SINK_KEY_RULE)
    headers: HeaderFilter | None = Field(default=None, description="Source headers kept; None: none.")
    timestamp: Timestamp = Field(default="replay", description="`source`: the source record's; `replay`: now.")

    @property
    def plain(self) -> bool:
        """Today's shape: nothing to carry from the source record (the replay's hot path stays as it was)."""
        return self.key == EVENT_ID and self.headers is None and self.timestamp == "replay"

    @property
    def from_transform(self) -> bool:
        """The transform returns the record (value, key, headers), not only its value."""
        return self.key == TRANSFORM_KEY

    @property
    def key_field(self) -> SourceRef | None:
        """The field path the key is read from (`field:<path>`), else None."""
        return parse(self.key[len(FIELD_PREFIX) :]) if self.key.startswith(FIELD_PREFIX) else None


def sink_key(key: bytes | None, headers: Any) -> bytes | None:
    """The key a sandbox record (`key`, `headers`: confluent-kafka's (name, bytes) pairs or None) is
    promoted with: its `er-sink-key` header's value when it carries one (a None value: a null key),
    else its own key, the event id."""
    for name, raw in headers or ():
        if name == SINK_KEY_HEADER:
            key = raw  # a record carries one; were there more, the last would win
    return key


def resolve(key: str, headers: HeaderFilter | None, timestamp: Timestamp | None) -> SinkRecord:
    """The shape with its defaults: choosing a key (`sourceKey`, `field:`, `transform`) keeps the source's
    headers and timestamp unless told otherwise; the event id keeps today's record."""
    fidelity = key != EVENT_ID
    return SinkRecord(
        key=key,
        headers=headers if headers is not None else (KEEP_ALL if fidelity else None),
        timestamp=timestamp or ("source" if fidelity else "replay"),
    )
