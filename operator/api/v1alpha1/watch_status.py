"""`.status` of an EventReplayWatch: the scan in flight, the last scan, the gaps it found, conditions.

Bounded whatever the topic does: at most `MAX_GAPS` gaps (the largest first; `gapsTotal` counts
them all) with at most `MAX_SAMPLE_IDS` sample ids each.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ApiModel
from .status import Condition

MAX_GAPS = 20
MAX_SAMPLE_IDS = 5
ScanResult = Literal["Succeeded", "Failed"]


class ActiveScan(ApiModel):
    """The scan whose Job runs now: recorded before its Job is created, so a restart finds it."""

    number: int = Field(ge=1, description="The scan's number (its Job is `<watch>-scan-<number>`).")
    job: str = Field(description="The scan Job's name.")
    started_at: str = Field(description="When the scan was started (RFC 3339).")
    from_: str = Field(alias="from", description="Start of the scanned window (RFC 3339).")
    to: str = Field(description="End of the scanned window (RFC 3339).")


class LastScan(ApiModel):
    """The last finished scan."""

    number: int = Field(ge=1, description="The scan's number.")
    time: str = Field(description="When it finished (RFC 3339).")
    duration_seconds: float = Field(ge=0, description="From its start to its result.")
    result: ScanResult = Field(description="Succeeded or Failed.")
    message: str = Field(default="", max_length=1024, description="What it found, or why it failed.")
    from_: str = Field(alias="from", description="Start of the scanned window (RFC 3339).")
    to: str = Field(description="End of the scanned window (RFC 3339).")
    source_records: int = Field(default=0, ge=0, description="Source records read.")
    missing: int = Field(default=0, ge=0, description="Source events missing from the sink.")


class WatchGap(ApiModel):
    """Events of one partition missing from the sink, close together in time."""

    key: str = Field(description="The gap's identity: a hash of its partition and window when first seen.")
    partition: int = Field(ge=0, description="Source partition.")
    from_: str = Field(alias="from", description="Time of the first missing event (RFC 3339).")
    to: str = Field(description="Time of the last missing event (RFC 3339).")
    first_offset: int = Field(ge=0, description="Offset of the first missing event.")
    last_offset: int = Field(ge=0, description="Offset of the last missing event.")
    missing: int = Field(ge=0, description="Missing events.")
    sample_ids: list[str] = Field(
        default_factory=list, max_length=MAX_SAMPLE_IDS, description="A few of the missing event ids."
    )
    first_seen: str = Field(description="When a scan first found it (RFC 3339).")
    draft: str | None = Field(default=None, description="The draft EventReplay made for it.")


class EventReplayWatchStatus(ApiModel):
    """Observed state of the watch."""

    observed_generation: int | None = Field(default=None, description="The generation last acted on.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready and Degraded.")
    scans: int = Field(default=0, ge=0, description="Scans started so far.")
    active_scan: ActiveScan | None = Field(default=None, description="The scan running now.")
    last_scan: LastScan | None = Field(default=None, description="The last finished scan.")
    consecutive_failures: int = Field(default=0, ge=0, description="Failed scans since the last success.")
    gaps: list[WatchGap] = Field(
        default_factory=list, max_length=MAX_GAPS, description=f"The last successful scan's gaps (at most {MAX_GAPS})."
    )
    gaps_total: int = Field(default=0, ge=0, description="Gaps the last successful scan found (all of them).")
    missing_events: int = Field(default=0, ge=0, description="Missing events the last successful scan found.")
