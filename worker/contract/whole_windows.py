"""Aggregation-window arithmetic both sides agree on: which windows hold an event time, which overlap a
replay window, and the read range that holds every event of those windows.

The operator plans the read range from it (`operator/read_range.py`); the combine Job judges with
it which windows to emit (`worker/windows/aggregator.py`). Times are epoch milliseconds; a window is
[start, start + size) with its start a multiple of the slide since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class WindowSpec(Protocol):
    """What a window shape is read from: the API's `spec.transform.aggregate` or the combine task's copy."""

    @property
    def window_seconds(self) -> int: ...
    @property
    def slide_seconds(self) -> int | None: ...
    @property
    def allowed_lateness_seconds(self) -> int: ...


@dataclass(frozen=True)
class WindowShape:
    size_ms: int
    slide_ms: int
    lateness_ms: int

    @classmethod
    def of(cls, spec: WindowSpec) -> WindowShape:
        return cls(
            spec.window_seconds * 1000,
            (spec.slide_seconds or spec.window_seconds) * 1000,
            spec.allowed_lateness_seconds * 1000,
        )

    def starts(self, ts_ms: int) -> list[int]:
        """Starts of every window holding `ts_ms`, oldest first."""
        last = ts_ms - ts_ms % self.slide_ms
        return list(range(last - self.size_ms + self.slide_ms, last + 1, self.slide_ms))

    def overlaps(self, start_ms: int, from_ms: int, to_ms: int) -> bool:
        """The window starting at `start_ms` shares time with [from_ms, to_ms)."""
        return start_ms < to_ms and start_ms + self.size_ms > from_ms

    def overlapping(self, from_ms: int, to_ms: int) -> tuple[int, int]:
        """(first, last) start of the windows overlapping [from_ms, to_ms) (to_ms > from_ms)."""
        first = (from_ms - self.size_ms) // self.slide_ms * self.slide_ms + self.slide_ms
        last = (to_ms - 1) // self.slide_ms * self.slide_ms
        return first, last

    def read_range(self, from_ms: int, to_ms: int) -> tuple[int, int]:
        """[from, to) of record times holding every event of every window overlapping [from_ms, to_ms):
        back to the first such window's start, forward to the last one's end, each widened by the
        allowed lateness (a late event of the last window arrives up to that long after its end)."""
        first, last = self.overlapping(from_ms, to_ms)
        return first - self.lateness_ms, last + self.size_ms + self.lateness_ms

    def closed_by(self, start_ms: int, watermark_ms: int) -> bool:
        """No event read after `watermark_ms` (the largest event time seen) can still count in the window."""
        return start_ms + self.size_ms + self.lateness_ms <= watermark_ms
