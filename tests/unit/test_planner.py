"""The pure planner: windows resolved to offsets, and every refusal reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from operator_fixtures import spec

from eventreplay.operator.job_names import Owner
from eventreplay.operator.planner import (
    PAST_END,
    Observed,
    PlanRefused,
    input_hash,
    make_plan,
    ranges_text,
    refuse_foreign_output,
)
from eventreplay.worker.contract.names import short_uid

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OWNER = Owner(namespace="ns", name="r", uid="u1")


def plan_for(s, observed, count=3):  # type: ignore[no-untyped-def]
    return make_plan(s, OWNER, (count, observed), AS_OF)


def test_offset_window_for_all_partitions() -> None:
    observed = {p: Observed(low=0, high=100) for p in range(3)}
    plan = plan_for(spec(window={"offsets": {"from": 10, "to": 40}}), observed)
    assert [(p.partition, p.start_offset, p.end_offset, p.records) for p in plan.partitions] == [
        (0, 10, 40, 30),
        (1, 10, 40, 30),
        (2, 10, 40, 30),
    ]
    assert plan.records == 90
    tag = short_uid("u1")
    assert plan.sandbox_topic == f"eventreplay.ns.r.{tag}.sandbox"
    assert plan.dead_letter_topic == f"eventreplay.ns.r.{tag}.dlq"
    assert plan.report_topic == f"eventreplay.ns.r.{tag}.report" and plan.replay_uid == "u1"
    assert plan.as_of == "2026-11-20T12:00:00.000Z"
    assert plan.notes == []


def test_offset_window_past_the_end_is_clamped_and_said() -> None:
    observed = {0: Observed(low=0, high=25), 1: Observed(low=0, high=100)}
    s = spec(
        source={"bootstrapServers": "k", "topic": "orders", "partitions": ["0-1"]},
        window={"offsets": {"from": 10, "to": 40}},
    )
    plan = plan_for(s, observed)
    assert [(p.start_offset, p.end_offset) for p in plan.partitions] == [(10, 25), (10, 40)]
    assert plan.notes == ["partitions 0: window.offsets.to is past the end offset: resolved to the end"]


def test_per_partition_offsets() -> None:
    s = spec(window={"offsets": {"perPartition": [{"partition": 2, "from": 5, "to": 9}]}})
    plan = plan_for(s, {2: Observed(low=0, high=50)})
    assert [(p.partition, p.start_offset, p.end_offset) for p in plan.partitions] == [(2, 5, 9)]


def test_timestamp_window_uses_offsets_for_times_and_says_when_past_the_end() -> None:
    observed = {
        0: Observed(low=0, high=50, start_at_time=12, end_at_time=30),
        1: Observed(low=0, high=50, start_at_time=20, end_at_time=PAST_END),
        2: Observed(low=0, high=50, start_at_time=PAST_END, end_at_time=PAST_END),
    }
    s = spec(window={"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00+00:30"}})
    plan = plan_for(s, observed)
    assert [(p.start_offset, p.end_offset, p.records) for p in plan.partitions] == [
        (12, 30, 18),
        (20, 50, 30),
        (50, 50, 0),
    ]
    assert "partitions 1-2: the window ends after the last record: resolved to the end offset" in plan.notes
    assert "partitions 2: the window starts after the last record: nothing to replay" in plan.notes


def test_missing_topic() -> None:
    with pytest.raises(PlanRefused) as err:
        make_plan(spec(), OWNER, (None, {}), AS_OF)
    assert err.value.reason == "TopicNotFound"


def test_partition_out_of_range() -> None:
    s = spec(source={"bootstrapServers": "k", "topic": "orders", "partitions": ["1", "3-4"]})
    with pytest.raises(PlanRefused) as err:
        plan_for(s, {})
    assert err.value.reason == "PartitionOutOfRange"
    assert "partitions 3-4 do not exist" in err.value.message


def test_offsets_below_the_log_start_are_retention_expired() -> None:
    observed = {0: Observed(low=0, high=100), 1: Observed(low=20, high=100), 2: Observed(low=0, high=100)}
    with pytest.raises(PlanRefused) as err:
        plan_for(spec(window={"offsets": {"from": 10, "to": 40}}), observed)
    assert err.value.reason == "RetentionExpired"
    assert "partition 1: start offset 10 is below the log start offset 20" in err.value.message


def test_timestamp_window_reaching_into_deleted_records_is_retention_expired() -> None:
    first = int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp() * 1000)
    observed = {
        p: Observed(low=7, high=50, start_at_time=7, end_at_time=30, first_timestamp_ms=first) for p in range(3)
    }
    s = spec(window={"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}})
    with pytest.raises(PlanRefused) as err:
        plan_for(s, observed)
    assert err.value.reason == "RetentionExpired"
    assert "earliest retained record (offset 7, 2026-11-20T10:30:00.000Z)" in err.value.message


def test_timestamp_window_after_the_deleted_records_is_fine() -> None:
    first = int(datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp() * 1000)
    observed = {0: Observed(low=7, high=50, start_at_time=7, end_at_time=30, first_timestamp_ms=first)}
    s = spec(
        source={"bootstrapServers": "k", "topic": "orders", "partitions": ["0"]},
        window={"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}},
    )
    assert plan_for(s, observed).records == 23


def test_empty_window() -> None:
    observed = {p: Observed(low=0, high=50, start_at_time=PAST_END, end_at_time=PAST_END) for p in range(3)}
    with pytest.raises(PlanRefused) as err:
        plan_for(spec(window={"relative": {"fromSecondsAgo": 60}}), observed)
    assert err.value.reason == "EmptyWindow"


def test_plan_hash_is_deterministic_and_input_hash_tracks_the_window() -> None:
    observed = {p: Observed(low=0, high=100) for p in range(3)}
    s = spec()
    assert plan_for(s, observed).hash == plan_for(s, observed).hash
    assert input_hash(s) != input_hash(spec(window={"offsets": {"from": 1, "to": 100}}))


def test_ranges_text() -> None:
    assert ranges_text([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"


def test_output_topics_written_by_another_replay_are_refused() -> None:
    refuse_foreign_output({}, "u1")
    refuse_foreign_output({"t.sandbox": {"u1"}}, "u1")
    with pytest.raises(PlanRefused) as refused:
        refuse_foreign_output({"t.sandbox": {"u1"}, "t.dlq": {""}}, "u1")
    assert refused.value.reason == "SandboxInUse"
    assert "t.dlq" in refused.value.message and "without an er-replay-uid header" in refused.value.message
