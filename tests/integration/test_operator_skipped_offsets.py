"""The Automatic gate on real sources: offsets that hold no record (transaction markers, aborted
transactions' records, records compacted away) are counted as such, so a complete replay of a
transactional or a compacted topic is promoted, and its totals account for every planned offset.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from support.kafka_tools import create_topic, produce, produce_transactions, read_partition, watermarks
from support.operator_driver import OperatorDriver
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack

OPEN = {"maxInvalidRatio": 1, "maxChangedRatio": 1, "maxMissingRatio": 1, "allowConflicts": True}


def _order(event_id: str, amount: int) -> bytes:
    return orjson.dumps({"event_id": event_id, "amount": amount})


def _spec(topic: str, sink: str, unique: str) -> dict[str, Any]:
    """Replay the whole topic into an empty sink; every threshold holds: only the totals can close the gate."""
    return stack_replay(
        topic,
        ledger=f"ledger-{unique}",
        sink_topic=sink,
        reconciliation={"existingOffsets": [{"partition": 0, "from": 0, "to": 0}]},
        promotion={"policy": "Automatic", "thresholds": OPEN},
    )


def _promoted(driver: OperatorDriver, name: str) -> dict[str, Any]:
    # Before skippedOffsets the gate stayed closed as IncompleteTotals: this wait timed out.
    return driver.wait_for_replay(
        name, lambda r: driver.condition(r, "Promoted").get("status") == "True", "promoted", timeout=300
    )


def _check(got: dict[str, Any], records: int, written: int | None = None) -> None:
    """Every planned offset accounted for, some as holding no record; every record read promoted."""
    totals = got["status"]["totals"]
    assert written is None or totals["read"] == written
    assert totals["skippedOffsets"] > 0
    assert totals["read"] + totals["skippedOffsets"] == totals["records"] == records
    assert got["status"]["promotion"]["written"] == totals["read"]


def test_a_transactional_source_with_commits_and_aborts_is_promoted_automatically(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic, sink = f"tx-{unique}", f"tx-out-{unique}"
    create_topic(kafka_admin, topic, 1)
    create_topic(kafka_admin, sink, 1)
    transactions = [([_order(f"t{t}-{i}", i) for i in range(20)], t % 3 != 1) for t in range(6)]
    produce_transactions(kafka_bootstrap, topic, transactions, f"seed-{unique}")
    ((_, high),) = watermarks(kafka_bootstrap, topic, 1)
    committed = sum(len(values) for values, commit in transactions if commit)
    assert high == 6 * 20 + 6  # every record (aborted ones too) and one marker per transaction
    assert len(read_partition(kafka_bootstrap, topic)) == committed == 80
    with driver.running():
        driver.create("tx", _spec(topic, sink, unique))
        got = _promoted(driver, "tx")
    _check(got, high, committed)
    assert {r.key for r in read_partition(kafka_bootstrap, sink)} == {
        f"t{t}-{i}".encode() for t in range(6) if t % 3 != 1 for i in range(20)
    }


def _compacted(kafka_admin: Any, kafka_bootstrap: str, topic: str) -> tuple[int, int]:
    """A compacted topic the cleaner has run over: (offsets, records left)."""
    create_topic(
        kafka_admin,
        topic,
        1,
        {
            "cleanup.policy": "compact",
            "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01",
            "min.compaction.lag.ms": "0",
            "delete.retention.ms": "100",
        },
    )
    # 200 orders over 20 keys: compaction keeps the last order of each key.
    orders = [Record(f"k{i % 20}".encode(), _order(f"c-{i}", i), "valid", f"c-{i}") for i in range(200)]
    produce(kafka_bootstrap, topic, orders)
    time.sleep(0.5)  # past segment.ms: the next append rolls the segment, leaving the first one cleanable
    produce(kafka_bootstrap, topic, [Record(b"k-last", _order("c-last", 0), "valid", "c-last")])
    ((_, high),) = watermarks(kafka_bootstrap, topic, 1)
    deadline = time.monotonic() + 120  # the log cleaner wakes every 15 s (log.cleaner.backoff.ms)
    while (left := len(read_partition(kafka_bootstrap, topic))) == high:
        assert time.monotonic() < deadline, "the log cleaner did not compact the topic within 120 s"
        time.sleep(1)
    return high, left


def test_a_compacted_source_is_promoted_automatically(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic, sink = f"compacted-{unique}", f"compacted-out-{unique}"
    create_topic(kafka_admin, sink, 1)
    high, left = _compacted(kafka_admin, kafka_bootstrap, topic)
    assert high == 201 and left < high
    with driver.running():
        driver.create("compacted", _spec(topic, sink, unique))
        got = _promoted(driver, "compacted")
    # Not `left` exactly: the cleaner may run again before the replay reads the topic.
    _check(got, high)
    assert got["status"]["totals"]["read"] <= left
