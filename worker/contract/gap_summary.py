"""The gap finder's summary (what `python -m eventreplay.worker gaps` prints and, for a watch's
scan, leaves in Redis under `names.watch_scan_key`): counts, the gaps per partition, the outages.

camelCase JSON as the finder has always printed it; read by the operator (an EventReplayWatch's
scan result) and by `eventreplay gaps`. Fields are added with a default, never renamed.
"""

from __future__ import annotations

from typing import Any

from .summaries import Wire


class GapEntry(Wire):
    """Missing events of one partition, close together in time (`worker/gaps/grouping.Gap`)."""

    partition: int
    first_offset: int
    last_offset: int
    first_time: str
    """RFC 3339, milliseconds."""
    last_time: str
    missing: int
    sample_ids: list[str]


class GapSummary(Wire):
    version: int
    counts: dict[str, int]
    missing_ids: int
    existing_topic: str
    existing: list[dict[str, int]]
    gaps: list[GapEntry]
    outages: list[dict[str, Any]]
    """Gaps of every partition close together in time, each with its offset ranges (`grouping.Outage`)."""

    @property
    def source_records(self) -> int:
        return self.counts.get("sourceRecords", 0)

    @property
    def missing(self) -> int:
        return self.counts.get("missing", 0)
