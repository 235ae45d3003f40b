"""`spec.source.format` and `schemaRegistry` (issue 27, first slice): admitted only for a registry the
policy allows (closed default: the operator's own), aliases resolved, carried into the worker's task
and its credentials by secretKeyRef only."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import OWN, env_of, plan, spec
from pydantic import ValidationError
from registry_policies import ALIASED, CLOSED, OWN_REGISTRY

from eventreplay.operator.config import OperatorConfig, from_args
from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import build_job
from eventreplay.operator.policy import PERMISSIVE, Policy, closed_default
from eventreplay.worker.contract.environment import SCHEMA_REGISTRY_CREDENTIALS_ENV, TASK_ENV
from eventreplay.worker.contract.tasks import Task

SOURCE = {"bootstrapServers": "k:9092", "topic": "orders", "format": "avro"}


def _source(registry: dict[str, Any]) -> dict[str, Any]:
    return {"source": {**SOURCE, "schemaRegistry": registry}}


@pytest.mark.parametrize(
    ("policy", "registry", "rule"),
    [
        (CLOSED, {"url": OWN_REGISTRY}, None),
        (CLOSED, {"url": OWN_REGISTRY + "/"}, None),
        (CLOSED, {"url": "http://evil:8080"}, "schemaRegistries"),
        (CLOSED, {"endpoint": "sr"}, "schemaRegistries"),
        (CLOSED, {"url": OWN_REGISTRY, "credentialsSecretRef": {"name": "db-root"}}, "schemaRegistries"),
        (Policy(closed_default(OWN)), {"url": OWN_REGISTRY}, "schemaRegistries"),  # none configured: none lent
        (ALIASED, {"endpoint": "sr", "credentialsSecretRef": {"name": "sr-auth"}}, None),
        (ALIASED, {"endpoint": "other"}, "schemaRegistries"),
        (PERMISSIVE, {"url": "http://anywhere:1"}, None),
        (PERMISSIVE, {"endpoint": "sr"}, "schemaRegistries"),
    ],
)
def test_a_registry_is_admitted_only_as_the_policy_allows(
    policy: Policy, registry: dict[str, Any], rule: str | None
) -> None:
    refusal = policy.check("ns", spec(**_source(registry)), default_image="op:1")
    assert (refusal and refusal.rule) == rule, refusal


@pytest.mark.parametrize(
    "source",
    [
        {**SOURCE, "schemaRegistry": None},  # avro without a registry
        {"bootstrapServers": "k:9092", "topic": "orders", "schemaRegistry": {"url": OWN_REGISTRY}},  # json with one
        {**SOURCE, "schemaRegistry": {"url": OWN_REGISTRY, "endpoint": "sr"}},
        {**SOURCE, "format": "protobuf", "schemaRegistry": {"url": OWN_REGISTRY}},
    ],
)
def test_a_format_and_its_registry_go_together(source: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec(source={k: v for k, v in source.items() if v is not None})


def test_the_task_carries_the_resolved_registry_and_the_job_its_secret_by_reference() -> None:
    resolved = ALIASED.resolve("ns", spec(**_source({"endpoint": "sr", "credentialsSecretRef": {"name": "sr-auth"}})))
    config = OperatorConfig(worker_image="img", policy=ALIASED)
    p = plan([(0, 0, 10)])
    job = build_job(resolved, p, p.partitions[0], Owner("ns", "r", "uid-1"), config)
    env = env_of(job)
    task = Task.model_validate_json(env[TASK_ENV]["value"])
    assert task.source_format.format == "avro"
    assert task.source_format.schema_registry is not None
    assert task.source_format.schema_registry.url == OWN_REGISTRY
    assert task.source_format.schema_registry.credentials_env == SCHEMA_REGISTRY_CREDENTIALS_ENV
    ref = env[SCHEMA_REGISTRY_CREDENTIALS_ENV]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "sr-auth", "key": "user-info"}


def test_the_operator_flag_names_its_own_registry() -> None:
    config = from_args(["--schema-registry-url", OWN_REGISTRY, "--kafka-bootstrap-servers", "k:9092"], env={})
    assert config.policy.document.schema_registries[0].url == OWN_REGISTRY


@pytest.mark.parametrize("field", ["key", "header:trace-id", "payload.order.id", "event_id"])
def test_ids_come_from_key_header_or_a_field_path(field: str) -> None:
    assert spec(validation={"eventIdField": field}).validation.event_id_field == field


@pytest.mark.parametrize("field", ["a..b", "header:", "has space"])
def test_a_malformed_id_reference_is_refused(field: str) -> None:
    with pytest.raises(ValidationError):
        spec(validation={"eventIdField": field})
