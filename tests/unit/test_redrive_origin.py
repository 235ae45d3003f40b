"""A redrive's dead letters (`worker/replay/origin.py`): the origin of an EventReplay's dead letter
(or of a redrive's own, first origin kept) and of Kafka Connect's, as `er-origin-*` headers; a record
without one, or a truncated dead letter, is a dead letter again with reason `origin`."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.worker.replay.origin import ORIGIN_REASON, origin_reader, read_step
from eventreplay.worker.runtime.formats import Rejected

ORIGIN = [("er-origin-topic", b"orders"), ("er-origin-partition", b"3"), ("er-origin-offset", b"1207")]


class Msg:
    def __init__(self, headers: list[tuple[str, bytes | None]], value: bytes = b'{"id": "a"}') -> None:
        self._headers, self._value = headers, value

    def headers(self) -> list[tuple[str, bytes | None]]:
        return self._headers

    def value(self) -> bytes:
        return self._value


REPLAY_DEAD = [
    ("er-source-topic", b"orders"),
    ("er-source-partition", b"3"),
    ("er-source-offset", b"1207"),
    ("er-reason", b"schema"),
]
REDRIVE_DEAD = [("er-source-topic", b"orders.dlq"), ("er-source-partition", b"0"), ("er-source-offset", b"9")]
CONNECT_DEAD = [
    ("__connect.errors.topic", b"orders"),
    ("__connect.errors.partition", b"3"),
    ("__connect.errors.offset", b"1207"),
    ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
]


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("eventReplay", REPLAY_DEAD),
        (
            "eventReplay",
            [("er-source-topic", b"orders.dlq"), ("er-source-partition", b"0"), ("er-source-offset", b"9"), *ORIGIN],
        ),
        ("eventReplay", [*REPLAY_DEAD, ("er-source-offset", b"99")]),  # a repeated name: the first counts
        ("connect", CONNECT_DEAD),
    ],
)
def test_the_origin_is_read_from_the_dead_letters_headers(kind: Any, headers: list[tuple[str, bytes]]) -> None:
    origin = origin_reader(kind)
    assert origin is not None and origin(Msg(headers)) == ORIGIN  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "headers", "why"),
    [
        ("eventReplay", CONNECT_DEAD, "not a dead letter of eventReplay"),
        ("connect", REPLAY_DEAD, "not a dead letter of connect"),
        ("eventReplay", REPLAY_DEAD[:2], "no origin headers"),
        ("eventReplay", [*REPLAY_DEAD[:2], ("er-source-offset", b"x7")], "no origin headers"),
        ("eventReplay", [*REPLAY_DEAD, ("er-truncated", b"true")], "truncated dead letter"),
    ],
)
def test_no_origin_is_a_dead_letter_again(kind: Any, headers: list[tuple[str, bytes]], why: str) -> None:
    origin = origin_reader(kind)
    assert origin is not None
    found = origin(Msg(headers))  # type: ignore[arg-type]
    assert isinstance(found, Rejected) and found.reason == ORIGIN_REASON and why in found.message


def test_a_plain_source_reads_values_as_they_are() -> None:
    assert origin_reader(None) is None and read_step(None, None) is None
    read = read_step(lambda value: (value or b"").upper(), origin_reader("connect"))
    assert read is not None
    assert read(Msg(CONNECT_DEAD, b"abc")) == b"ABC"  # type: ignore[arg-type]
    assert isinstance(read(Msg([], b"abc")), Rejected)  # type: ignore[arg-type]
