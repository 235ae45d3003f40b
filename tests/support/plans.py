"""A pinned replay plan built from its partition spans, for tests that write a status by hand."""

from __future__ import annotations

from collections.abc import Sequence

from eventreplay.operator.api.v1alpha1 import Plan, PlanPartition


def plan_of(
    spans: Sequence[tuple[int, int, int]],
    *,
    as_of: str,
    topic_partitions: int,
    sandbox_topic: str,
    dead_letter_topic: str,
    topic: str = "orders",
    plan_hash: str = "0123456789abcdef",
    input_hash: str = "0123456789abcdef",
) -> Plan:
    """The plan over (partition, start offset, end offset) spans; each span's records are its length."""
    partitions = [PlanPartition(partition=p, start_offset=s, end_offset=e, records=e - s) for p, s, e in spans]
    return Plan(
        as_of=as_of,
        hash=plan_hash,
        input_hash=input_hash,
        topic=topic,
        topic_partitions=topic_partitions,
        sandbox_topic=sandbox_topic,
        dead_letter_topic=dead_letter_topic,
        records=sum(p.records for p in partitions),
        partitions=partitions,
    )
