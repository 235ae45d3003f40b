"""Plan straight against Kafka (no cluster), with the operator's own planner, and the local settings.

Without a cluster there are no Secrets: Kafka client settings and the Redis password come from
environment variables (the same names the worker Jobs use, so the worker reads them unchanged):
- EVENTREPLAY_KAFKA_SETTINGS: librdkafka `key=value` lines (security.protocol, sasl.*, ssl.*)
- EVENTREPLAY_REDIS_PASSWORD: the Redis password
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from hashlib import sha256

import redis

from eventreplay.operator.api.v1alpha1 import EventReplaySpec, Plan
from eventreplay.operator.job_names import Owner
from eventreplay.operator.kafka import KafkaAccess, KafkaUnavailable
from eventreplay.operator.planner import PlanRefused, format_time, make_plan
from eventreplay.operator.retention import with_retention_notes
from eventreplay.worker.contract.environment import KAFKA_SETTINGS_ENV, REDIS_PASSWORD_ENV
from eventreplay.worker.contract.settings import parse_settings, redis_location

from .errors import EXIT_PLAN_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE, CliError, unreachable
from .manifest import Manifest


def kafka_settings(verbose: bool = False) -> dict[str, str]:
    """Settings from EVENTREPLAY_KAFKA_SETTINGS; librdkafka's own log lines are silenced unless
    verbose, so an unreachable broker is reported once, by us, on one line."""
    quiet = {} if verbose else {"log_level": "0"}
    try:
        return {**quiet, **parse_settings(os.environ.get(KAFKA_SETTINGS_ENV, ""), KAFKA_SETTINGS_ENV)}
    except ValueError as err:
        raise CliError(str(err), EXIT_USAGE) from err


def kafka_access(timeout: float, verbose: bool = False) -> KafkaAccess:
    return KafkaAccess(settings=kafka_settings(verbose), timeout=timeout)


def local_uid(namespace: str, name: str, as_of: datetime) -> str:
    """A local run's uid (no API server gives one): new with each plan, as a re-created object's is."""
    return "local-" + sha256(f"{namespace}/{name}/{format_time(as_of)}".encode()).hexdigest()[:20]


def refuse_aliases(spec: EventReplaySpec) -> None:
    """The CLI has no replay policy: an alias only the operator can resolve is a usage error."""
    for field, alias, instead in (
        ("source.cluster", spec.source.cluster, "bootstrapServers"),
        ("dedup.redis.endpoint", spec.dedup.redis.endpoint, "url"),
        *[
            (f"{side}.schemaRegistry.endpoint", registry.endpoint, "url")
            for side, registry in (("source", spec.source.schema_registry), ("sink", spec.sink.schema_registry))
            if registry is not None
        ],
    ):
        if alias:
            raise CliError(
                f"{field} {alias} is an alias in the operator's replay policy; "
                f"run it through the operator, or name {instead} for the CLI",
                EXIT_USAGE,
            )


def plan(manifest: Manifest, access: KafkaAccess, as_of: datetime | None = None) -> Plan:
    """The frozen plan, exactly as the operator would make it for this namespace/name; its topics
    are named for a new local uid (`plan.replay_uid`)."""
    spec = manifest.spec
    refuse_aliases(spec)
    when = as_of or datetime.now(UTC)
    try:
        owner = Owner(manifest.namespace, manifest.name, local_uid(manifest.namespace, manifest.name, when))
        found = make_plan(spec, owner, access.observe(spec, when), when)
        return with_retention_notes(found, spec, access.retention(spec), when)
    except KafkaUnavailable as err:
        raise unreachable("Kafka", spec.source.bootstrap_servers, str(err)) from err
    except PlanRefused as refused:
        raise CliError(f"plan refused ({refused.reason}): {refused.message}", EXIT_PLAN_REFUSED) from refused


def redis_client(spec: EventReplaySpec) -> redis.Redis:
    """A pinged client for the ledger's Redis (where the workers mirror their checkpoints)."""
    refuse_aliases(spec)
    url = spec.dedup.redis.url
    password = os.environ.get(REDIS_PASSWORD_ENV) or None
    try:
        client = redis.Redis.from_url(url, password=password, socket_timeout=10, socket_connect_timeout=5)
        client.ping()
    except redis.AuthenticationError as err:
        hint = "" if password else f" (set {REDIS_PASSWORD_ENV})"
        raise CliError(
            f"Redis at {redis_location(url)} refused the credentials{hint}: {err}", EXIT_UNREACHABLE
        ) from err
    except redis.RedisError as err:
        raise unreachable("Redis", redis_location(url), str(err)) from err
    return client


def local_secret_notes(spec: EventReplaySpec) -> list[str]:
    """Secret references mean nothing without a cluster: say which env var replaces each one."""
    notes: list[str] = []
    if spec.source.credentials_secret_ref is not None and KAFKA_SETTINGS_ENV not in os.environ:
        notes.append(
            f"spec.source.credentialsSecretRef is not read locally; set {KAFKA_SETTINGS_ENV} to the "
            "librdkafka key=value lines it holds (connecting without them)"
        )
    if spec.dedup.redis.password_secret_ref is not None and REDIS_PASSWORD_ENV not in os.environ:
        notes.append(
            f"spec.dedup.redis.passwordSecretRef is not read locally; set {REDIS_PASSWORD_ENV} "
            "(connecting without a password)"
        )
    return notes
