"""The checks a reconciliation passes before it stores a report (`worker/reconciliation/invariants.py`)."""

from __future__ import annotations

import pytest

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.reconciliation.invariants import check, violations

# 100 replayed records (10 duplicates) -> 90 ids: 60 unchanged (5 of them already promoted), 20
# changed, 10 missing (30 in the delta); 80 existing records (5 superseded) -> 75 ids, 5 of them extra.
SOUND = {
    "replayedRecords": 100,
    "duplicates": 10,
    "replayedIds": 90,
    "existingRecords": 80,
    "superseded": 5,
    "existingIds": 75,
    "unchanged": 60,
    "changed": 20,
    "missing": 10,
    "alreadyPromoted": 5,
    "extra": 5,
}
PUBLISHED = {"changed": 20, "missing": 10, "extra": 5}  # what the report topic lists


def _published(changed: int = 20, missing: int = 10, extra: int = 5) -> dict[str, int]:
    return {"changed": changed, "missing": missing, "extra": extra}


def test_a_sound_report_passes() -> None:
    assert violations(SOUND, PUBLISHED, True) == []
    check(SOUND, PUBLISHED, True)


@pytest.mark.parametrize(
    ("change", "published", "marker", "said"),
    [
        ({}, PUBLISHED, False, "marker key is gone"),
        # A FLUSHALL after pass 1: the replayed side reads back fewer ids than it spilled.
        ({"replayedIds": 40, "unchanged": 10}, PUBLISHED, True, "90 replayed ids spilled, 40 read back"),
        ({"existingIds": 0}, PUBLISHED, True, "75 existing ids spilled, 0 read back"),
        ({"missing": 9}, _published(missing=9), True, "90 replayed ids, 89 classified"),
        # A FLUSHALL after pass 3: the delta published is short.
        ({}, _published(changed=12, missing=0), True, "30 changed or missing ids, 12 published"),
        # ... or the extra ids published are.
        ({}, _published(extra=2), True, "5 extra ids, 2 published"),
    ],
)
def test_each_broken_invariant_is_named_and_refused(
    change: dict[str, int], published: dict[str, int], marker: bool, said: str
) -> None:
    counts = {**SOUND, **change}
    broken = violations(counts, published, marker)
    assert len(broken) == 1 and said in broken[0]
    with pytest.raises(RetriableFailure, match="the report is incomplete, not stored: .*" + said):
        check(counts, published, marker)
