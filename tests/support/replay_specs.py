"""The replay specs the operator tests create: replays on the stack's own Kafka and Redis."""

from __future__ import annotations

from typing import Any

from devstack import config


def stack_replay(topic: str, *, ledger: str, sink_topic: str, **fields: Any) -> dict[str, Any]:
    """A replay of `topic` into `sink_topic` on the stack's Kafka and Redis, deduplicated in `ledger`: the
    whole topic (unless `window`), never promoted (unless `promotion`); `fields` add or replace spec fields."""
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": ledger},
        "sink": {"topic": sink_topic},
        "promotion": {"policy": "Never"},
        **fields,
    }


def aggregate_replay(
    topic: str, *, ledger: str, sink_topic: str, aggregate: dict[str, Any], existing: int, **fields: Any
) -> dict[str, Any]:
    """A windowed-aggregate replay (`stack_replay`) whose results are reconciled with the first
    `existing` records of the sink's partition 0."""
    return stack_replay(
        topic,
        ledger=ledger,
        sink_topic=sink_topic,
        transform={"aggregate": aggregate},
        reconciliation={"existingOffsets": [{"partition": 0, "from": 0, "to": existing}]},
        **fields,
    )
