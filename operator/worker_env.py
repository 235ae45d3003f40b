"""A worker pod's environment: its task inline, and every credential only by secretKeyRef (a Job's
spec never holds a Secret's value): the source's Kafka settings, the policy's CA bundle, the
schema registries' basic auth, the Redis ACL user or password."""

from __future__ import annotations

from typing import Any

from eventreplay.worker.contract import environment as names

from .api.v1alpha1 import EventReplaySpec
from .policy import ClusterGrant


def worker_env(spec: EventReplaySpec, task_env: str, task_json: str, grant: ClusterGrant) -> list[dict[str, Any]]:
    """The task inline, and credentials (and the policy's CA bundle) only by secretKeyRef (never
    copied into the Job)."""
    env: list[dict[str, Any]] = [
        {"name": task_env, "value": task_json},
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    creds = spec.source.credentials_secret_ref
    if creds is not None:
        ref = {"name": creds.name, "key": creds.key}
        env.append({"name": names.KAFKA_SETTINGS_ENV, "valueFrom": {"secretKeyRef": ref}})
    if grant.ca is not None:
        ref = {"name": grant.ca.name, "key": grant.ca.key}
        env.append({"name": names.KAFKA_CA_ENV, "valueFrom": {"secretKeyRef": ref}})
    for registry, var in (
        (spec.source.schema_registry, names.SCHEMA_REGISTRY_CREDENTIALS_ENV),
        (spec.sink.schema_registry, names.SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV),
    ):
        if registry is not None and registry.credentials_secret_ref is not None:
            ref = {"name": registry.credentials_secret_ref.name, "key": registry.credentials_secret_ref.key}
            env.append({"name": var, "valueFrom": {"secretKeyRef": ref}})
    password = spec.dedup.redis.password_secret_ref
    if grant.redis_user_secret is not None:  # the project's ACL user replaces the replay's password
        for var, key in ((names.REDIS_USERNAME_ENV, "username"), (names.REDIS_PASSWORD_ENV, "password")):
            env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": grant.redis_user_secret, "key": key}}})
    elif password is not None:
        ref = {"name": password.name, "key": password.key}
        env.append({"name": names.REDIS_PASSWORD_ENV, "valueFrom": {"secretKeyRef": ref}})
    return env
