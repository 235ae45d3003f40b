"""The replay of the seeded reconciliation scenario and the checks of its outcome, shared by the
operator tests that run Jobs on the process harness, the real-node e2e and the kind test."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from datagen.orders import ORDER_SCHEMA
from devstack import config
from eventreplay.worker.runtime.canonical import canonical_hash
from support.kafka_tools import read_topic
from support.reconciliation_scenario import SLACK, Scenario

COUNTS = ("unchanged", "changed", "missing", "extra", "duplicates", "superseded", "unidentified")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def replay_spec(
    sc: Scenario,
    unique: str,
    promotion: dict[str, Any],
    *,
    bootstrap: str | None = None,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """The EventReplay spec of the scenario; Kafka and Redis as the Jobs reach them (default: loopback)."""
    return {
        "source": {"bootstrapServers": bootstrap or config.kafka_bootstrap(), "topic": sc.source},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "validation": {"eventIdField": "event_id", "jsonSchema": ORDER_SCHEMA},
        "dedup": {"redis": {"url": redis_url or config.redis_url()}, "ledger": f"ledger-{unique}"},
        "sink": {"topic": sc.destination},
        # The existing output is where the faulty processor wrote: the failure window (+ slack).
        "reconciliation": {
            "slackSeconds": SLACK,
            "existingTimestamps": {"from": iso(sc.from_ms), "to": iso(sc.to_ms)},
        },
        "promotion": promotion,
    }


def check_report(got: dict[str, Any], sc: Scenario, *, report_partitions: bool = True) -> dict[str, Any]:
    """The status report equals the scenario's truth. `report_partitions=False`: a status written by
    chart 0.1.0's operator, which did not record where the report's records are."""
    report = got["status"]["reconciliation"]
    assert {c: report[c] for c in COUNTS} == {c: sc.expected[c] for c in COUNTS}
    assert report["replayedIds"] == sc.expected["replayedIds"]
    assert len(report["reportHash"]) == 64 and len(report["replayedChecksum"]) == 64
    assert report["existingTopic"] == sc.destination
    assert report["reportTopic"].endswith(".report")
    # Where the report's records are: at least one offset per changed, missing or extra id.
    if report_partitions:
        held = sum(r["endOffset"] - r["startOffset"] for r in report.get("reportPartitions") or [])
        assert held >= report["changed"] + report["missing"] + report["extra"]
    else:
        assert "reportPartitions" not in report
    assert set(report["samples"]["missing"]) <= {i for i, f in sc.fate.items() if f == "missed"}
    assert report["samples"]["changed"], "samples of changed ids"
    return dict(report)


def check_sink(
    bootstrap: str, sc: Scenario, ns: str, name: str, report_hash: str, *, rewritten: dict[str, bytes] | None = None
) -> None:
    """Per id the last committed record is the correct output; the delta was promoted once each.
    `rewritten`: ids production rewrote after the report, by value: that value is their last record,
    and they were not promoted."""
    kept = rewritten or {}
    from support.reconciliation_scenario import DEST_PARTITIONS

    last: dict[str, bytes] = {}
    promoted: Counter[str] = Counter()
    for _, rec in read_topic(bootstrap, sc.destination, DEST_PARTITIONS):
        if rec.key is None:
            continue
        last[rec.key.decode()] = rec.value
        if "er-promoted-by" in rec.headers:
            promoted[rec.key.decode()] += 1
            assert rec.headers["er-promoted-by"] == f"{ns}/{name}".encode()
            assert rec.headers["er-report-hash"] == report_hash.encode()
    for event_id, right in sc.truth.items():
        if event_id not in kept:
            assert canonical_hash(last[event_id]) == canonical_hash(right), event_id
    for event_id, value in kept.items():
        assert last[event_id] == value, event_id
    assert [i for i, n in promoted.items() if n > 1] == [], "an id was promoted twice"
    assert set(promoted) == sc.delta - set(kept)
