"""`spec.sink.key`, `headers`, `timestamp`: admission, the defaults the operator resolves, and the
shape the replay writes onto a sandbox record and promotion applies to the sink record."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import plan, spec
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1 import ROOT_RULES, Sink
from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_task
from eventreplay.worker.contract.headers import (
    REPLAY_UID_HEADER,
    SINK_KEY_HEADER,
    SOURCE_OFFSET_HEADER,
    SOURCE_TIMESTAMP_HEADER,
)
from eventreplay.worker.contract.sink_record import HeaderFilter, SinkRecord, resolve
from eventreplay.worker.contract.tasks import Task
from eventreplay.worker.promotion.shape import SinkShape
from eventreplay.worker.replay.fidelity import carrier
from eventreplay.worker.runtime.partitioner import java_partition, murmur2
from eventreplay.worker.runtime.produce import UNASSIGNED

# org.apache.kafka.common.utils.UtilsTest.testMurmur2: the Java client's own vectors.
JAVA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), JAVA_VECTORS)
def test_murmur2_matches_the_java_client(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_java_partition_is_positive_murmur2_modulo_the_count() -> None:
    assert java_partition(b"21", 6) == (-973932308 & 0x7FFFFFFF) % 6
    assert all(0 <= java_partition(k, 7) < 7 for k, _ in JAVA_VECTORS)
    assert java_partition(b"", 3) == (murmur2(b"") & 0x7FFFFFFF) % 3


# -- admission and defaults ---------------------------------------------------------------------


def test_the_default_is_todays_record() -> None:
    shape = Sink.model_validate({"topic": "out"}).record()
    assert shape == SinkRecord() and shape.plain


def test_a_source_key_keeps_headers_and_time_by_default() -> None:
    shape = Sink.model_validate({"topic": "out", "key": "sourceKey"}).record()
    assert shape.headers == HeaderFilter(deny=[]) and shape.timestamp == "source" and not shape.plain


def test_explicit_choices_win_over_the_defaults() -> None:
    body = {"topic": "out", "key": "field:order.id", "headers": {"allow": ["trace-id"]}, "timestamp": "replay"}
    shape = Sink.model_validate(body).record()
    assert shape.headers == HeaderFilter(allow=["trace-id"]) and shape.timestamp == "replay"
    assert shape.key_field is not None and shape.key_field.path == ("order", "id")
    assert Sink.model_validate({"topic": "out", "timestamp": "source"}).record().headers is None


@pytest.mark.parametrize(
    ("sink", "message"),
    [
        ({"key": "event_id"}, "should match pattern"),
        ({"key": "field:"}, "should match pattern"),
        ({"key": "field:a..b"}, "should match pattern"),
        ({"headers": {}}, "exactly one of allow or deny"),
        ({"headers": {"allow": ["a"], "deny": ["b"]}}, "exactly one of allow or deny"),
        ({"timestamp": "now"}, "'source' or 'replay'"),
    ],
)
def test_admission_refuses(sink: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Sink.model_validate({"topic": "out", **sink})


def test_an_aggregate_replay_cannot_shape_its_records() -> None:
    aggregate = {
        "aggregate": {"eventTimeField": "ts", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}
    }
    with pytest.raises(ValidationError, match="an aggregate replay writes window results"):
        spec(transform=aggregate, sink={"topic": "out", "key": "sourceKey"})
    assert spec(transform=aggregate).transform.aggregate is not None
    rule = next(r for r in ROOT_RULES if "spec.sink.key" in r["rule"])
    assert "an aggregate replay writes window results" in rule["message"]


def test_the_replay_task_carries_the_resolved_shape() -> None:
    replay = spec(sink={"topic": "out", "key": "sourceKey", "headers": {"deny": ["secret"]}})
    task = build_task(replay, plan([(0, 0, 10)]), plan([(0, 0, 10)]).partitions[0], Owner("ns", "r", "uid-1"))
    back = Task.model_validate_json(task.to_json())
    assert back.sink == SinkRecord(key="sourceKey", headers=HeaderFilter(deny=["secret"]), timestamp="source")


# -- the sandbox record and the sink record -----------------------------------------------------


class Msg:
    """The parts of confluent_kafka.Message the shape reads."""

    def __init__(self, key: bytes | None, headers: list[tuple[str, Any]], stamp: int = 1_700_000_000_123) -> None:
        self._key, self._headers, self._stamp = key, headers, stamp

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> list[tuple[str, Any]]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return 1, self._stamp


SOURCE = Msg(b"customer-7", [("trace-id", b"t1"), ("secret", b"s"), ("er-replay-uid", b"forged")])


def test_todays_record_adds_nothing() -> None:
    assert carrier(SinkRecord()) is None


def test_a_source_key_travels_with_the_kept_headers_and_time() -> None:
    carry = carrier(SinkRecord(key="sourceKey", headers=HeaderFilter(deny=["secret"]), timestamp="source"))
    assert carry is not None
    assert carry(SOURCE, b"{}", None) == [  # type: ignore[arg-type]
        ("trace-id", b"t1"),
        (SINK_KEY_HEADER, b"customer-7"),
        (SOURCE_TIMESTAMP_HEADER, b"1700000000123"),
    ]
    assert carry(Msg(None, []), b"{}", None) == [(SINK_KEY_HEADER, None), (SOURCE_TIMESTAMP_HEADER, b"1700000000123")]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "key"),
    [(b'{"o": {"id": "A-1"}}', b"A-1"), (b'{"o": {"id": 42}}', b"42"), (b'{"o": {}}', None), (b"[1]", None)],
)
def test_a_field_key_is_read_from_the_written_value(value: bytes, key: bytes | None) -> None:
    carry = carrier(SinkRecord(key="field:o.id", timestamp="replay"))
    assert carry is not None
    assert carry(SOURCE, value, None) == [(SINK_KEY_HEADER, key)]  # type: ignore[arg-type]


def test_allowed_headers_only() -> None:
    carry = carrier(SinkRecord(headers=HeaderFilter(allow=["secret", "er-replay-uid"])))
    assert carry is not None
    assert carry(SOURCE, b"{}", None) == [("secret", b"s")]  # type: ignore[arg-type]


def test_a_transforms_record_gives_the_key_and_adds_its_headers_after_the_kept_ones() -> None:
    carry = carrier(resolve("transform", HeaderFilter(allow=["trace-id"]), None))
    assert carry is not None
    parts = (b"cust-9", [("fixed-by", b"vat")])
    assert carry(SOURCE, b"{}", parts) == [  # type: ignore[arg-type]
        ("trace-id", b"t1"),
        ("fixed-by", b"vat"),
        (SINK_KEY_HEADER, b"cust-9"),
        (SOURCE_TIMESTAMP_HEADER, b"1700000000123"),
    ], "the source's time by default, as with a source key"


PROMOTION = [("er-promoted-by", b"ns/r")]


def test_the_sink_record_takes_the_carried_key_partition_and_time() -> None:
    sandbox = Msg(
        b"evt-1",
        [
            (SOURCE_OFFSET_HEADER, b"5"),
            (REPLAY_UID_HEADER, b"uid-1"),
            ("trace-id", b"t1"),
            (SINK_KEY_HEADER, b"customer-7"),
            (SOURCE_TIMESTAMP_HEADER, b"1700000000123"),
        ],
    )
    key, partition, headers, stamp = SinkShape("murmur2_random", 6, PROMOTION).record(sandbox)
    assert (key, partition, stamp) == (b"customer-7", java_partition(b"customer-7", 6), 1700000000123)
    assert headers == [(SOURCE_OFFSET_HEADER, b"5"), ("trace-id", b"t1"), *PROMOTION]


def test_todays_sandbox_record_stays_keyed_by_event_id() -> None:
    sandbox = Msg(b"evt-1", [(REPLAY_UID_HEADER, b"uid-1")])
    assert SinkShape("murmur2_random", 6, PROMOTION).record(sandbox) == (
        b"evt-1",
        java_partition(b"evt-1", 6),
        PROMOTION,
        0,
    )


def test_a_null_key_or_another_partitioner_is_left_to_the_producer() -> None:
    null_key = Msg(b"evt-1", [(SINK_KEY_HEADER, None)])
    assert SinkShape("murmur2_random", 6, []).record(null_key)[:2] == (None, UNASSIGNED)
    assert SinkShape("consistent", 6, []).record(Msg(b"evt-1", []))[1] == UNASSIGNED
