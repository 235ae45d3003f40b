"""Event-time windows for windowed-aggregate replays (pure): which windows an event belongs to,
whether it is late, and the per-(window, key) accumulators.

Semantics, chosen to be deterministic for a bounded replay and to match Flink's event-time
windows where Flink itself is deterministic:
- windows start at multiples of the slide since the epoch (tumbling: slide = size) and hold
  [start, start + size); an event belongs to every window holding its event time;
- lateness is judged per source partition in offset order (the sandbox keeps both): the
  watermark is the largest event time seen before the event in its partition; the event is left
  out of a window when `window end + allowed lateness <= watermark` (Flink's rule for a window's
  last timestamp + allowed lateness against a bounded-out-of-orderness-0 watermark);
- `count` counts events, `sum`/`min`/`max` take numbers (ints stay ints), `distinctCount` counts
  distinct JSON values; a missing or non-numeric value leaves that aggregation alone and is counted;
- whole windows: given the replay window (`Requested`), only the windows overlapping it are
  results; of those, a window a partition read to the log's head may still receive events for
  (not closed by that partition's watermark) is incomplete: reported, never a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ..contract.combine_task import Aggregate, Requested
from ..contract.source_ref import parse
from ..contract.summaries import CombineCounts
from ..contract.whole_windows import WindowShape
from ..runtime.canonical import epoch_ms

Number = int | float


@dataclass
class Accumulator:
    count: int = 0
    sums: dict[str, Number] = field(default_factory=dict)
    mins: dict[str, Number] = field(default_factory=dict)
    maxs: dict[str, Number] = field(default_factory=dict)
    distinct: dict[str, set[bytes]] = field(default_factory=dict)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_starts(ts_ms: int, size_ms: int, slide_ms: int) -> list[int]:
    """Starts of every window [start, start + size) holding ts, oldest first."""
    return WindowShape(size_ms, slide_ms, 0).starts(ts_ms)


def _final(acc: Accumulator, function: str, name: str) -> Number | None:
    if function == "count":
        return acc.count
    if function == "sum":
        return acc.sums.get(name, 0)
    if function == "min":
        return acc.mins.get(name)
    if function == "max":
        return acc.maxs.get(name)
    return len(acc.distinct.get(name, ()))


def _number(value: Any) -> Number | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class WindowedAggregator:
    def __init__(self, spec: Aggregate) -> None:
        self.spec = spec
        self._time = parse(spec.event_time_field)  # a field path of the sandbox's value (`a.b.c`)
        self.shape = WindowShape.of(spec)
        self.size, self.lateness = self.shape.size_ms, self.shape.lateness_ms
        self.watermarks: dict[int, int] = {}
        self.windows: dict[tuple[int, str], Accumulator] = {}
        self.counts = CombineCounts()

    def add(self, partition: int, doc: dict[str, Any]) -> None:
        """One replayed event, in its partition's offset order."""
        self.counts.events += 1
        stamp = epoch_ms(self._time.read_time(doc))
        if stamp is None:
            self.counts.no_event_time += 1
            return
        key = ""
        if self.spec.key_field is not None:
            raw = doc.get(self.spec.key_field)
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                self.counts.no_key += 1
                return
            key = str(raw)
        ts = int(stamp)
        watermark = self.watermarks.get(partition)
        starts = self.shape.starts(ts)
        if watermark is not None:
            kept = [s for s in starts if s + self.size + self.lateness > watermark]
            if len(kept) < len(starts):
                self.counts.late_window_drops += len(starts) - len(kept)
                if not kept:
                    self.counts.late += 1
            starts = kept
        self.watermarks[partition] = ts if watermark is None else max(watermark, ts)
        for start in starts:
            self._update(self.windows.setdefault((start, key), Accumulator()), doc)

    def _update(self, acc: Accumulator, doc: dict[str, Any]) -> None:
        acc.count += 1
        for agg in self.spec.aggregations:
            if agg.function == "count":
                continue
            assert agg.field is not None
            value = doc.get(agg.field)
            if agg.function == "distinctCount":
                if value is None:
                    self.counts.skipped_values += 1
                    continue
                acc.distinct.setdefault(agg.name, set()).add(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
                continue
            number = _number(value)
            if number is None:
                self.counts.skipped_values += 1
            elif agg.function == "sum":
                acc.sums[agg.name] = acc.sums.get(agg.name, 0) + number
            elif agg.function == "min":
                acc.mins[agg.name] = min(acc.mins.get(agg.name, number), number)
            else:
                acc.maxs[agg.name] = max(acc.maxs.get(agg.name, number), number)

    def emitted(self, requested: Requested | None) -> tuple[list[dict[str, Any]], list[str]]:
        """The results to write and the starts of the overlapping windows left out as incomplete.

        None (an offset window): every window of the events read. Otherwise only the windows
        overlapping the replay window, each complete (the read range holds all its events) unless a
        partition read to the log's head has not passed it."""
        if requested is None:
            return self.results(), []
        heads = [self.watermarks[p] for p in requested.head_partitions if p in self.watermarks]
        keep: dict[tuple[int, str], Accumulator] = {}
        incomplete: set[int] = set()
        for (start, key), acc in self.windows.items():
            if not self.shape.overlaps(start, requested.from_ms, requested.to_ms):
                self.counts.outside += 1
            elif not all(self.shape.closed_by(start, mark) for mark in heads):
                self.counts.incomplete += 1
                incomplete.add(start)
            else:
                keep[(start, key)] = acc
        return self.results(keep), [iso(start) for start in sorted(incomplete)]

    def results(self, windows: dict[tuple[int, str], Accumulator] | None = None) -> list[dict[str, Any]]:
        """One result per (window, key) (of `windows`, default all), ordered by window start then key."""
        out = []
        for (start, key), acc in sorted((self.windows if windows is None else windows).items()):
            result: dict[str, Any] = {
                "id": f"{iso(start)}|{key}",
                "windowStart": iso(start),
                "windowEnd": iso(start + self.size),
                "key": key,
            }
            for agg in self.spec.aggregations:
                result[agg.name] = _final(acc, agg.function, agg.name)
            out.append(result)
        return out
