"""`eventreplay` output, pure parts: tables, progress bars, rates, status rendering, one-line errors."""

from __future__ import annotations

from typing import Any

from operator_fixtures import spec

from eventreplay.cli import status_view, table
from eventreplay.cli.bars import RateTracker, Row, bar, eta_text, rate_text, render_row, render_rows
from eventreplay.cli.errors import one_line
from eventreplay.operator.api.v1alpha1 import Plan, PlanPartition
from eventreplay.worker.contract.checkpoints import Checkpoint

PLAN = Plan(
    as_of="2026-11-20T12:00:00.000Z",
    hash="0123456789abcdef",
    input_hash="fedcba9876543210",
    topic="orders",
    topic_partitions=4,
    sandbox_topic="eventreplay.ns.r.sandbox",
    dead_letter_topic="eventreplay.ns.r.dlq",
    records=250,
    partitions=[
        PlanPartition(partition=0, start_offset=0, end_offset=100, records=100),
        PlanPartition(partition=2, start_offset=1000, end_offset=1150, records=150),
    ],
    notes=["partitions 2: window.offsets.to is past the end offset: resolved to the end"],
)


def test_the_plan_names_its_report_topic_when_it_has_one() -> None:
    named = PLAN.model_copy(update={"report_topic": "eventreplay.ns.r.0011223344556677.report"})
    assert "report topic:      eventreplay.ns.r.0011223344556677.report" in table.plan_table(named, "ns", "r")
    assert "report topic" not in table.plan_table(PLAN, "ns", "r")


def test_plan_table_is_exact() -> None:
    assert table.plan_table(PLAN, "ns", "r") == "\n".join(
        [
            "plan 0123456789abcdef for ns/r: topic orders (2 of 4 partitions) as of 2026-11-20T12:00:00.000Z",
            "PARTITION  START   END  COUNT",
            "        0      0   100    100",
            "        2   1000  1150    150",
            "    total                 250",
            "sandbox topic:     eventreplay.ns.r.sandbox",
            "dead-letter topic: eventreplay.ns.r.dlq",
            "note: partitions 2: window.offsets.to is past the end offset: resolved to the end",
        ]
    )
    assert table.plan_json(PLAN, "ns", "r")["plan"]["partitions"][1] == {
        "partition": 2,
        "startOffset": 1000,
        "endOffset": 1150,
        "records": 150,
    }


def _ckpt(part: PlanPartition, committed: int, **counts: Any) -> Checkpoint:
    """A checkpoint of one of PLAN's partitions, committed up to `committed`."""
    return Checkpoint(
        partition=part.partition,
        start_offset=part.start_offset,
        end_offset=part.end_offset,
        committed_offset=committed,
        **counts,
    )


def test_run_summary_sums_buckets_and_lists_digests_and_failures() -> None:
    first, third = PLAN.partitions
    tallies_0 = {"emitted": 90, "duplicate": 5, "dead_lettered": 5, "reasons": {"schema": 3, "tombstone": 2}}
    tallies_2 = {"emitted": 30, "processed": 8, "dead_lettered": 2, "reasons": {"schema": 2}}
    ckpts = {
        0: _ckpt(first, 100, digest="ab" * 32, state="done", **tallies_0),
        2: _ckpt(third, 1040, digest="cd" * 32, **tallies_2),
    }
    data = table.summary_json(PLAN, "local-x", ckpts, {2: "permanent: boom"}, 3.25)
    assert data["totals"] == {
        "read": 140,
        "emitted": 120,
        "duplicate": 5,
        "processed": 8,
        "deadLettered": 7,
        "deadLetterReasons": {"schema": 5, "tombstone": 2},
    }
    assert [p["state"] for p in data["partitions"]] == ["done", "failed"]
    assert data["failed"] == [2]
    text = table.summary_text(data)
    assert "        0  done     100       90          5          0              5" in text
    assert "    total           140      120          5          8              7" in text
    assert "dead letters: schema 5, tombstone 2" in text
    assert f"  0: {'ab' * 32}" in text
    assert text.endswith("partition 2 failed: permanent: boom")


def test_bars() -> None:
    assert bar(0.5, 8) == "[████    ]"
    assert bar(1 / 16, 8) == "[▌       ]"
    assert bar(1.5, 4) == "[████]"
    assert bar(0.5, 8, unicode=False) == "[####----]"
    assert rate_text(None) == "-/s" and rate_text(12.4) == "12/s" and rate_text(1234) == "1.2k/s"
    assert rate_text(45_000) == "45k/s"
    assert eta_text(0, None) == "done" and eta_text(10, 0) == "ETA -" and eta_text(200, 1.0) == "ETA 3m20s"


def test_rows_align_and_collapse_when_too_many() -> None:
    assert render_row(Row("3", 25, 100, "running", 5.0), width=4, label_width=3) == (
        "  3  [█   ]   25%  25/100  5/s  ETA 15s  running"
    )
    assert render_row(Row("1", 0, 10, "failed", note="permanent: gone"), width=4) == (
        "   1  [    ]    0%  0/10  failed  permanent: gone"
    )
    rows = [Row(str(p), 10, 10, "done") for p in range(10)] + [Row("10", 1, 10, "running", 1.0)]
    lines = render_rows(rows, 3, width=4)
    assert len(lines) == 3
    assert lines[0].startswith(" 0  [████]  100%")
    assert lines[1].startswith("10  [▍   ]   10%")
    assert lines[2] == "... 9 more (9 done)"


