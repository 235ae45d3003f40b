"""The gap finder's task: which source records should have reached which sink.

Built by `eventreplay gaps` from a manifest (the same plan and existing-output window as a replay
of it would use), and by the operator for each scan of an EventReplayWatch; read by
`python -m eventreplay.worker gaps`, which reads both sides and writes nothing to Kafka: no sandbox,
no ledger, no consumer group offsets. A watch's scan also leaves its summary in Redis (`summary`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .model import Contract
from .step_tasks import EventIdSource, ExistingOutput, RedisTarget, StepTuning
from .tasks import KafkaConnection, OffsetRange, ValueFormat


class SummaryTarget(Contract):
    """Where the finder leaves its summary (`gap_summary.GapSummary`) for the operator, written last."""

    redis: RedisTarget
    key: str = Field(min_length=1, description="`names.watch_scan_key` of the watch and scan.")


class GapTask(Contract):
    version: Literal[1] = 1
    kafka: KafkaConnection
    source_topic: str = Field(min_length=1)
    source_ranges: list[OffsetRange] = Field(min_length=1, description="The planned [start, end) per partition.")
    source_format: ValueFormat = ValueFormat()
    """How source values are encoded: an id in a field is read from the value as the replay decodes it."""
    source_event_id_field: str = Field(
        min_length=1,
        description="Where a source record's id is: `key`, `header:<name>` or a field path (`source_ref.py`).",
    )
    existing: ExistingOutput
    sink_format: ValueFormat = ValueFormat()
    """How the existing output's values are encoded: an id in a field is read from the decoded value."""
    event_id: EventIdSource = EventIdSource()
    join_seconds: int = Field(
        default=60, ge=0, description="Missing records closer than this in time belong to one outage."
    )
    sample_size: int = Field(default=5, ge=0, le=100, description="Missing ids listed per gap.")
    tuning: StepTuning = StepTuning()
    summary: SummaryTarget | None = None
    """Set for a watch's scan (a Job: its stdout reaches no one); `eventreplay gaps` reads stdout."""
