"""Operator policy documents (docs/security.md) as the tests grant replays: one project on one
Kafka cluster and one Redis endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def one_project_policy(
    name: str,
    namespaces: list[str],
    *,
    cluster: str = "main",
    bootstrap: Sequence[str] = ("k:9092",),
    redis: str = "r:6379",
    **project: Any,
) -> dict[str, Any]:
    """A policy document: Kafka cluster `cluster` at `bootstrap`, Redis endpoint `ledger` at `redis`,
    and project `name` for `namespaces` granting both and every source and sink topic; `project`
    adds or replaces the project's fields."""
    return {
        "kafkaClusters": [{"name": cluster, "bootstrapServers": list(bootstrap)}],
        "redisEndpoints": [{"name": "ledger", "address": redis}],
        "projects": [
            {
                "name": name,
                "namespaces": namespaces,
                "kafkaClusters": [cluster],
                "redisEndpoints": ["ledger"],
                "sourceTopics": ["*"],
                "sinkTopics": ["*"],
                **project,
            }
        ],
    }
