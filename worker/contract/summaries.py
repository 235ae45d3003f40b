"""The summaries the steps after the replay leave in Redis for other processes: the reconciliation
summary (`names.report_key`, read by promote and the operator) and the combine summary
(`names.combine_key`, read by the operator).

Each is written last by its Job: its presence means the output is complete. The bytes are a stored
format, camelCase JSON with sorted keys, compact (what the Jobs wrote before these types existed,
byte for byte): a field is added with a default, never renamed. The report inside the
reconciliation summary is hashed as encoded here (`worker/runtime/canonical.report_hash`), so a
field the worker writes only sometimes is omitted while unset, never written as a null.
"""

from __future__ import annotations

from typing import Self

import msgspec


class Wire(msgspec.Struct, kw_only=True, rename="camel"):
    """camelCase JSON; every field by keyword."""

    def to_json(self) -> bytes:
        """The stored bytes: sorted keys, compact."""
        return msgspec.json.encode(self, order="sorted")

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        return msgspec.json.decode(raw, type=cls)


# --- The reconciliation summary (`worker/reconciliation/reconcile.py`, layout in `runtime/spill.py`).


class PlannedRange(Wire):
    """[start, end) of one partition, frozen when the report was made."""

    partition: int
    start_offset: int
    end_offset: int


class ReplayRef(Wire):
    namespace: str
    name: str
    uid: str


class EventIdPlan(Wire, omit_defaults=True):
    """How the existing output's event ids were read (the task's `eventId`)."""

    source: str
    field: str | None = None
    header: str | None = None


class CanonicalPlan(Wire):
    form: str
    """The canonical form's name and version (`sorted-key-json+headers/v1`; `...+key/v1` when the
    record key was compared too, `<format>-decoded+...` for a registry format)."""
    headers: list[str]
    """Header names that are part of the content, sorted."""


class ReportPlan(Wire, omit_defaults=True):
    """What was compared: promotion reads the sandbox again from exactly these ranges."""

    replay: ReplayRef
    sandbox_topic: str
    sandbox: list[PlannedRange]
    existing_topic: str
    existing: list[PlannedRange]
    event_id: EventIdPlan
    canonical: CanonicalPlan
    refresh: int = 0
    """The spec.reconciliation.refresh it was made for; absent at 0, so the hash of an unrefreshed
    report stays what it was before refreshes existed."""


class ReportCounts(Wire, omit_defaults=True):
    replayed_records: int
    replayed_ids: int
    duplicates: int
    """Sandbox records of an id already seen (the first copy wins)."""
    replayed_unidentified: int
    existing_records: int
    existing_ids: int
    superseded: int
    """Existing records overwritten by a later one of the same id."""
    unidentified: int
    """Existing records without an event id."""
    unchanged: int
    changed: int
    missing: int
    extra: int
    already_promoted: int | None = None
    """Counted unchanged because a promotion already wrote this content; absent from reports made
    before the destination ledger existed."""
    foreign: int = 0
    """Sandbox records of another replay (left out); absent at 0, so a clean sandbox's report keeps its hash."""


class ClassSamples(Wire):
    """The smallest ids of each class."""

    unchanged: list[str]
    changed: list[str]
    missing: list[str]
    extra: list[str]


class Report(Wire):
    """What the report hash covers: nothing run-specific, so a re-run over the same data gives the same hash."""

    counts: ReportCounts
    replayed_checksum: str
    existing_checksum: str
    samples: ClassSamples
    delta_by_partition: dict[str, int]
    """Changed + missing ids per sandbox partition (its number as a string: a JSON key)."""
    plan: ReportPlan
    version: int = 1


class SinkMark(Wire):
    """Where the destination ended (per partition, the last stable offset) when the existing output
    was read: promotion re-reads from here what production wrote since (`worker/promotion/rewrites.py`)."""

    topic: str
    end_offsets: dict[str, int]
    """Per destination partition (its number as a string: a JSON key); a partition absent had no log yet."""


class ReportSummary(Wire):
    report_hash: str
    """SHA-256 of the report's canonical JSON: what an approval names."""
    report: Report
    run: str
    """The reconciliation run whose working set (`names.spill_prefix`) promotion reads."""
    bucket_bits: int
    report_topic: str
    completed_at: str
    version: int = 1
    sink_mark: SinkMark | msgspec.UnsetType = msgspec.UNSET
    """Outside the report (not hashed: run-specific, a re-run over the same data keeps the hash);
    unset in summaries from before the re-check at promotion, which then re-checks nothing."""
    report_ranges: list[PlannedRange] | msgspec.UnsetType = msgspec.UNSET
    """Where this run wrote the report's records in `report_topic`, [start, end) per partition (not
    hashed: offsets are run-specific); unset in summaries from before it was recorded."""


# --- The combine summary (`worker/windows/combine.py`).


class CombineCounts(Wire, omit_defaults=True):
    """The combine Job's tally (`worker/windows/aggregator.py`); a count still at 0 is omitted."""

    events: int = 0
    not_json: int = 0
    no_event_time: int = 0
    no_key: int = 0
    late: int = 0
    """Events later than every window they belong to (allowed lateness passed)."""
    late_window_drops: int = 0
    """Windows an event was too late for (an event of a hopping window can be late for some)."""
    skipped_values: int = 0
    outside: int = 0
    """Results of windows that do not overlap the replay window (read to complete others): not written."""
    incomplete: int = 0
    """Results of overlapping windows the read range cannot complete (the log's head): not written."""


class CombineSummary(Wire):
    results_topic: str
    results: int
    windows: int
    counts: CombineCounts
    digest: str
    """SHA-256 over the result records (`windows.combine.digest`)."""
    rewritten: bool
    """False when an earlier attempt had already written the same results."""
    completed_at: str
    version: int = 1
    incomplete_windows: list[str] | msgspec.UnsetType = msgspec.UNSET
    """Starts (RFC 3339) of the overlapping windows left out as incomplete (`counts.incomplete`); unset
    (absent from the bytes) when none was, and in summaries from before whole windows."""

    @property
    def incomplete(self) -> list[str]:
        """`incomplete_windows`, unset read as none."""
        return self.incomplete_windows if isinstance(self.incomplete_windows, list) else []
