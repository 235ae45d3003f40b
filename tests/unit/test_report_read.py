"""`eventreplay report`: the chunked join, its filters, the per-field diff, bounded memory."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest

from eventreplay.cli.report_command import filters, text_line
from eventreplay.cli.report_read import Entry, Filters, Replayed, chunks, entries, field_diff, matches

MINUTE = 60_000


class FakeSource:
    """N report ids (every third changed, the rest missing), each with a sandbox copy, then `extra`
    extra ids (existing records only); counts how far the report was read ahead of what the caller
    consumed, and the scans of each side."""

    def __init__(self, n: int, extra: int = 0) -> None:
        self.n, self.extra, self.pulled, self.scans, self.existing_scans = n, extra, 0, 0, 0

    def _cls(self, i: int) -> str:
        return "changed" if i % 3 == 0 else "missing"

    def report_ids(self) -> Iterator[tuple[str, str]]:
        for i in range(self.n):
            self.pulled += 1
            yield f"id-{i}", self._cls(i)
        for j in range(self.extra):
            self.pulled += 1
            yield f"x-{j}", "extra"

    def sandbox(self) -> Iterator[tuple[str, Replayed]]:
        self.scans += 1
        for i in range(self.n):
            value = orjson.dumps({"id": i, "amount": i + 1, "meta": {"v": 2}})
            yield f"id-{i}", Replayed(i % 4, i, i * MINUTE, value)
        yield "id-0", Replayed(9, 99, 0, b"{}")  # a later copy: the first wins

    def existing(self) -> Iterator[tuple[str | None, bytes | None]]:
        self.existing_scans += 1
        for j in range(self.extra):
            yield f"x-{j}", orjson.dumps({"id": j, "amount": 0})
            yield f"x-{j}", orjson.dumps({"id": j, "amount": -j})  # the last one is existing
        for i in range(0, self.n, 3):
            yield f"id-{i}", orjson.dumps({"id": i, "amount": 0})
            yield f"id-{i}", orjson.dumps({"id": i, "amount": i, "meta": {"v": 1}})  # the last one is existing
        yield None, b"no id"


@pytest.mark.parametrize(
    ("existing", "replayed", "expected"),
    [
        (b'{"a": 1, "b": 2}', b'{"a": 1, "b": 3}', {"b": (2, 3)}),
        (b'{"a": {"x": 1}}', b'{"a": {"x": 1, "y": 2}}', {"a.y": (None, 2)}),
        (b'{"a": 1}', b'{"a": 1}', {}),
        (b"plain", b"other", {"(value)": ("plain", "other")}),
        (None, b'{"a": 1}', {"a": (None, 1)}),
    ],
)
def test_field_diff(existing: bytes | None, replayed: bytes | None, expected: dict[str, object]) -> None:
    assert field_diff(existing, replayed) == expected


def _entry(partition: int, minute: int) -> Entry:
    return Entry("x", "missing", Replayed(partition, 0, minute * MINUTE, None))


@pytest.mark.parametrize(
    ("filters", "entry", "kept"),
    [
        (Filters(), Entry("x", "missing"), True),
        (Filters(partitions=frozenset({1})), _entry(1, 0), True),
        (Filters(partitions=frozenset({1})), _entry(2, 0), False),
        (Filters(partitions=frozenset({1})), Entry("x", "missing"), False),
        (Filters(since_ms=5 * MINUTE), _entry(0, 5), True),
        (Filters(since_ms=5 * MINUTE), _entry(0, 4), False),
        (Filters(until_ms=5 * MINUTE), _entry(0, 5), False),
        (Filters(until_ms=5 * MINUTE), _entry(0, 4), True),
    ],
)
def test_matches(filters: Filters, entry: Entry, kept: bool) -> None:
    assert matches(entry, filters) is kept


def test_chunks() -> None:
    assert list(chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunks([], 3)) == []


def test_entries_join_first_sandbox_copy_and_last_existing_record() -> None:
    out = {e.id: e for e in entries(FakeSource(6), Filters())}
    first = out["id-0"].replayed
    assert first is not None
    assert (first.partition, first.offset) == (0, 0)
    assert out["id-3"].changes == {"amount": (3, 4), "meta.v": (1, 2)}
    assert out["id-1"].changes == {}
    assert out["id-3"].as_json()["changes"]["amount"] == {"existing": 3, "replayed": 4}
    assert "changes" not in out["id-1"].as_json()


def test_class_partition_and_time_filters() -> None:
    wanted = Filters(classes=frozenset({"changed"}), partitions=frozenset({3}), since_ms=MINUTE, until_ms=20 * MINUTE)
    assert [e.id for e in entries(FakeSource(30), wanted)] == ["id-3", "id-15"]


def test_every_id_of_thousands_listed_with_a_bounded_read_ahead() -> None:
    source = FakeSource(5000)
    seen = 0
    for entry in entries(source, Filters(), chunk=500):
        seen += 1
        # never more than one chunk read from the report ahead of what was handed out
        assert source.pulled - seen < 500
        assert entry.replayed is not None
    assert seen == 5000
    assert source.scans == 10  # one sandbox scan per chunk


def test_extra_ids_listed_with_their_existing_value_and_no_sandbox_scan() -> None:
    source = FakeSource(6, extra=3)
    out = list(entries(source, Filters(classes=frozenset({"extra"}))))
    assert [e.id for e in out] == ["x-0", "x-1", "x-2"]
    assert all(e.replayed is None and e.changes == {} for e in out)
    assert out[2].as_json() == {"id": "x-2", "class": "extra", "existing": {"id": 2, "amount": -2}}
    assert (source.scans, source.existing_scans) == (0, 1)  # extra ids have no replayed copy to look up


def test_every_class_by_default_and_partition_or_time_filters_leave_extra_ids_out() -> None:
    listed = [e.cls for e in entries(FakeSource(6, extra=2), Filters())]
    assert (listed.count("changed"), listed.count("missing"), listed.count("extra")) == (2, 4, 2)
    assert [e.cls for e in entries(FakeSource(6, extra=2), Filters(partitions=frozenset({0})))] == [
        "changed",
        "missing",
    ]
    assert "extra" not in {e.cls for e in entries(FakeSource(6, extra=2), Filters(since_ms=0))}


def test_thousands_of_delta_and_extra_ids_listed_with_a_bounded_read_ahead() -> None:
    source = FakeSource(3000, extra=2000)
    seen = Counter[str]()
    for entry in entries(source, Filters(), chunk=500):
        seen[entry.cls] += 1
        assert source.pulled - seen.total() < 500
    assert seen == {"changed": 1000, "missing": 2000, "extra": 2000}
    assert source.scans == 6  # chunks of extra ids alone scan no sandbox


def test_the_command_lists_every_class_by_default_and_extra_ids_on_request() -> None:
    args = argparse.Namespace(classes=None, partition=None, since=None, until=None)
    assert filters(args).classes == {"changed", "missing", "extra"}
    assert filters(argparse.Namespace(**{**vars(args), "classes": ["extra"]})).classes == {"extra"}
    line = text_line(Entry("x-1", "extra", None, b'{"amount": 3}'))
    assert line == 'extra    x-1  -  -\n    existing: {"amount": 3}'
