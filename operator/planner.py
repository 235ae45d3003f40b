"""Planning, pure part: a window + what Kafka reports about the topic -> a frozen Plan, or a refusal.

The Kafka-facing part (`kafka.py`) gathers `Observed` facts per partition (watermarks,
offsets_for_times answers, the timestamp of the first retained record); everything here is a
pure function of those facts, so every refusal reason is unit-tested without a broker.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from eventreplay.worker.contract.names import KEY_LAYOUT, ReplayTopics
from eventreplay.worker.contract.whole_windows import WindowShape

from .api.v1alpha1 import EventReplaySpec, Plan, PlanPartition, PlanTimes, parse_time
from .job_names import Owner

PAST_END = -1
"""offsets_for_times answer when no record has a timestamp at or after the one asked for."""


class PlanRefused(Exception):
    """An impossible plan: the replay stalls with `reason` (CamelCase) and `message`, and no Job starts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Observed:
    """What Kafka says about one partition at plan time."""

    low: int
    """Log start offset: offsets below it are gone (retention, delete-records)."""
    high: int
    """High watermark (with read_committed, the last stable offset)."""
    start_at_time: int | None = None
    """offsets_for_times(window start), or PAST_END."""
    end_at_time: int | None = None
    """offsets_for_times(window end), or PAST_END."""
    first_timestamp_ms: int | None = None
    """Timestamp of the record at `low` (probed only when the start resolved to `low` > 0)."""


Observation = tuple[int | None, dict[int, Observed]]
"""What Kafka says about the source topic at plan time: its partition count (None: no such topic)
and the facts of each selected partition (`KafkaAccess.observe`)."""


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(seconds: float) -> str:
    """3725 -> '1h2m', 200 -> '3m20s', 7 -> '7s'."""
    s = round(seconds)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def short_hash(payload: object) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def input_hash(spec: EventReplaySpec) -> str:
    """Hash of what the plan depends on: a dry-run plan is remade when it changes."""
    return short_hash(
        {
            "source": spec.source.model_dump(by_alias=True, exclude={"credentials_secret_ref"}),
            "window": spec.window.model_dump(by_alias=True, exclude_none=True),
        }
    )


def window_times(spec: EventReplaySpec, as_of: datetime) -> tuple[int, int] | None:
    """The window as epoch milliseconds [from, to), or None for an offset window."""
    window = spec.window
    if window.timestamps is not None:
        start, end = parse_time(window.timestamps.from_), parse_time(window.timestamps.to)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    if window.relative is not None:
        now_ms = int(as_of.timestamp() * 1000)
        return (
            now_ms - window.relative.from_seconds_ago * 1000,
            now_ms - window.relative.to_seconds_ago * 1000,
        )
    return None


def _spans_text(spans: list[tuple[int, int]]) -> str:
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in spans)


def read_times(spec: EventReplaySpec, requested: tuple[int, int] | None) -> tuple[int, int] | None:
    """The record times a plan resolves: the requested window, widened for a windowed-aggregate
    replay to every event of every aggregation window overlapping it (whole windows)."""
    aggregate = spec.transform.aggregate
    if requested is None or aggregate is None:
        return requested
    return WindowShape.of(aggregate).read_range(*requested)


def _span(times: tuple[int, int]) -> PlanTimes:
    return PlanTimes.model_validate({"from": _iso(times[0]), "to": _iso(times[1])})


def _iso(ms: int) -> str:
    return format_time(datetime.fromtimestamp(ms / 1000, UTC))


def _first_window(spec: EventReplaySpec, requested: tuple[int, int] | None) -> str:
    """Names the aggregation window an expired read range cannot complete ("" when not an aggregate)."""
    aggregate = spec.transform.aggregate
    if requested is None or aggregate is None:
        return ""
    shape = WindowShape.of(aggregate)
    first, _ = shape.overlapping(*requested)
    return (
        f"; the aggregation window [{_iso(first)}, {_iso(first + shape.size_ms)}) overlaps the replay window "
        "and cannot be completed: its earliest events are no longer in the log"
    )


def selected_partitions(spec: EventReplaySpec, count: int, max_partitions: int | None = None) -> list[int]:
    """The partitions to replay; refuses partitions the topic does not have (found by arithmetic on
    the spec's ranges: nothing is expanded beyond the topic's `count`), and more than `max_partitions`."""
    spans = spec.source.spans()
    per = spec.window.offsets.per_partition if spec.window.offsets else None
    chosen: list[int] | None
    if per is not None:
        wanted = sorted(item.partition for item in per)
        if spans is not None:
            extra = [p for p in wanted if not any(low <= p <= high for low, high in spans)]
            if extra:
                raise PlanRefused(
                    "PartitionNotSelected",
                    f"window.offsets.perPartition names partitions {ranges_text(extra)} that source.partitions "
                    "does not select",
                )
        beyond, chosen = [(p, p) for p in wanted if p >= count], wanted
    else:
        beyond, chosen = spec.source.beyond(count), spec.source.selected(count)
    if beyond:
        raise PlanRefused(
            "PartitionOutOfRange",
            f"topic {spec.source.topic} has {count} partitions (0-{count - 1}); "
            f"partitions {_spans_text(beyond)} do not exist",
        )
    every = list(range(count)) if chosen is None else chosen
    if max_partitions is not None and len(every) > max_partitions:
        raise PlanRefused(
            "NotAllowed",
            f"policy rule maxPartitions: the replay reads {len(every)} partitions of {spec.source.topic}; "
            f"its project allows {max_partitions}",
        )
    return every


