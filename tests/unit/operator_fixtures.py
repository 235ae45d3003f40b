"""Shared builders for the operator's unit tests (plain functions, no cluster)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eventreplay.operator.api.v1alpha1 import EventReplaySpec, Plan, PlanPartition
from eventreplay.operator.config import OperatorConfig
from eventreplay.operator.policy import Own, load
from eventreplay.worker.contract.names import KEY_LAYOUT

OWN = Own(kafka_servers=("k:9092",), redis_addresses=("r:6379",), secrets=("kafka-client", "redis"))
"""The operator's own Kafka and Redis in these tests (the ones `spec()` names), and its Secret names."""


def operator_config(**overrides: Any) -> OperatorConfig:
    """The operator installed without a policy (the closed default), configured with `OWN`; its image
    allowlist is lent to replays as `config.from_args` lends it."""
    own = replace(OWN, images=tuple(sorted(overrides.get("image_allowlist", ()))))
    return OperatorConfig(**{"policy": load(None, own), **overrides})


def spec(**overrides: Any) -> EventReplaySpec:
    body: dict[str, Any] = {
        "source": {"bootstrapServers": "k:9092", "topic": "orders"},
        "window": {"offsets": {"from": 0, "to": 100}},
        "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"},
        "sink": {"topic": "orders-out"},
    }
    body.update(overrides)
    return EventReplaySpec.model_validate(body)


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    """A Job's worker container environment, by variable name."""
    return {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


def plan(
    ranges: list[tuple[int, int, int]], as_of: str = "2026-11-20T12:00:00.000Z", key_layout: int | None = KEY_LAYOUT
) -> Plan:
    """A plan as the planner makes it (`key_layout` None: as chart 0.1.0 made it, the legacy layout)."""
    parts = [PlanPartition(partition=p, start_offset=s, end_offset=e, records=e - s) for p, s, e in ranges]
    return Plan(
        as_of=as_of,
        hash="0" * 16,
        input_hash="1" * 16,
        topic="orders",
        topic_partitions=max(p for p, _, _ in ranges) + 1,
        sandbox_topic="eventreplay.ns.r.sandbox",
        dead_letter_topic="eventreplay.ns.r.dlq",
        records=sum(p.records for p in parts),
        partitions=parts,
        key_layout=key_layout,
    )
