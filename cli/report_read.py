"""Stream a reconciliation report's ids with their detail (pure: records in through a `ReportSource` port).

The report topic (`worker/reconciliation/reconcile.py`, pass 4) holds one record per changed,
missing or extra id: key = event id, value = the class, header `er-report-hash`; it names no
coordinates. So the detail of each id (its sandbox partition, event time, replayed and existing
value; an extra id has no replayed copy, only its existing value) is joined here: the report's ids
are taken `chunk` at a time and each chunk scans the report's sandbox (unless it holds extra ids
alone) and existing ranges once, keeping only that chunk's ids. Memory is bounded by `chunk`, whatever the
report's size; a report of N ids costs ceil(N / chunk) scans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

DELTA_CLASSES = ("changed", "missing")
CLASSES = (*DELTA_CLASSES, "extra")  # what the report topic lists
EXISTING = ("changed", "extra")  # the classes whose existing value is shown
CHUNK = 2000  # report ids held at a time
T = TypeVar("T")


@dataclass(frozen=True)
class Filters:
    classes: frozenset[str] = frozenset(CLASSES)
    partitions: frozenset[int] | None = None
    """Sandbox partitions (the partition the replayed copy sits in); None: every one."""
    since_ms: int | None = None
    until_ms: int | None = None
    """Event time (the replayed record's timestamp), since inclusive, until exclusive. Extra ids have
    no replayed record: a partition or time filter leaves them out."""


@dataclass(frozen=True)
class Replayed:
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None


@dataclass
class Entry:
    id: str
    cls: str
    replayed: Replayed | None = None
    existing: bytes | None = None
    """Changed and extra ids: the existing output's value."""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Changed ids: field path -> (existing, replayed)."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "class": self.cls}
        if self.replayed is not None:
            out |= {"partition": self.replayed.partition, "offset": self.replayed.offset}
            out["eventTimeMs"] = self.replayed.timestamp_ms
        if self.cls == "changed":
            out["changes"] = {k: {"existing": e, "replayed": r} for k, (e, r) in self.changes.items()}
        if self.cls == "extra":
            out["existing"] = _decoded(self.existing)
        return out


class ReportSource(Protocol):
    def report_ids(self) -> Iterator[tuple[str, str]]:
        """(id, class) of every record of the current report (other reports' records left out)."""
        ...

    def sandbox(self) -> Iterator[tuple[str, Replayed]]:
        """This replay's sandbox records, partitions then offsets ascending."""
        ...

    def existing(self) -> Iterator[tuple[str | None, bytes | None]]:
        """(event id, value) of the existing window, partitions then offsets ascending."""
        ...


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _decoded(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode(errors="replace")


def _flatten(doc: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(doc, dict) and doc:
        for key, value in doc.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix or "(value)"] = doc
    return out


def field_diff(existing: bytes | None, replayed: bytes | None) -> dict[str, tuple[Any, Any]]:
    """Per field path (dotted, JSON objects flattened): (existing, replayed) where they differ.
    A field absent on one side is None there; a value that is not JSON is one field, `(value)`."""
    old, new = _flatten(_decoded(existing), "", {}), _flatten(_decoded(replayed), "", {})
    return {k: (old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}


def matches(entry: Entry, filters: Filters) -> bool:
    """Partition and time filters (the class filter applies before the join)."""
    if filters.partitions is None and filters.since_ms is None and filters.until_ms is None:
        return True
    rep = entry.replayed
    if rep is None:
        return False  # neither partition nor event time known: a time or partition filter excludes it
    if filters.partitions is not None and rep.partition not in filters.partitions:
        return False
    if filters.since_ms is not None and rep.timestamp_ms < filters.since_ms:
        return False
    return filters.until_ms is None or rep.timestamp_ms < filters.until_ms


def _join(source: ReportSource, batch: list[tuple[str, str]]) -> list[Entry]:
    entries = {event_id: Entry(event_id, cls) for event_id, cls in batch}
    if any(e.cls in DELTA_CLASSES for e in entries.values()):  # extra ids have no sandbox copy
        for event_id, rec in source.sandbox():
            found = entries.get(event_id)
            if found is not None and found.replayed is None:  # the first copy wins, as in the report
                found.replayed = rec
    if any(e.cls in EXISTING for e in entries.values()):
        for existing_id, value in source.existing():
            found = entries.get(existing_id) if existing_id is not None else None
            if found is not None and found.cls in EXISTING:
                found.existing = value  # the last record of an id is the existing output
    for entry in entries.values():
        if entry.cls == "changed":
            entry.changes = field_diff(entry.existing, entry.replayed.value if entry.replayed else None)
    return list(entries.values())


def entries(source: ReportSource, filters: Filters, chunk: int = CHUNK) -> Iterator[Entry]:
    """Every id of the report passing the filters, in report-topic order, `chunk` ids in memory."""
    wanted = (pair for pair in source.report_ids() if pair[1] in filters.classes)
    for batch in chunks(wanted, chunk):
        yield from (entry for entry in _join(source, batch) if matches(entry, filters))
