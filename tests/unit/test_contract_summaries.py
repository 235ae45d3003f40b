"""The summaries in Redis are a stored format: what the step Jobs wrote as untyped JSON before
`worker/contract/summaries.py` existed decodes into the types, encodes back byte for byte, and its
report keeps its hash (an approval names it)."""

from __future__ import annotations

from typing import Any

import orjson

from eventreplay.worker.contract.summaries import CombineSummary, ReportSummary
from eventreplay.worker.runtime.canonical import report_hash


def _old_report(**plan_extra: Any) -> dict[str, Any]:
    """A report as reconcile.py built it as a dict (before the types)."""
    ranges = [{"partition": 0, "startOffset": 0, "endOffset": 120}, {"partition": 1, "startOffset": 5, "endOffset": 9}]
    counts = {
        "replayedRecords": 124,
        "replayedIds": 120,
        "duplicates": 4,
        "replayedUnidentified": 0,
        "existingRecords": 130,
        "existingIds": 118,
        "superseded": 12,
        "unidentified": 1,
        "unchanged": 100,
        "changed": 12,
        "missing": 8,
        "extra": 6,
        "alreadyPromoted": 3,
    }
    return {
        "version": 1,
        "counts": counts,
        "replayedChecksum": "a1" * 32,
        "existingChecksum": "b2" * 32,
        "samples": {"unchanged": ["e-1"], "changed": ["e-2", "é-3"], "missing": [], "extra": ["e-9"]},
        "deltaByPartition": {"0": 15, "1": 5},
        "plan": {
            "replay": {"namespace": "ns", "name": "r", "uid": "u-1"},
            "sandboxTopic": "eventreplay.ns.r.sandbox",
            "sandbox": ranges,
            "existingTopic": "orders-out",
            "existing": ranges[:1],
            "eventId": {"source": "valueField", "field": "id"},
            "canonical": {"form": "sorted-key-json+headers/v1", "headers": ["trace"]},
            **plan_extra,
        },
    }


def _old_summary(report: dict[str, Any]) -> bytes:
    """The bytes spill.store_summary wrote (orjson, sorted keys)."""
    summary = {
        "version": 1,
        "reportHash": report_hash(report),
        "report": report,
        "run": "0123456789ab",
        "bucketBits": 6,
        "reportTopic": "eventreplay.ns.r.report",
        "completedAt": "2026-11-20T12:00:00Z",
    }
    return orjson.dumps(summary, option=orjson.OPT_SORT_KEYS)


def test_a_report_written_the_old_way_decodes_and_keeps_its_bytes_and_hash() -> None:
    for old in (_old_report(), _old_report(refresh=2)):
        raw = _old_summary(old)
        summary = ReportSummary.from_json(raw)
        assert summary.report_hash == report_hash(old) == report_hash(summary.report)
        assert summary.to_json() == raw
        assert summary.report.plan.refresh == old["plan"].get("refresh", 0)
        assert summary.report.counts.foreign == 0 and summary.report.plan.event_id.field == "id"


def test_optional_counts_are_omitted_while_unset_so_the_hash_holds() -> None:
    before_ledger = _old_report()
    del before_ledger["counts"]["alreadyPromoted"]  # a report made before the destination ledger
    foreign = _old_report()
    foreign["counts"]["foreign"] = 7  # another replay's records in the sandbox
    for old in (before_ledger, foreign):
        raw = _old_summary(old)
        summary = ReportSummary.from_json(raw)
        assert summary.to_json() == raw and report_hash(summary.report) == report_hash(old)
    assert ReportSummary.from_json(_old_summary(before_ledger)).report.counts.already_promoted is None
    assert ReportSummary.from_json(_old_summary(foreign)).report.counts.foreign == 7


def test_a_combine_summary_written_the_old_way_decodes_and_keeps_its_bytes() -> None:
    old = {
        "version": 1,
        "resultsTopic": "eventreplay.ns.r.results",
        "results": 30,
        "windows": 10,
        "counts": {"events": 200, "late": 2, "lateWindowDrops": 3, "noKey": 1},  # counts never incremented are absent
        "digest": "d" * 64,
        "rewritten": True,
        "completedAt": "2026-11-20T12:00:00Z",
    }
    raw = orjson.dumps(old, option=orjson.OPT_SORT_KEYS)
    summary = CombineSummary.from_json(raw)
    assert (summary.counts.late, summary.counts.no_key, summary.counts.skipped_values) == (2, 1, 0)
    assert summary.to_json() == raw
