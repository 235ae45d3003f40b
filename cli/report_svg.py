"""Hand-drawn inline SVG bar charts for the HTML report (pure: numbers in, SVG text out; no library)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

COLOURS = {"missing": "#d9534f", "changed": "#f0ad4e", "count": "#5b8def"}
WIDTH, HEIGHT, PAD = 1100, 220, 40


@dataclass(frozen=True)
class Bar:
    label: str
    position: float
    """Where along the x axis (a minute, a partition number, an index)."""
    values: dict[str, int]
    """Series -> count, stacked in COLOURS order."""


def _rect(x: float, y: float, w: float, h: float, *, series: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 1.0):.1f}" height="{h:.1f}" '
        f'fill="{COLOURS.get(series, COLOURS["count"])}" data-series="{escape(series)}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def _axis(top: int, label_low: str, label_high: str) -> str:
    base = HEIGHT - PAD
    return (
        f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#888"/>'
        f'<line x1="{PAD}" y1="{PAD / 2}" x2="{PAD}" y2="{base}" stroke="#888"/>'
        f'<text x="{PAD - 4}" y="{PAD / 2 + 4}" text-anchor="end" font-size="11">{top}</text>'
        f'<text x="{PAD}" y="{base + 16}" font-size="11">{escape(label_low)}</text>'
        f'<text x="{WIDTH - PAD}" y="{base + 16}" text-anchor="end" font-size="11">{escape(label_high)}</text>'
    )


def _legend(series: list[str]) -> str:
    parts = []
    for i, name in enumerate(series):
        x = WIDTH - PAD - 110 * (len(series) - i)
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS.get(name, COLOURS["count"])}"/>'
            f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>'
        )
    return "".join(parts)


def bar_chart(chart_id: str, title: str, bars: list[Bar]) -> str:
    """Stacked vertical bars placed by `position` (a gap where no bar is); an empty chart says so."""
    head = (
        f'<svg id="{escape(chart_id)}" class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    if not bars:
        mid = HEIGHT / 2
        return f'{head}<text x="{WIDTH / 2}" y="{mid}" text-anchor="middle" class="empty">nothing to show</text></svg>'
    series = [s for s in COLOURS if any(s in b.values for b in bars)]
    series += sorted({s for b in bars for s in b.values} - set(series))
    top = max(sum(b.values.values()) for b in bars) or 1
    low, high = min(b.position for b in bars), max(b.position for b in bars)
    slots = high - low + 1
    step = (WIDTH - 2 * PAD) / slots
    scale = (HEIGHT - 1.5 * PAD) / top
    rects = []
    for bar in bars:
        x, y = PAD + (bar.position - low) * step + step * 0.1, float(HEIGHT - PAD)
        for name in series:
            n = bar.values.get(name, 0)
            if n:
                h = n * scale
                y -= h
                rects.append(_rect(x, y, step * 0.8, h, series=name, tip=f"{bar.label}: {n} {name}"))
    return head + _axis(top, bars[0].label, bars[-1].label) + _legend(series) + "".join(rects) + "</svg>"


def hbar_chart(chart_id: str, title: str, rows: list[tuple[str, int]]) -> str:
    """Horizontal bars, one per labelled row (fields, dead-letter reasons), longest first."""
    height = max(60, 24 * len(rows) + 20)
    head = (
        f'<svg id="{escape(chart_id)}" class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    if not rows:
        return f'{head}<text x="{WIDTH / 2}" y="34" text-anchor="middle" class="empty">nothing to show</text></svg>'
    top = max(n for _, n in rows) or 1
    left = 320
    body = []
    for i, (label, n) in enumerate(sorted(rows, key=lambda r: (-r[1], r[0]))):
        y = 10 + 24 * i
        w = (WIDTH - left - 80) * n / top
        body.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12">{escape(label[:48])}</text>'
            + _rect(left, y, w, 18, series="count", tip=f"{label}: {n}")
            + f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="12">{n}</text>'
        )
    return head + "".join(body) + "</svg>"
