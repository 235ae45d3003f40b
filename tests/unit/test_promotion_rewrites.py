"""The re-check at promotion, its pure part: which sink records are production's rewrites, where
the promoter reads them from, and how the rewritten ids are counted and listed."""

from __future__ import annotations

import msgspec
import pytest
from summary_fixtures import report_summary

from eventreplay.worker.contract.checkpoints import REWRITTEN_LISTED, PromotionCheckpoint, rewritten_ids
from eventreplay.worker.contract.headers import PROMOTED_BY_HEADER, REPLAY_UID_HEADER
from eventreplay.worker.contract.step_tasks import EventIdSource
from eventreplay.worker.contract.summaries import ReportSummary, SinkMark
from eventreplay.worker.contract.tasks import OffsetRange
from eventreplay.worker.promotion.rewrites import production_ids, tail_ranges
from eventreplay.worker.runtime.canonical import report_hash

MARK = SinkMark(topic="orders-out", end_offsets={"0": 10, "1": 4})


@pytest.mark.parametrize(
    ("since", "logs", "expected"),
    [
        ({}, {0: (0, 10), 1: (0, 4)}, []),  # nothing written since the report
        ({}, {0: (0, 15), 1: (0, 4)}, [(0, 10, 15)]),
        ({}, {0: (12, 15), 1: (0, 6)}, [(0, 12, 15), (1, 4, 6)]),  # retention passed the mark: from the log start
        ({}, {0: (0, 10), 1: (0, 4), 2: (3, 7)}, [(2, 3, 7)]),  # a partition added since: its whole log
        ({0: 15}, {0: (0, 18), 1: (0, 4)}, [(0, 15, 18)]),  # a catch-up reads on from where it stopped
        ({0: 15}, {0: (0, 15), 1: (0, 4)}, []),
    ],
)
def test_the_tail_starts_at_the_reports_mark(
    since: dict[int, int], logs: dict[int, tuple[int, int]], expected: list[tuple[int, int, int]]
) -> None:
    assert tail_ranges(MARK, since, logs) == [
        OffsetRange(partition=p, start_offset=s, end_offset=e) for p, s, e in expected
    ]


def test_only_records_no_promotion_wrote_are_production_rewrites() -> None:
    promoted = [(PROMOTED_BY_HEADER, b"ns/r"), (REPLAY_UID_HEADER, b"u")]
    records = [
        (b"a", b"{}", None),
        (b"b", b"{}", promoted),  # this or another promotion (a restarted attempt's committed records)
        (b"c", b"{}", [("trace", b"x")]),
        (None, b"{}", None),  # no id: names nothing
    ]
    assert production_ids(records, EventIdSource()) == {"a", "c"}
    by_field = EventIdSource(source="valueField", field="id")
    assert production_ids([(None, b'{"id": 7}', None), (b"k", b"not json", None)], by_field) == {"7"}


def test_rewritten_ids_are_counted_all_and_listed_bounded() -> None:
    ckpt = PromotionCheckpoint(partition=0, start_offset=0, end_offset=1, committed_offset=0, report_hash="h")
    for i in range(REWRITTEN_LISTED + 20):
        ckpt.add_rewritten(f"e{i:03d}")
    assert ckpt.rewritten == REWRITTEN_LISTED + 20
    # Bounded by count and by characters: the checkpoint is Kafka commit metadata (4 KiB by default).
    assert 0 < len(ckpt.rewritten_ids) <= REWRITTEN_LISTED and sum(map(len, ckpt.rewritten_ids)) <= 1024
    assert ckpt.rewritten_ids == [f"e{i:03d}" for i in range(len(ckpt.rewritten_ids))]
    assert len(ckpt.to_json()) < 2048
    assert PromotionCheckpoint.from_json(ckpt.to_json()) == ckpt
    many = [[f"p{p}-{i:03d}" for i in range(60)] for p in range(3)]
    assert rewritten_ids([["b", "a"], ["a", "c"]]) == ["a", "b", "c"]
    assert rewritten_ids(many) == sorted(i for ids in many for i in ids)[:REWRITTEN_LISTED]


def test_a_checkpoint_without_rewrites_keeps_its_bytes() -> None:
    ckpt = PromotionCheckpoint(partition=0, start_offset=0, end_offset=1, committed_offset=1, report_hash="h")
    assert b"rewritten" not in ckpt.to_json()


def test_the_sink_mark_rides_beside_the_report_not_in_its_hash() -> None:
    old = ReportSummary.from_json(report_summary())
    marked = msgspec.structs.replace(old, sink_mark=MARK)
    assert report_hash(marked.report) == report_hash(old.report)
    assert ReportSummary.from_json(marked.to_json()).sink_mark == MARK
    assert old.sink_mark is msgspec.UNSET and b"sinkMark" not in old.to_json()  # an older report: no re-check
