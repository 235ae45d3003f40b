"""How every process prints its log: one handler on the root logger, text or JSON lines.

The operator (`--log-format`) and the worker (`EVENTREPLAY_LOG_FORMAT`) share it, so one log
pipeline parses both. JSON lines carry `time`, `level`, `logger`, `message`, and where kopf gives
them (its per-object loggers put the object's reference on the record as `k8s_ref`) the object's
`namespace` and `name`; a worker adds its `context` (`replay=ns/name partition=topic/0`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

TEXT, JSON = "text", "json"
LOG_FORMATS = (TEXT, JSON)
TEXT_PATTERN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The text line of the operator (a worker puts its context where the logger's name is)."""


def parse_log_format(value: str | None) -> str:
    """`text` (also for unset or empty) or `json`; anything else is a configuration error."""
    chosen = (value or TEXT).strip().lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"log format {value!r}: expected one of {', '.join(LOG_FORMATS)}")
    return chosen


def object_ref(record: logging.LogRecord) -> tuple[str, str] | None:
    """(namespace, name) of the object a kopf per-object logger wrote about, if any."""
    ref = getattr(record, "k8s_ref", None)
    if not isinstance(ref, Mapping) or not ref.get("name"):
        return None
    return str(ref.get("namespace") or ""), str(ref["name"])


class TextLines(logging.Formatter):
    """The text pattern, with `[namespace/name]` before the message of a per-object record."""

    def format(self, record: logging.LogRecord) -> str:
        ref = object_ref(record)
        if ref is None:
            return super().format(record)
        namespace, name = ref
        prefix = f"[{namespace}/{name}]" if namespace else f"[{name}]"
        tagged = logging.makeLogRecord(record.__dict__)  # never change the record other handlers see
        tagged.msg, tagged.args = f"{prefix} {record.getMessage()}", None
        return super().format(tagged)


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (a traceback goes into `exception`)."""

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.fields = dict(fields or {})

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.fields,
        }
        ref = object_ref(record)
        if ref is not None:
            line["namespace"], line["name"] = ref
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def install(
    log_format: str,
    *,
    level: int | str = logging.INFO,
    pattern: str = TEXT_PATTERN,
    fields: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Make one handler the root logger's only one: libraries (kopf included) that added their
    own would print every line twice."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines(fields) if parse_log_format(log_format) == JSON else TextLines(pattern))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings become records too: no stray line in another format
    return handler
