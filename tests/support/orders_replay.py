"""The mixed orders workload the operator's replay tests seed, with its oracle truth, and their replay spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from datagen.orders import ORDER_SCHEMA, generate
from support.kafka_tools import create_topic, key_values, produce
from support.oracle import Expected, replay
from support.replay_specs import stack_replay

PARTITIONS = 3


def seed(admin: Any, bootstrap: str, topic: str, per_partition: int) -> dict[int, Expected]:
    """Seed a mixed workload (duplicates, conflicts, malformed, schema, missing id, tombstones)."""
    create_topic(admin, topic, partitions=PARTITIONS)
    # The destination (`spec.sink`): after the replay, reconciliation compares the sandbox with it.
    create_topic(admin, "out-" + topic.removeprefix("orders-"), partitions=1)
    start = datetime.now(UTC) - timedelta(hours=1)
    for p in range(PARTITIONS):
        produce(bootstrap, topic, generate(per_partition, seed=100 + p, start=start), partition=p)
    # Offsets are contiguous from 0 in a fresh topic written by one idempotent, non-transactional producer.
    return {
        p: replay(list(enumerate(v for _, v in key_values(bootstrap, topic, p))), ORDER_SCHEMA)
        for p in range(PARTITIONS)
    }


def spec(topic: str, unique: str, **extra: Any) -> dict[str, Any]:
    """A replay of the seeded workload into its destination, validated against the orders' schema
    (unless `validation`); `extra` adds or replaces spec fields."""
    fields = {"validation": {"eventIdField": "event_id", "jsonSchema": ORDER_SCHEMA}, **extra}
    return stack_replay(topic, ledger=f"ledger-{unique}", sink_topic=f"out-{unique}", **fields)
