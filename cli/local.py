"""`eventreplay run`, preparation: the frozen plan, the local replay uid, the output topics, the tasks.

The local uid is `local-` + SHA-256(namespace/name/as-of time), made with the plan, which names the
sandbox, dead-letter and report topics for it (as the operator names them for metadata.uid). The
plan is frozen the way the operator freezes it in `status.plan`: in Redis (next to the workers'
checkpoints), at `eventreplay:local:plan:{namespace}/{name}` (`local_plan_key`), with the
ledger's TTL. Re-running the same manifest finds that plan, hence the same uid, hence the same
replay-private consumer group and transactional ids: every worker resumes from its committed
checkpoint (a finished partition is a no-op), so exactly-once holds across runs.
`--fresh` plans again now, which gives a new uid, hence new topics, a new group and new Redis keys:
nothing of the earlier run is read or resumed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import redis
from pydantic import BaseModel

from eventreplay.operator.api.v1alpha1 import IMMUTABLE, Plan
from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_task
from eventreplay.operator.kafka import KafkaAccess, KafkaUnavailable
from eventreplay.operator.planner import PlanRefused, refuse_foreign_output, short_hash
from eventreplay.worker.contract.environment import KAFKA_SETTINGS_ENV, REDIS_PASSWORD_ENV
from eventreplay.worker.contract.names import local_plan_key
from eventreplay.worker.contract.tasks import Task

from . import planning
from .errors import EXIT_PLAN_REFUSED, CliError, unreachable
from .manifest import Manifest


def immutable_hash(manifest: Manifest) -> str:
    """What a frozen plan may not change under (the fields the CRD makes immutable once planned)."""
    frozen: dict[str, object] = {}
    for path in IMMUTABLE:
        value: object = manifest.spec
        for part in path.split("."):
            value = getattr(value, part)
        frozen[path] = value.model_dump(by_alias=True, exclude_none=True) if isinstance(value, BaseModel) else value
    return short_hash(frozen)


@dataclass(frozen=True)
class Prepared:
    plan: Plan
    uid: str
    resumed: bool


def prepare(manifest: Manifest, access: KafkaAccess, client: redis.Redis, *, fresh: bool) -> Prepared:
    """Reuse the frozen plan (resume) or make a new one; output topics exist afterwards."""
    key = local_plan_key(manifest.namespace, manifest.name)
    frozen = None if fresh else _load(client, key)
    wanted = immutable_hash(manifest)
    if frozen is not None and frozen["immutableHash"] == wanted:
        plan = Plan.model_validate(frozen["plan"])
        prepared = Prepared(plan, str(frozen["uid"]), resumed=True)
    else:
        plan = planning.plan(manifest, access)
        assert plan.replay_uid is not None, "planning.plan names the topics for a local uid"
        prepared = Prepared(plan, plan.replay_uid, resumed=False)
        bootstrap = manifest.spec.source.bootstrap_servers
        try:
            # The operator's rule: output topics another uid wrote are refused (they are new here).
            refuse_foreign_output(
                access.writers(bootstrap, [plan.sandbox_topic, plan.dead_letter_topic]), plan.replay_uid
            )
        except KafkaUnavailable as err:
            raise unreachable("Kafka", bootstrap, str(err)) from err
        except PlanRefused as refused:
            raise CliError(f"plan refused ({refused.reason}): {refused.message}", EXIT_PLAN_REFUSED) from refused
        body = {"immutableHash": wanted, "uid": prepared.uid, "plan": plan.model_dump(by_alias=True)}
        # Frozen before any worker starts, as the operator pins status.plan before any Job.
        client.set(key, json.dumps(body), ex=manifest.spec.dedup.ttl_seconds)
    try:
        access.ensure_topics(
            manifest.spec.source.bootstrap_servers, [plan.sandbox_topic, plan.dead_letter_topic], plan.topic_partitions
        )
    except KafkaUnavailable as err:
        raise unreachable("Kafka", manifest.spec.source.bootstrap_servers, str(err)) from err
    return prepared


def _load(client: redis.Redis, key: str) -> dict[str, Any] | None:
    raw = client.get(key)
    if not raw:
        return None
    try:
        found: dict[str, Any] = json.loads(raw)
        return found if {"immutableHash", "uid", "plan"} <= set(found) else None
    except ValueError:
        return None


def tasks(manifest: Manifest, prepared: Prepared) -> dict[int, Task]:
    """The workers' tasks, as the operator builds them, with local env vars instead of Secrets."""
    owner = Owner(manifest.namespace, manifest.name, prepared.uid)
    out: dict[int, Task] = {}
    for part in prepared.plan.partitions:
        task = build_task(manifest.spec, prepared.plan, part, owner)
        kafka = task.kafka.model_copy(
            update={"settings_env": KAFKA_SETTINGS_ENV if KAFKA_SETTINGS_ENV in os.environ else None}
        )
        dedup = task.dedup.model_copy(
            update={"password_env": REDIS_PASSWORD_ENV if os.environ.get(REDIS_PASSWORD_ENV) else None}
        )
        out[part.partition] = task.model_copy(update={"kafka": kafka, "dedup": dedup})
    return out