def test_rate_tracker_uses_recent_samples() -> None:
    rates = RateTracker(window=10)
    assert rates.observe("p", 0, at=100.0) is None
    assert rates.observe("p", 500, at=101.0) == 500.0
    assert rates.observe("p", 1500, at=102.0) == 750.0
    for t in range(103, 120):
        rates.observe("p", 1500 + (t - 102) * 100, at=float(t))
    assert rates.observe("p", 3300, at=120.0) == 100.0  # the early burst has left the window


def test_one_line_errors() -> None:
    raw = 'KafkaError{code=_TRANSPORT,val=-195,str="Failed to get metadata: Local: Broker transport failure"}'
    assert one_line(raw) == "Failed to get metadata: Local: Broker transport failure"
    assert one_line("first\nsecond") == "first"
    assert len(one_line("x" * 1000)) == 300


def _replay(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "r", "namespace": "ns", "generation": 2, "resourceVersion": "7"},
        "spec": {"promotion": {"policy": "Manual"}},
        "status": {"observedGeneration": 2, **status},
    }


def _cond(kind: str, value: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": kind, "status": value, "reason": reason, "message": message, "lastTransitionTime": "t"}


def test_status_rendering_shows_conditions_bars_totals_and_report() -> None:
    obj = _replay(
        phase="Replaying",
        plan=PLAN.model_dump(by_alias=True),
        conditions=[
            _cond("Ready", "False", "Replaying", "1/2 partitions done"),
            _cond("Stalled", "False", "Replaying"),
        ],
        partitions=[
            {"partition": 0, "state": "Done", "emitted": 90, "percent": 100},
            {"partition": 2, "state": "Running", "committedOffset": 1075, "percent": 50, "attempt": 1},
        ],
        totals={"records": 250, "read": 175, "emitted": 150, "deadLetterReasons": {"schema": 3}},
        progress={"partitions": "1/2", "percent": 70, "eventsPerSecond": 12.5, "eta": "6s"},
        reconciliation={"reportHash": "aaaabbbbccccdddd", "changed": 3, "missing": 4, "newField": {"x": 1}},
    )
    text = status_view.render(obj, max_rows=10)
    assert text.splitlines()[0] == "EventReplay ns/r   phase Replaying   generation 2 (observed 2)"
    assert "Ready      False   Replaying  1/2 partitions done" in text
    assert "0  [████████████████████████]  100%  100/100  Done  emitted 90" in text
    assert "2  [████████████            ]   50%  75/150  -/s  ETA -  Running  attempt 1" in text
    assert "overall: 1/2 partitions done, 70%, 12.5 events/s, ETA 6s" in text
    assert "dead letters: schema 3" in text
    assert "  reportHash: aaaabbbbccccdddd" in text and '  newField: {"x": 1}' in text
    assert "approval: awaiting approval of report aaaabbbbccccdddd" in text
    assert status_view.outcome(obj) is None


def test_status_rendering_names_the_approver_of_the_current_report() -> None:
    report = {"reportHash": "aaaabbbbccccdddd"}
    approval = {"reportHash": "aaaabbbbccccdddd", "approvedBy": "bob", "approvedAt": "2026-11-20T12:00:00Z"}
    obj = _replay(reconciliation=report, promotion=approval)
    obj["spec"]["promotion"]["approvedReportHash"] = "aaaabbbbccccdddd"
    text = status_view.render(obj, max_rows=10)
    assert "approval: report aaaabbbbccccdddd approved by bob" in text
    assert "  approvedAt: 2026-11-20T12:00:00Z" in text
    unnamed = _replay(reconciliation=report)
    unnamed["spec"]["promotion"]["approvedReportHash"] = "aaaabbbbccccdddd"
    assert "approval: report aaaabbbbccccdddd approved\n" in status_view.render(unnamed, max_rows=10) + "\n"


def test_outcome_waits_for_the_current_generation() -> None:
    ready = _replay(conditions=[_cond("Ready", "True", "Replayed")])
    assert status_view.outcome(ready) == "Ready"
    assert status_view.outcome(_replay(conditions=[_cond("Stalled", "True", "TopicNotFound")])) == "Stalled"
    stale = _replay(conditions=[_cond("Ready", "True", "Replayed")])
    stale["status"]["observedGeneration"] = 1
    assert status_view.outcome(stale) is None
    assert "no conditions yet" in status_view.render(_replay())


def test_the_plan_says_how_values_are_read_and_written() -> None:
    registry = {"url": "http://sr:8080/apis/ccompat/v6"}
    source = {"bootstrapServers": "k:9092", "topic": "orders", "format": "avro", "schemaRegistry": registry}
    sink = {"topic": "orders-out", "format": "jsonSchema", "schemaRegistry": {"endpoint": "prod-sr"}}
    lines = table.format_lines(spec(source=source, sink=sink))
    assert lines == [
        "source values:     avro, decoded by writer schema id (http://sr:8080/apis/ccompat/v6)",
        "sink values:       jsonSchema, encoded under subject orders-out-value (policy alias prod-sr)",
    ]
    rendered = table.plan_table(PLAN, "ns", "r", lines).splitlines()
    assert rendered[rendered.index("dead-letter topic: eventreplay.ns.r.dlq") + 1 :][:2] == lines
    assert table.format_lines(spec()) == [], "plain JSON says nothing"
