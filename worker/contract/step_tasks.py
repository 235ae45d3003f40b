"""The tasks of the reconciliation and promotion Jobs (the steps after the replay).

- `ReconcileTask` ($EVENTREPLAY_RECONCILE_TASK, `python -m eventreplay.worker reconcile`):
  compare the sandbox (read_committed, every partition, low..high watermark at start) with the
  existing output in a destination window, per event id. Result: the summary JSON in Redis
  (`names.report_key`, layout in `worker/runtime/spill.py`) and the changed/missing/extra ids on a
  compacted report topic (key = event id, value = `changed` | `missing` | `extra`, header er-report-hash).
- `PromoteTask` ($EVENTREPLAY_PROMOTE_TASK, `python -m eventreplay.worker promote`): write the
  delta (changed + missing) of the report named by `reportHash` from the sandbox to the
  destination, exactly once per sandbox partition.
Exit codes are in `exit_codes.py`: 0 done, 10 permanent, 11 retriable, 12 fenced.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache, cached_property
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from . import names
from .defaults import DEFAULT_TTL_SECONDS
from .model import Contract
from .sink_record import HEADER_NAME_PATTERN
from .source_ref import KEY, SourceRef, parse
from .tasks import KafkaConnection, OffsetRange, RedisConnection, ReplayIdentity, ValueFormat


class RedisTarget(RedisConnection):
    ttl_seconds: int = Field(
        default=DEFAULT_TTL_SECONDS, gt=0, description="TTL of the report and of its per-id working set."
    )


class TimeWindow(Contract):
    """Resolved at start with offsets_for_times: [from - slack, to + slack) on every partition."""

    from_: datetime = Field(alias="from")
    to: datetime
    slack_seconds: int = Field(default=600, ge=0, le=7 * 86400)

    @property
    def bounds_ms(self) -> tuple[int, int]:
        slack = timedelta(seconds=self.slack_seconds)
        return int((self.from_ - slack).timestamp() * 1000), int((self.to + slack).timestamp() * 1000)

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.to < self.from_:
            raise ValueError("window `to` is before `from`")
        return self


class ExistingOutput(Contract):
    """Where the outputs already written live: explicit offsets OR a time window (exactly one)."""

    topic: str = Field(min_length=1, description="The destination, or a comparison topic.")
    offsets: list[OffsetRange] | None = Field(
        default=None, description="Explicit [start, end) per partition; partitions not listed are not read."
    )
    timestamps: TimeWindow | None = None

    @model_validator(mode="after")
    def _one(self) -> ExistingOutput:
        if (self.offsets is None) == (self.timestamps is None):
            raise ValueError("existing output: give exactly one of `offsets` and `timestamps`")
        if self.offsets is not None and len({r.partition for r in self.offsets}) != len(self.offsets):
            raise ValueError("existing output: a partition is listed twice in `offsets`")
        return self


EVENT_ID_FIELD_RULE = "eventId: field is required with source valueField, and only then"
EVENT_ID_HEADER_RULE = "eventId: header is required with source header, and only then"
EVENT_ID_HEADER_DESCRIPTION = (
    "For `header`: its name; the id is the value of the record's first header of that name, as UTF-8 "
    "(as `header:<name>` reads it in validation.eventIdField)."
)
EventIdSourceName = Literal["key", "valueField", "header"]


def check_event_id_source(source: str, field: str | None, header: str | None) -> None:
    """The rules of an event-id source (the API's admission applies them too)."""
    if (source == "valueField") != bool(field):
        raise ValueError(EVENT_ID_FIELD_RULE)
    if (source == "header") != bool(header):
        raise ValueError(EVENT_ID_HEADER_RULE)


@cache  # a handful of distinct sources per process
def event_id_ref(source: str, field: str | None, header: str | None) -> SourceRef:
    """Where an event-id source reads the id (`source_ref.py`: the key, one header, a field path)."""
    if source == "header":
        return SourceRef("header", name=header or "")
    return parse(field or "") if source == "valueField" else parse(KEY)


class EventIdSource(Contract):
    """How to read the event id of a destination record (sandbox records are keyed by it)."""

    source: EventIdSourceName = "key"
    field: str | None = Field(default=None, description="For `valueField`: a field path (`a.b.c`) of the JSON value.")
    header: str | None = Field(default=None, pattern=HEADER_NAME_PATTERN, description=EVENT_ID_HEADER_DESCRIPTION)

    @model_validator(mode="after")
    def _field(self) -> EventIdSource:
        check_event_id_source(self.source, self.field, self.header)
        return self

    @cached_property
    def ref(self) -> SourceRef:
        """The parsed reference, once per task (read once per destination record)."""
        return event_id_ref(self.source, self.field, self.header)


class Canonical(Contract):
    """Canonical form compared per id: sorted-key compact JSON of the value (raw bytes if not
    JSON, a marker for null) plus the listed headers, in name order, and with `key` the record key
    (see `worker/runtime/canonical.py`)."""

    headers: list[str] = Field(default_factory=list, description="Header names that are part of the content.")
    key: bool = Field(
        default=False,
        description="Compare the record key too: the existing record's, and the key the replayed record is "
        "promoted with (`sink_record.sink_key`).",
    )


class ReportOutput(Contract):
    topic: str = Field(min_length=1, description="Compacted report topic (created if missing).")
    redis: RedisTarget
    sample_size: int = Field(default=5, ge=0, le=100, description="Smallest ids kept per class.")


class StepTuning(Contract):
    batch_size: int = Field(default=2000, gt=0, le=100_000)
    stall_timeout_seconds: float = Field(default=120.0, gt=0)
    transaction_max_records: int = Field(default=5000, gt=0, description="Promotion: records per transaction.")


class SandboxStep(Contract):
    """What every step over the replayed sandbox is given first: its replay, Kafka, the topic it reads."""

    step: ClassVar[str]
    version: Literal[1] = 1
    replay: ReplayIdentity
    kafka: KafkaConnection
    sandbox_topic: str = Field(min_length=1)

    @property
    def group_id(self) -> str:
        return names.step_group_id(self.replay.uid, self.step)


class ReconcileTask(SandboxStep):
    step: ClassVar[str] = "reconcile"
    existing: ExistingOutput
    event_id: EventIdSource = EventIdSource()
    canonical: Canonical = Canonical()
    report: ReportOutput
    sink_topic: str | None = Field(
        default=None,
        alias="destinationTopic",  # the task's wire name since v1
        description="The sink whose promotion ledger is consulted (default: the existing output's topic).",
    )
    refresh: int = Field(default=0, ge=0, description="Recorded in the report's plan: a refresh is a new report.")
    sink_format: ValueFormat = Field(
        default=ValueFormat(),
        description="How the sandbox and existing values are encoded: a registry format is compared decoded.",
    )
    tuning: StepTuning = StepTuning()

    @property
    def redis_target(self) -> RedisTarget:
        """Where the report, its working set and a failure record go."""
        return self.report.redis


class RolloutStep(Contract):
    """One step of a progressive promotion (`spec.promotion.rollout`): how far each sandbox partition's
    delta goes by the end of this step, and how fast. `quota`, per sandbox partition (a decimal
    string): the delta records handled (written + alreadyPromoted + rewritten) by the end of this
    step, cumulative over steps; a partition not listed: 0; None: all of it (the last step)."""

    index: int = Field(ge=1, description="The step, from 1.")
    quota: dict[str, int] | None = Field(default=None, description="See the class: cumulative, per partition.")
    max_records_per_second: float | None = Field(default=None, gt=0, description="Over the Job, all partitions.")

    @model_validator(mode="after")
    def _quota(self) -> RolloutStep:
        for partition, count in (self.quota or {}).items():
            if not partition.isdecimal() or str(int(partition)) != partition:
                raise ValueError(f"rollout quota: partition {partition!r} is not a decimal partition number")
            if count < 0:
                raise ValueError(f"rollout quota: partition {partition} has a negative quota {count}")
        return self

    def limit(self, partition: int, delta: int) -> int | None:
        """The handled count a partition with `delta` delta records stops at in this step; None: it
        runs to its range's end and finishes (the last step, or a quota covering its whole delta)."""
        if self.quota is None:
            return None
        quota = self.quota.get(str(partition), 0)
        return None if quota >= delta else quota


class PromoteTask(Contract):
    version: Literal[1] = 1
    replay: ReplayIdentity
    kafka: KafkaConnection
    report_hash: str = Field(
        pattern=r"^[a-f0-9]{64}$", description="The report being promoted; must equal the stored report's."
    )
    sink_topic: str = Field(min_length=1, alias="destinationTopic")  # the task's wire name since v1
    existing_topic: str | None = Field(
        default=None,
        description="The topic the approved report must have compared with (the sink, or the comparison "
        "topic): a report made against another topic is never promoted here.",
    )
    redis: RedisTarget
    partitions: list[int] | None = Field(
        default=None, description="Sandbox partitions this Job promotes (default: all of the report's)."
    )
    partitioner: Literal["murmur2_random", "murmur2", "consistent_random", "consistent", "fnv1a_random"] = Field(
        default="murmur2_random",
        description="Key partitioner for the destination; murmur2_random matches the Java client.",
    )
    tuning: StepTuning = StepTuning()
    rollout: RolloutStep | None = Field(
        default=None,
        description="One step of a progressive promotion; None: the whole promotion at once. Steps share "
        "the transactional ids and the group, so each resumes where the previous one committed.",
    )

    def transactional_id(self, partition: int) -> str:
        return names.promote_transactional_id(self.replay.uid, partition)

    @property
    def group_id(self) -> str:
        return names.promote_group_id(self.replay.uid, self.report_hash)

    @property
    def redis_target(self) -> RedisTarget:
        """Where the report is read, the checkpoint mirrors and a failure record go."""
        return self.redis
