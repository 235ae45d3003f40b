"""Forward retention warnings (pure): the window's first records vs the topic's retention.ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from operator_fixtures import plan, spec

from eventreplay.operator import conditions as cond
from eventreplay.operator.events import condition_events
from eventreplay.operator.progress import replay_conditions, totals
from eventreplay.operator.retention import (
    RETENTION_RISK,
    TopicRetention,
    retention_notes,
    time_to_reach_last_start,
    with_retention_notes,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY_MS = 86_400_000


def _window(hours_ago: float, length_hours: float = 1, parallelism: int = 4) -> object:
    start = NOW - timedelta(hours=hours_ago)
    end = start + timedelta(hours=length_hours)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return spec(
        window={"timestamps": {"from": start.strftime(fmt), "to": end.strftime(fmt)}},
        worker={"parallelism": parallelism},
    )


PLAN = plan([(0, 0, 1_000_000), (1, 0, 2_000_000), (2, 0, 500_000), (3, 0, 0)])


def test_waves_of_parallel_partitions_delay_the_last_start() -> None:
    assert time_to_reach_last_start(PLAN, parallelism=3, rate=1000) == 0  # one wave
    # Waves [1M, 2M] then [0.5M]: the last starts after the first wave's largest range.
    assert time_to_reach_last_start(PLAN, parallelism=2, rate=1000) == 2000


def test_no_warning_without_time_based_retention_or_for_an_offset_window() -> None:
    assert retention_notes(_window(23.5), PLAN, TopicRetention(None), NOW) == []  # type: ignore[arg-type]
    assert retention_notes(spec(), PLAN, TopicRetention(DAY_MS), NOW) == []


def test_no_warning_when_the_start_stays_long_enough() -> None:
    assert retention_notes(_window(10), PLAN, TopicRetention(DAY_MS), NOW) == []  # type: ignore[arg-type]


def test_a_start_leaving_the_log_within_the_margin_is_a_note() -> None:
    notes = retention_notes(_window(23.5), PLAN, TopicRetention(DAY_MS), NOW)  # type: ignore[arg-type]
    assert len(notes) == 1 and notes[0].startswith(f"{RETENTION_RISK}: orders keeps records 24h0m (retention.ms)")
    assert "leave the log around 2026-11-20T12:30:00.000Z, 30m0s from now" in notes[0]
    assert "margin 1h0m" in notes[0] and "raise the topic's retention.ms" in notes[0]


def test_a_slow_queue_of_partitions_is_a_note_even_with_hours_left() -> None:
    # 5 h left, but with one worker at a time the last partition starts after 1M + 2M records.
    slow = _window(19, parallelism=1)
    notes = retention_notes(slow, PLAN, TopicRetention(DAY_MS), NOW, rate=200)  # type: ignore[arg-type]
    assert notes and "the last partitions start ~4h10m after the first" in notes[0]
    assert retention_notes(slow, PLAN, TopicRetention(DAY_MS), NOW) == []  # type: ignore[arg-type]


def test_an_overdue_start_says_so() -> None:
    notes = retention_notes(_window(25), PLAN, TopicRetention(DAY_MS), NOW)  # type: ignore[arg-type]
    assert "overdue: Kafka may delete them at any moment" in notes[0]


def test_the_note_reaches_the_planned_condition_and_a_warning_event() -> None:
    risky = _window(23.5)
    noted = with_retention_notes(PLAN, risky, TopicRetention(DAY_MS), NOW)  # type: ignore[arg-type]
    assert noted.notes and noted.notes[-1].startswith(RETENTION_RISK)
    wants = replay_conditions(risky, noted, [], totals(noted, {}))  # type: ignore[arg-type]
    planned = next(w for w in wants if w.type == cond.PLANNED)
    assert planned.status == "True" and f"; {RETENTION_RISK}: " in planned.message
    new = cond.merge([], wants, now="2026-11-20T12:00:00Z", generation=1)
    events = condition_events([], new)
    risk = [e for e in events if e.reason == "RetentionRisk"]
    assert len(risk) == 1 and risk[0].type == "Warning" and risk[0].message.startswith(RETENTION_RISK)
    calm = with_retention_notes(PLAN, _window(2), TopicRetention(DAY_MS), NOW)  # type: ignore[arg-type]
    assert calm is PLAN
