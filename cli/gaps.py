"""`eventreplay gaps MANIFEST`: which source events never reached the sink, and the replays
that would recover them. Nothing is written: the worker's read-only gap finder does the reading
(`python -m eventreplay.worker gaps`), this module plans, runs it and renders its answer.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from typing import Any

import orjson
import yaml

from eventreplay.operator.api.v1alpha1 import Plan
from eventreplay.operator.job_tasks import build_gap_task
from eventreplay.worker.contract.environment import GAP_TASK_ENV
from eventreplay.worker.contract.exit_codes import EXIT_DONE, EXIT_RETRIABLE

from .errors import EXIT_FAILED, EXIT_UNREACHABLE, CliError, one_line
from .manifest import Manifest

MAX_NAME = 253


def find(found: Manifest, plan: Plan, join_seconds: int) -> dict[str, Any]:
    """Run the gap finder on the planned window; its JSON summary."""
    task = build_gap_task(found.spec, plan, join_seconds)
    done = subprocess.run(
        [sys.executable, "-m", "eventreplay.worker", "gaps"],
        env={**os.environ, GAP_TASK_ENV: task.to_json()},
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != EXIT_DONE:
        code = EXIT_UNREACHABLE if done.returncode == EXIT_RETRIABLE else EXIT_FAILED
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise CliError(f"gap finder failed: {one_line(lines[-1] if lines else f'exit {done.returncode}')}", code)
    result: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    return result


def recovery_manifests(found: Manifest, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One EventReplay per outage: its offsets per partition, and the sink compared
    over the window's own times (the slack of the original reconciliation still applies)."""
    original = found.replay.model_dump(by_alias=True, exclude_none=True, exclude_unset=True, mode="json")
    out = []
    for i, window in enumerate(result["outages"], start=1):
        spec = copy.deepcopy(original["spec"])
        spec["source"].pop("partitions", None)
        # The outage's ranges are already {partition, from, to}: the perPartition shape.
        spec["window"] = {"offsets": {"perPartition": [dict(r) for r in window["partitions"]]}}
        reconciliation = spec.setdefault("reconciliation", {})
        reconciliation.pop("existingOffsets", None)
        reconciliation["existingTimestamps"] = {"from": window["from"], "to": window["to"]}
        suffix = f"-gap-{i}"
        out.append(
            {
                "apiVersion": original["apiVersion"],
                "kind": original["kind"],
                "metadata": {"name": found.name[: MAX_NAME - len(suffix)] + suffix, "namespace": found.namespace},
                "spec": spec,
            }
        )
    return out


def render_text(found: Manifest, result: dict[str, Any]) -> str:
    counts = result["counts"]
    lines = [
        f"{found.namespace}/{found.name}: {counts.get('sourceRecords', 0)} source records, "
        f"{counts.get('destinationRecords', 0)} destination records in {result['existingTopic']}; "
        f"{counts.get('missing', 0)} missing ({result['missingIds']} ids) in {len(result['gaps'])} gaps, "
        f"{len(result['outages'])} outages; {counts.get('sourceWithoutId', 0)} source records without an id"
        + (f", {undecodable} undecodable" if (undecodable := counts.get("sourceUndecodable", 0)) else ""),
    ]
    if result["gaps"]:
        lines.append("")
        lines.append(
            f"{'PARTITION':>9}  {'FIRST':>10}  {'LAST':>10}  {'FROM':<24}  {'TO':<24}  {'MISSING':>7}  SAMPLE IDS"
        )
        for gap in result["gaps"]:
            lines.append(
                f"{gap['partition']:>9}  {gap['firstOffset']:>10}  {gap['lastOffset']:>10}  {gap['firstTime']:<24}  "
                f"{gap['lastTime']:<24}  {gap['missing']:>7}  {', '.join(gap['sampleIds'])}"
            )
    for i, window in enumerate(result["outages"], start=1):
        ranges = ", ".join(f"{r['partition']}:[{r['from']},{r['to']})" for r in window["partitions"])
        lines.append(f"outage {i}: {window['from']} .. {window['to']}, {window['missing']} missing; {ranges}")
    if result["outages"]:
        lines.append("recovery manifests: eventreplay gaps MANIFEST -o manifests")
    return "\n".join(lines)


def render_manifests(found: Manifest, result: dict[str, Any]) -> str:
    return yaml.safe_dump_all(recovery_manifests(found, result), sort_keys=False)