def _lost_to_retention(start: int, seen: Observed, times: tuple[int, int] | None) -> bool:
    """The window begins before what the partition still holds: below its low watermark, or at a
    low watermark past zero whose first record is younger than the window's start."""
    return start < seen.low or (
        times is not None
        and start == seen.low > 0
        and seen.first_timestamp_ms is not None
        and seen.first_timestamp_ms > times[0]
    )


def make_plan(
    spec: EventReplaySpec, owner: Owner, observation: Observation, as_of: datetime, max_partitions: int | None = None
) -> Plan:
    """Resolve the window to [start, end) per partition; raise PlanRefused for an impossible plan.
    The plan's topics are named for `owner` (a replay, or the watch whose scan reads the window)."""
    topic = spec.source.topic
    topic_partitions, observed = observation
    if topic_partitions is None:
        raise PlanRefused("TopicNotFound", f"topic {topic} does not exist on {spec.source.bootstrap_servers}")
    chosen = selected_partitions(spec, topic_partitions, max_partitions)
    requested = window_times(spec, as_of)
    times = read_times(spec, requested)
    whole = times is not None and times != requested
    notes: dict[str, list[int]] = {}
    expired: list[str] = []
    ranges: list[PlanPartition] = []
    for p in chosen:
        seen = observed[p]
        start, end = _bounds(spec, p, seen, times, notes)
        if _lost_to_retention(start, seen, times):
            expired.append(_expired(p, start, seen, times))
        at_head = True if whole and seen.end_at_time == PAST_END else None
        ranges.append(
            PlanPartition(partition=p, start_offset=start, end_offset=end, records=end - start, at_head=at_head)
        )
    if expired:
        more = " ..." if len(expired) > 5 else ""
        raise PlanRefused("RetentionExpired", "; ".join(expired[:5]) + more + _first_window(spec, requested))
    total = sum(r.records for r in ranges)
    if total == 0:
        raise PlanRefused("EmptyWindow", f"the window selects no record in partitions {ranges_text(chosen)} of {topic}")
    as_of_text = format_time(as_of)
    topics = ReplayTopics.of(owner.namespace, owner.name, owner.uid)
    return Plan(
        as_of=as_of_text,
        hash=short_hash([topic, [(r.partition, r.start_offset, r.end_offset) for r in ranges], as_of_text]),
        input_hash=input_hash(spec),
        topic=topic,
        topic_partitions=topic_partitions,
        sandbox_topic=topics.sandbox,
        dead_letter_topic=topics.dead_letter,
        report_topic=topics.report,
        replay_uid=owner.uid,
        records=total,
        partitions=ranges,
        notes=[f"partitions {ranges_text(parts)}: {text}" for text, parts in notes.items()],
        requested_window=_span(requested) if requested is not None else None,
        read_range=_span(times) if whole and times is not None else None,
        key_layout=KEY_LAYOUT,
    )


def refuse_foreign_output(writers: dict[str, set[str]], uid: str) -> None:
    """Planning onto output topics that already hold another replay's records is refused: its
    reconciliation would read them (`writers`: per topic, the uids found, "" for none)."""
    for topic, uids in sorted(writers.items()):
        others = sorted(uids - {uid})
        if others:
            who = ", ".join(f"uid {u}" if u else "a writer without an er-replay-uid header" for u in others)
            raise PlanRefused(
                "SandboxInUse",
                f"topic {topic} already holds records of another replay ({who}): delete that topic, "
                "or create this EventReplay under another name",
            )


def _bounds(
    spec: EventReplaySpec, p: int, seen: Observed, times: tuple[int, int] | None, notes: dict[str, list[int]]
) -> tuple[int, int]:
    offsets = spec.window.offsets
    if offsets is not None:
        if offsets.per_partition is not None:
            item = next(i for i in offsets.per_partition if i.partition == p)
            start, end = item.from_, item.to
        else:
            assert offsets.from_ is not None and offsets.to is not None
            start, end = offsets.from_, offsets.to
        if end > seen.high:
            notes.setdefault("window.offsets.to is past the end offset: resolved to the end", []).append(p)
            end = seen.high
        return min(start, end), end
    assert seen.start_at_time is not None and seen.end_at_time is not None
    start, end = seen.start_at_time, seen.end_at_time
    if start == PAST_END:
        notes.setdefault("the window starts after the last record: nothing to replay", []).append(p)
        start = seen.high
    if end == PAST_END:
        notes.setdefault("the window ends after the last record: resolved to the end offset", []).append(p)
        end = seen.high
    return start, max(start, end)


def _expired(p: int, start: int, seen: Observed, times: tuple[int, int] | None) -> str:
    if times is None or start < seen.low:
        return f"partition {p}: start offset {start} is below the log start offset {seen.low} (events deleted)"
    first = format_time(datetime.fromtimestamp((seen.first_timestamp_ms or 0) / 1000, UTC))
    return (
        f"partition {p}: the earliest retained record (offset {seen.low}, {first}) is later than the window "
        f"start and {seen.low} earlier records were deleted"
    )


def ranges_text(numbers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5' (keeps messages short for 1,000 partitions)."""
    parts: list[str] = []
    for n in numbers:
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)
