"""Plain-text tables: the plan per partition and the summary of a local run (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventreplay.operator.api.v1alpha1 import EventReplaySpec, Plan
from eventreplay.worker.contract.checkpoints import Checkpoint


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[bool] | None = None) -> str:
    """Columns padded to the widest cell; numeric columns right-aligned (as `kubectl get` does)."""
    right = list(numeric) if numeric is not None else [False] * len(headers)
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, right, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def format_lines(spec: EventReplaySpec) -> list[str]:
    """How the replay reads and writes values, when not plain JSON (the plan table's tail)."""
    lines = []
    for side, fmt, registry, how in (
        ("source", spec.source.format, spec.source.schema_registry, "decoded by writer schema id"),
        ("sink", spec.sink.format, spec.sink.schema_registry, f"encoded under subject {spec.sink.topic}-value"),
    ):
        if registry is not None:
            where = registry.url or f"policy alias {registry.endpoint}"
            lines.append(f"{side + ' values:':<19}{fmt}, {how} ({where})")
    return lines


def plan_table(plan: Plan, namespace: str, name: str, extra: Sequence[str] = ()) -> str:
    head = (
        f"plan {plan.hash} for {namespace}/{name}: topic {plan.topic} "
        f"({len(plan.partitions)} of {plan.topic_partitions} partitions) as of {plan.as_of}"
    )
    rows: list[list[object]] = [[p.partition, p.start_offset, p.end_offset, p.records] for p in plan.partitions]
    rows.append(["total", "", "", plan.records])
    body = table(["PARTITION", "START", "END", "COUNT"], rows, [True, True, True, True])
    tail = [f"sandbox topic:     {plan.sandbox_topic}", f"dead-letter topic: {plan.dead_letter_topic}"]
    if plan.report_topic:
        tail.append(f"report topic:      {plan.report_topic}")
    if plan.read_range is not None and plan.requested_window is not None:
        asked, read = plan.requested_window, plan.read_range
        tail.append(f"replay window:     {asked.from_} .. {asked.to}")
        tail.append(f"read range:        {read.from_} .. {read.to} (whole aggregation windows)")
    tail += [*extra, *[f"note: {note}" for note in plan.notes]]
    return "\n".join([head, body, *tail])


def plan_json(plan: Plan, namespace: str, name: str) -> dict[str, Any]:
    body = plan.model_dump(by_alias=True)
    # A partition's optional marks (atHead) appear only where they are set, as in status.plan.
    body["partitions"] = [p.model_dump(by_alias=True, exclude_none=True) for p in plan.partitions]
    return {"namespace": namespace, "name": name, "plan": body}


def _bucket_totals(checkpoints: dict[int, Checkpoint]) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    for ckpt in checkpoints.values():
        for reason, count in ckpt.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    return {
        "read": sum(c.records for c in checkpoints.values()),
        "emitted": sum(c.emitted for c in checkpoints.values()),
        "duplicate": sum(c.duplicate for c in checkpoints.values()),
        "processed": sum(c.processed for c in checkpoints.values()),
        "deadLettered": sum(c.dead_lettered for c in checkpoints.values()),
        "deadLetterReasons": dict(sorted(reasons.items())),
    }


def summary_json(
    plan: Plan, uid: str, checkpoints: dict[int, Checkpoint], failures: dict[int, str], elapsed: float
) -> dict[str, Any]:
    parts = []
    for p in plan.partitions:
        ckpt = checkpoints.get(p.partition)
        entry: dict[str, Any] = {"partition": p.partition, "startOffset": p.start_offset, "endOffset": p.end_offset}
        entry["state"] = "failed" if p.partition in failures else (ckpt.state if ckpt else "pending")
        if ckpt is not None:
            entry.update(
                committedOffset=ckpt.committed_offset,
                read=ckpt.records,
                emitted=ckpt.emitted,
                duplicate=ckpt.duplicate,
                processed=ckpt.processed,
                deadLettered=ckpt.dead_lettered,
                deadLetterReasons=dict(sorted(ckpt.reasons.items())),
                digest=ckpt.digest,
            )
        if p.partition in failures:
            entry["message"] = failures[p.partition]
        parts.append(entry)
    return {
        "uid": uid,
        "planHash": plan.hash,
        "asOf": plan.as_of,
        "topic": plan.topic,
        "sandboxTopic": plan.sandbox_topic,
        "deadLetterTopic": plan.dead_letter_topic,
        "reportTopic": plan.report_topic,
        "records": plan.records,
        "elapsedSeconds": round(elapsed, 2),
        "totals": _bucket_totals(checkpoints),
        "partitions": parts,
        "failed": sorted(failures),
    }


def summary_text(data: dict[str, Any]) -> str:
    """The final summary of `eventreplay run` from `summary_json`'s dict."""
    rows = [
        [
            p["partition"],
            p["state"],
            p.get("read", 0),
            p.get("emitted", 0),
            p.get("duplicate", 0),
            p.get("processed", 0),
            p.get("deadLettered", 0),
        ]
        for p in data["partitions"]
    ]
    t = data["totals"]
    rows.append(["total", "", t["read"], t["emitted"], t["duplicate"], t["processed"], t["deadLettered"]])
    lines = [
        f"replay uid {data['uid']}, plan {data['planHash']} (as of {data['asOf']}), "
        f"{data['records']} records of {data['topic']} in {data['elapsedSeconds']:.1f}s",
        table(
            ["PARTITION", "STATE", "READ", "EMITTED", "DUPLICATE", "PROCESSED", "DEAD-LETTERED"],
            rows,
            [True, False, True, True, True, True, True],
        ),
    ]
    reasons = t["deadLetterReasons"]
    if reasons:
        lines.append("dead letters: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
    lines.append("digests (SHA-256 chain over the emitted records, per partition):")
    lines += [f"  {p['partition']}: {p.get('digest') or '-'}" for p in data["partitions"]]
    lines.append(f"sandbox: {data['sandboxTopic']}   dead letters: {data['deadLetterTopic']}")
    for p in data["partitions"]:
        if p.get("message"):
            lines.append(f"partition {p['partition']} failed: {p['message']}")
    return "\n".join(lines)
