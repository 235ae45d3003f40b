"""Progress bars: pure rendering (bar, rate, ETA), a rate tracker, and a live ANSI display.

No dependency: a terminal gets bars redrawn in place (cursor up + clear); a pipe or a CI log
gets one plain line now and then instead, so logs stay readable.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import TextIO

from eventreplay.operator.planner import duration

RATE_WINDOW = 15.0
"""Seconds of samples the rate is averaged over: recent enough to react, long enough to be stable."""


def bar(fraction: float, width: int = 24, unicode: bool = True) -> str:
    """`[█████▌    ]`: eighth-block resolution with Unicode, `#` and `-` otherwise."""
    fraction = min(1.0, max(0.0, fraction))
    if not unicode:
        filled = round(fraction * width)
        return "[" + "#" * filled + "-" * (width - filled) + "]"
    eighths = int(fraction * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if full < width else ""
    return "[" + "█" * full + (partial if part else "") + " " * (width - full - (1 if part else 0)) + "]"


def rate_text(rate: float | None) -> str:
    if rate is None or rate <= 0:
        return "-/s"
    if rate >= 10_000:
        return f"{rate / 1000:.0f}k/s"
    if rate >= 1000:
        return f"{rate / 1000:.1f}k/s"
    return f"{rate:.0f}/s"


def eta_text(remaining: int, rate: float | None) -> str:
    if remaining <= 0:
        return "done"
    if rate is None or rate <= 0:
        return "ETA -"
    return "ETA " + duration(remaining / rate)


@dataclass(frozen=True)
class Row:
    """One bar: `label` done of `total`, with a state word and an optional note."""

    label: str
    done: int
    total: int
    state: str
    rate: float | None = None
    note: str = ""


def render_row(row: Row, width: int = 24, unicode: bool = True, label_width: int = 4) -> str:
    fraction = 1.0 if row.total <= 0 else row.done / row.total
    percent = 100 if row.total <= 0 else int(100 * row.done / row.total)
    if row.state in ("done", "Done"):
        fraction, percent = 1.0, 100
    active = row.state not in ("done", "Done", "failed", "Failed")
    remaining = max(0, row.total - row.done)
    parts = [
        row.label.rjust(label_width),
        bar(fraction, width, unicode),
        f"{percent:3d}%",
        f"{row.done}/{row.total}",
        rate_text(row.rate) if active else "",
        eta_text(remaining, row.rate) if active else "",
        row.state,
    ]
    line = "  ".join(p for p in parts if p)
    return f"{line}  {row.note}" if row.note else line


def render_rows(
    rows: list[Row], max_rows: int, width: int = 24, unicode: bool = True, label_width: int = 0
) -> list[str]:
    """At most `max_rows` bars (active and failed first); the rest summed up in one line."""
    label_width = max(label_width, *(len(r.label) for r in rows)) if rows else label_width
    if len(rows) <= max_rows:
        return [render_row(r, width, unicode, label_width) for r in rows]
    order = {"failed": 0, "Failed": 0, "running": 1, "Running": 1, "retrying": 1}
    shown = sorted(rows, key=lambda r: (order.get(r.state, 2), rows.index(r)))[: max(1, max_rows - 1)]
    hidden = [r for r in rows if r not in shown]
    states: dict[str, int] = {}
    for r in hidden:
        states[r.state] = states.get(r.state, 0) + 1
    more = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    shown.sort(key=rows.index)
    return [*(render_row(r, width, unicode, label_width) for r in shown), f"... {len(hidden)} more ({more})"]


class RateTracker:
    """Events per second per key, from (time, count) samples over the last RATE_WINDOW seconds."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self._window = window
        self._samples: dict[str, deque[tuple[float, int]]] = {}

    def observe(self, key: str, count: int, at: float | None = None) -> float | None:
        now = time.monotonic() if at is None else at
        samples = self._samples.setdefault(key, deque())
        if not samples or samples[-1][1] != count or now - samples[-1][0] >= 1.0:
            samples.append((now, count))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        first_at, first = samples[0]
        span = now - first_at
        return (count - first) / span if span > 0 else None


class LiveDisplay:
    """Redraws a block of lines in place on a terminal; elsewhere prints `plain` lines every `every` s."""

    def __init__(self, stream: TextIO | None = None, *, every: float = 10.0, enabled: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.tty = enabled and self.stream.isatty()
        self.enabled = enabled
        self.unicode = (getattr(self.stream, "encoding", "") or "").lower().replace("-", "") == "utf8"
        self._drawn = 0
        self._every = every
        self._last_plain = 0.0

    def max_rows(self) -> int:
        return max(5, shutil.get_terminal_size((100, 30)).lines - 6) if self.tty else 1_000_000

    def show(self, lines: list[str], plain: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.stream.write(up + "\x1b[J" + "\n".join(lines) + "\n")
            self.stream.flush()
            self._drawn = len(lines)
        elif time.monotonic() - self._last_plain >= self._every:
            self._last_plain = time.monotonic()
            self.stream.write(plain + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Keep the last frame on screen; the next output starts below it."""
        self._drawn = 0
