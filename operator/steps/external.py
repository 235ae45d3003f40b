"""The external-results step of `engine: External` aggregate replays: in place of the combine Job,
wait for the user (or a pipeline) to run the exported Flink job and say so
(spec.reconciliation.externalResults.complete), then verify the results topic once and record it
in status.aggregation, after which reconciliation and the gate run exactly as after a combine Job.

Level-based like every step: while nothing is recorded, each pass with `complete` re-reads the
topic, so a job run again after a refusal is judged on the next spec change (spec.retry).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import conditions as cond
from ..api.v1alpha1 import AggregationStatus
from ..conditions import Want, kstatus
from ..job_names import Owner
from ..results_scan import ResultsScan
from .facts import in_progress, stalled

AWAITING = "AwaitingExternalResults"
INVALID = "ExternalResultsInvalid"
SIGNAL = "spec.reconciliation.externalResults.complete"


@dataclass(frozen=True)
class ExternalFacts:
    owner: Owner
    topic: str
    """The replay's results topic, where the external job writes."""
    complete: bool
    """What spec.reconciliation.externalResults.complete says."""
    scan: ResultsScan | None
    """The topic as read this pass (only once complete; None: missing or not read)."""
    unavailable: str = ""
    """Why Kafka could not be read this time ('' when it could)."""


@dataclass(frozen=True)
class ExternalVerdict:
    wants: list[Want]
    aggregation: AggregationStatus | None = None
    """The verified results to record (reconciliation starts from them); None while waiting."""


def hand_off_command(owner: Owner) -> str:
    """The exact commands that run the replay's Flink twin and signal its completion."""
    name, ns = owner.name, owner.namespace
    patch = '{"spec":{"reconciliation":{"externalResults":{"complete":true}}}}'
    return (
        f"kubectl get eventreplay {name} -n {ns} -o yaml | eventreplay export flink-sql - > {name}.sql; "
        f"run it with Flink (sql-client.sh -f {name}.sql), then: "
        f"kubectl patch eventreplay {name} -n {ns} --type merge -p '{patch}'"
    )


def problem(topic: str, uid: str, scan: ResultsScan | None) -> str:
    """Why the results topic cannot be reconciled ('' when it can)."""
    if scan is None:
        return f"{SIGNAL} is true but the results topic {topic} does not exist"
    if scan.records == 0:
        return f"{SIGNAL} is true but the results topic {topic} is empty"
    if scan.foreign:
        return (
            f"{scan.foreign} of {scan.records} records in {topic} lack this replay's er-replay-uid {uid} "
            "(exported from another replay's manifest?)"
        )
    if scan.unkeyed:
        return f"{scan.unkeyed} of {scan.records} records in {topic} have no result id (key)"
    return ""


def decide_external(f: ExternalFacts, now: str) -> ExternalVerdict:
    """While no results are recorded: wait for the signal, then verify the topic and record it."""
    if not f.complete:
        msg = f"waiting for external results in {f.topic}: {hand_off_command(f.owner)}"
        return ExternalVerdict([*kstatus("Waiting", AWAITING, msg), Want(cond.RECONCILED, "False", AWAITING, msg)])
    if f.unavailable:
        msg = f"cannot read the external results yet: {f.unavailable}"
        pending = Want(cond.RECONCILED, "False", AWAITING, msg)
        return ExternalVerdict(in_progress("KafkaUnavailable", msg, pending))
    why = problem(f.topic, f.owner.uid, f.scan)
    if why or f.scan is None:
        msg = f"{why}; write the results again (eventreplay export flink-sql)"
        return ExternalVerdict(stalled(INVALID, msg, Want(cond.RECONCILED, "False", INVALID, msg)))
    scan = f.scan
    recorded = AggregationStatus(
        engine="External",
        results_topic=f.topic,
        results=scan.results,
        windows=scan.windows,
        records=scan.records,
        completed_at=now,
    )
    return ExternalVerdict([], recorded)
