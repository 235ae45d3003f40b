"""Missing source records grouped into gaps (per partition) and outages (across partitions).

Pure: the gap finder (`gaps.py`) reads both sides and hands the missing records here. Records of
one partition, in offset order, stay in one gap while each is within `join_ms` of the previous
one's time; gaps of all partitions whose times come within `join_ms` of each other form one
outage, the unit a recovery replay is planned for (one offset range per partition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Missing:
    partition: int
    offset: int
    timestamp_ms: int
    event_id: str


@dataclass
class Gap:
    partition: int
    first_offset: int
    last_offset: int
    first_ms: int
    last_ms: int
    event_ids: list[str] = field(default_factory=list)

    def takes(self, record: Missing, join_ms: int) -> bool:
        return record.partition == self.partition and record.timestamp_ms - self.last_ms <= join_ms

    def add(self, record: Missing) -> None:
        self.last_offset = record.offset
        self.first_ms = min(self.first_ms, record.timestamp_ms)
        self.last_ms = max(self.last_ms, record.timestamp_ms)
        self.event_ids.append(record.event_id)

    def as_json(self, sample_size: int) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "firstOffset": self.first_offset,
            "lastOffset": self.last_offset,
            "firstTime": iso_ms(self.first_ms),
            "lastTime": iso_ms(self.last_ms),
            "missing": len(self.event_ids),
            "sampleIds": self.event_ids[:sample_size],
        }


@dataclass
class Outage:
    first_ms: int
    last_ms: int
    gaps: list[Gap] = field(default_factory=list)

    def ranges(self) -> list[tuple[int, int, int]]:
        """(partition, from, to) offsets per partition, `to` exclusive: what a recovery replay reads."""
        spans: dict[int, tuple[int, int]] = {}
        for gap in self.gaps:
            low, high = spans.get(gap.partition, (gap.first_offset, gap.last_offset))
            spans[gap.partition] = (min(low, gap.first_offset), max(high, gap.last_offset))
        return [(p, low, high + 1) for p, (low, high) in sorted(spans.items())]

    def as_json(self) -> dict[str, Any]:
        return {
            "from": iso_ms(self.first_ms),
            "to": iso_ms(self.last_ms + 1),
            "missing": sum(len(g.event_ids) for g in self.gaps),
            "partitions": [{"partition": p, "from": low, "to": high} for p, low, high in self.ranges()],
        }


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group_gaps(missing: list[Missing], join_ms: int) -> list[Gap]:
    """Gaps per partition, in (partition, offset) order."""
    gaps: list[Gap] = []
    for record in sorted(missing, key=lambda m: (m.partition, m.offset)):
        if gaps and gaps[-1].takes(record, join_ms):
            gaps[-1].add(record)
            continue
        gap = Gap(record.partition, record.offset, record.offset, record.timestamp_ms, record.timestamp_ms)
        gap.event_ids.append(record.event_id)
        gaps.append(gap)
    return gaps


def outages(gaps: list[Gap], join_ms: int) -> list[Outage]:
    """Gaps of every partition merged by time: overlapping or within `join_ms` of each other."""
    found: list[Outage] = []
    for gap in sorted(gaps, key=lambda g: (g.first_ms, g.partition, g.first_offset)):
        if found and gap.first_ms - found[-1].last_ms <= join_ms:
            current = found[-1]
            current.last_ms = max(current.last_ms, gap.last_ms)
            current.gaps.append(gap)
            continue
        found.append(Outage(gap.first_ms, gap.last_ms, [gap]))
    return found
