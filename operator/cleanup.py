"""`spec.deletionPolicy: Delete`: what a deleted replay leaves behind, removed before kopf lets the
object go (its on.delete handler only runs for that policy, so `Keep` replays carry no finalizer
for it).

Only what this replay owns is removed: its sandbox, dead-letter, report and results topics, named
again from its namespace, name and uid (`names.ReplayTopics`; never the names its status holds,
which whoever can write the status could point at any topic), its consumer groups (all named `eventreplay-<uid>...`)
and its Redis keys (`names.replay_key_patterns`: checkpoints, promotion mirrors, report, failures,
its replay ledger, reconciliation working sets). The production ledger and the destination are
never touched. Each step tolerates "already gone", so a retried cleanup converges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from eventreplay.worker.contract.names import (
    ReplayTopics,
    key_tenant,
    planned_layout,
    replay_group_id,
    replay_key_patterns,
)

from .api.v1alpha1 import EventReplaySpec
from .clients import Clients
from .policy import Policy


@dataclass(frozen=True)
class Leftovers:
    """What a deleted replay owns outside Kubernetes."""

    bootstrap: str
    topics: list[str]
    group_prefix: str
    redis_url: str
    key_patterns: list[str]


def reachable_spec(policy: Policy, namespace: str, raw: dict[str, Any], default_image: str) -> dict[str, Any]:
    """The spec whose endpoints cleanup may contact: aliases resolved, and only while the replay
    policy allows them ({} otherwise, and for a spec that no longer parses): deleting a replay must
    not make the operator call an endpoint a tenant named but the platform never allowed."""
    try:
        spec = EventReplaySpec.model_validate(raw)
    except ValidationError:
        return {}
    if policy.check(namespace, spec, default_image=default_image) is not None:
        return {}
    return policy.resolve(namespace, spec).model_dump(by_alias=True, exclude_none=True, mode="json")


def leftovers(spec: dict[str, Any], status: dict[str, Any], namespace: str, name: str, uid: str) -> Leftovers:
    """Pure: from the object's identity and raw spec (a deleted object may hold an invalid spec); the
    status says only whether it was ever planned.

    A replay never planned (refused, or stalled before planning) started nothing and wrote nothing:
    there is nothing to clean and no endpoint of its spec is contacted."""
    if not status.get("plan"):
        return Leftovers(bootstrap="", topics=[], group_prefix=replay_group_id(uid), redis_url="", key_patterns=[])
    owned = ReplayTopics.of(namespace, name, uid)
    topics = [owned.sandbox, owned.dead_letter, owned.report, owned.results]
    dedup = spec.get("dedup") or {}
    layout = planned_layout(status["plan"].get("keyLayout"))  # a legacy replay's keys are deleted where they are
    return Leftovers(
        bootstrap=str((spec.get("source") or {}).get("bootstrapServers") or ""),
        topics=sorted({t for t in topics if t}),
        group_prefix=replay_group_id(uid),
        redis_url=str((dedup.get("redis") or {}).get("url") or ""),
        key_patterns=replay_key_patterns(key_tenant(namespace, layout), uid, str(dedup.get("ledger") or "")),
    )


def clean_up(clients: Clients, found: Leftovers) -> str:
    """Remove it all; KafkaUnavailable / CheckpointsUnavailable propagate (kopf retries)."""
    done = []
    if found.bootstrap and found.topics:
        clients.kafka.delete_topics(found.bootstrap, found.topics)
        done.append(f"topics {', '.join(found.topics)}")
    if found.bootstrap:
        groups = clients.kafka.delete_groups(found.bootstrap, found.group_prefix)
        done.append(f"{groups} consumer groups")
    if found.redis_url:
        keys = clients.checkpoints.delete_matching(found.redis_url, found.key_patterns)
        done.append(f"{keys} Redis keys")
    return "deleted " + "; ".join(done) if done else "nothing to delete"
