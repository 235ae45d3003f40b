"""Missing records -> gaps per partition -> outages across partitions (pure)."""

from __future__ import annotations

from eventreplay.worker.gaps.grouping import Missing, group_gaps, iso_ms, outages


def _m(partition: int, offset: int, second: int) -> Missing:
    return Missing(partition, offset, second * 1000, f"id-{partition}-{offset}")


def test_a_gap_holds_records_of_one_partition_within_the_join_time() -> None:
    records = [_m(0, 5, 10), _m(0, 6, 11), _m(0, 9, 17), _m(1, 5, 10), _m(0, 30, 40)]
    gaps = group_gaps(records, join_ms=6000)
    assert [(g.partition, g.first_offset, g.last_offset, len(g.event_ids)) for g in gaps] == [
        (0, 5, 9, 3),
        (0, 30, 30, 1),
        (1, 5, 5, 1),
    ]
    assert gaps[0].as_json(2)["sampleIds"] == ["id-0-5", "id-0-6"]
    # A join time of zero splits whenever time moves on.
    assert len(group_gaps(records, join_ms=0)) == 5


def test_outages_merge_gaps_of_all_partitions_by_time() -> None:
    gaps = group_gaps([_m(0, 10, 100), _m(0, 11, 101), _m(1, 3, 103), _m(2, 7, 200), _m(1, 4, 104)], join_ms=2000)
    found = outages(gaps, join_ms=2000)
    assert [(w.first_ms, w.last_ms, w.ranges()) for w in found] == [
        (100_000, 104_000, [(0, 10, 12), (1, 3, 5)]),
        (200_000, 200_000, [(2, 7, 8)]),
    ]
    assert found[0].as_json() == {
        "from": iso_ms(100_000),
        "to": iso_ms(104_001),
        "missing": 4,
        "partitions": [{"partition": 0, "from": 10, "to": 12}, {"partition": 1, "from": 3, "to": 5}],
    }


def test_nothing_missing_means_no_gap_and_no_window() -> None:
    assert group_gaps([], join_ms=1000) == []
    assert outages([], join_ms=1000) == []
