"""Where an event's id or time is read from: the record key, one header, or a (nested) field of the value.

One grammar for every place that names such a source (`validation.eventIdField` and
`timestampField`, window event times, gap ids): `key` (the record key as UTF-8), `header:<name>`
(the first header of that name, as UTF-8), or a field path `a.b.c` walked through the decoded value's
objects. A top-level field is the common case and keeps the replay's fast path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

KEY = "key"
HEADER_PREFIX = "header:"
SOURCE_REF_PATTERN = r"^(key|header:[!-~]+|[^.:\s]+(\.[^.:\s]+)*)$"
SOURCE_REF_RULE = "`key`, `header:<name>`, or a field path `a.b.c` (no empty segment, no spaces or colons)"

Headers = Any
"""A record's headers as confluent_kafka's `Message.headers()` gives them: (name, bytes) pairs, or None."""


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A parsed source reference (`parse`)."""

    kind: Literal["key", "header", "field"]
    name: str = ""
    """The header name (kind `header`)."""
    path: tuple[str, ...] = ()
    """The field path (kind `field`)."""

    @property
    def top_level(self) -> str | None:
        """The field name when this is a top-level field of the value, else None."""
        return self.path[0] if self.kind == "field" and len(self.path) == 1 else None

    @property
    def reads_record(self) -> bool:
        """Whether reading it needs the record (key or headers), not only the value."""
        return self.kind != "field"

    def read(self, doc: Any, key: bytes | None = None, headers: Headers = None) -> Any:
        """The referenced value: a str for `key` and `header:`, any JSON value for a field; None if absent."""
        if self.kind == "field":
            for step in self.path:
                if not isinstance(doc, dict):
                    return None
                doc = doc.get(step)
            return doc
        raw = key if self.kind == KEY else next((v for k, v in headers or () if k == self.name), None)
        if raw is None:
            return None
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return None

    def read_time(self, doc: Any, key: bytes | None = None, headers: Headers = None) -> Any:
        """Like `read`, an event time: a key or header of digits only is epoch ms (they carry no JSON number)."""
        value = self.read(doc, key, headers)
        return int(value) if self.kind != "field" and isinstance(value, str) and value.isdigit() else value


@cache  # a handful of distinct references per process, read once per record
def parse(text: str) -> SourceRef:
    """The reference `text` names; ValueError unless it follows `SOURCE_REF_RULE`."""
    if text == KEY:
        return SourceRef("key")
    if text.startswith(HEADER_PREFIX):
        name = text[len(HEADER_PREFIX) :]
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"{text!r}: {SOURCE_REF_RULE}")
        return SourceRef("header", name=name)
    path = tuple(text.split("."))
    if not text or any(not step or ":" in step or any(c.isspace() for c in step) for step in path):
        raise ValueError(f"{text!r}: {SOURCE_REF_RULE}")
    return SourceRef("field", path=path)
