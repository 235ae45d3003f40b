"""What a fault test measured, for the published table (`make reliability`, bench/reliability.py):
one JSON line per faulty run in the file named by $EVENTREPLAY_FAULT_LOG (nothing when unset).

Recorded before the test's own assertions, so a broken guarantee still shows its figures.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Hashable, Iterable

import orjson

FAULT_LOG_ENV = "EVENTREPLAY_FAULT_LOG"
IDENTICAL = "identical"
FAILED_LOUDLY = "failed loudly"


def lost_and_doubled(expected: Iterable[Hashable], got: Iterable[Hashable]) -> tuple[int, int]:
    """Records of `expected` missing from `got`, and records `got` holds more often than `expected`."""
    want, have = Counter(expected), Counter(got)
    return sum((want - have).values()), sum((have - want).values())


def record(fault: str, outcome: str, lost: int, doubled: int) -> None:
    path = os.environ.get(FAULT_LOG_ENV)
    if not path:
        return
    line = {"fault": fault, "outcome": outcome, "lost": lost, "doubled": doubled}
    with open(path, "ab") as out:
        out.write(orjson.dumps(line) + b"\n")
