"""`spec.sink.format` and `spec.sink.schemaRegistry` (issue 27): admitted only for a registry the
policy allows, never with an aggregate; carried into the replay and reconcile tasks, the
registry's credentials by secretKeyRef only; the encode step's failures told apart (a subject
without a schema stops the Job, an outage is retried)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError
from operator_fixtures import env_of, plan, spec
from pydantic import ValidationError
from registry_policies import ALIASED, CLOSED, OWN_REGISTRY

from eventreplay.operator.config import OperatorConfig
from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_reconcile_task, build_task
from eventreplay.operator.jobs import build_job
from eventreplay.worker.contract.environment import SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV, TASK_ENV
from eventreplay.worker.contract.exit_codes import PermanentFailure, RetriableFailure
from eventreplay.worker.contract.tasks import SchemaRegistryConnection, SinkSubject, Task, ValueFormat
from eventreplay.worker.runtime.sink_encoding import RegistryEncoder

OWNER = Owner("ns", "r", "uid-1")
AGGREGATE = {
    "aggregate": {"eventTimeField": "ts", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}
}


def _sink(registry: dict[str, Any] | None, fmt: str = "avro") -> dict[str, Any]:
    sink: dict[str, Any] = {"topic": "orders-out", "format": fmt}
    return {"sink": sink if registry is None else {**sink, "schemaRegistry": registry}}


@pytest.mark.parametrize(
    ("policy", "registry", "message"),
    [
        (CLOSED, {"url": OWN_REGISTRY}, None),
        (CLOSED, {"url": "http://evil:8080"}, "sink.schemaRegistry.url http://evil:8080 is not"),
        (CLOSED, {"url": OWN_REGISTRY, "credentialsSecretRef": {"name": "db-root"}}, "sink.schemaRegistry.cred"),
        (ALIASED, {"endpoint": "sr", "credentialsSecretRef": {"name": "sr-auth"}}, None),
        (ALIASED, {"endpoint": "other"}, "sink.schemaRegistry.endpoint other is not"),
    ],
)
def test_a_sink_registry_is_admitted_only_as_the_policy_allows(
    policy: Any, registry: dict[str, Any], message: str | None
) -> None:
    refusal = policy.check("ns", spec(**_sink(registry)), default_image="op:1")
    assert (refusal and refusal.message[: len(message or "")]) == message, refusal
    if message:
        assert refusal.rule == "schemaRegistries"


@pytest.mark.parametrize(
    "sink",
    [_sink(None), _sink({"url": OWN_REGISTRY}, fmt="json"), _sink({"url": OWN_REGISTRY}, fmt="protobuf")],
)
def test_a_sink_format_and_its_registry_go_together(sink: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"sink\.schemaRegistry is required|protobuf"):
        spec(**sink)


def test_an_aggregate_writes_json_window_results() -> None:
    with pytest.raises(ValidationError, match=r"sink\.format shape a replayed source record"):
        spec(transform=AGGREGATE, **_sink({"url": OWN_REGISTRY}))


def test_a_json_sink_adds_nothing_to_the_tasks() -> None:
    replay, p = spec(), plan([(0, 0, 10)])
    task = build_task(replay, p, p.partitions[0], OWNER)
    assert (task.sink_format, task.sink_subject) == (ValueFormat(), None)
    assert Task.model_validate_json(task.to_json()).sink_format.format == "json"


def test_the_tasks_carry_the_resolved_sink_registry_and_the_job_its_secret_by_reference() -> None:
    replay = ALIASED.resolve("ns", spec(**_sink({"endpoint": "sr", "credentialsSecretRef": {"name": "sr-auth"}})))
    p = plan([(0, 0, 10)])
    job = build_job(replay, p, p.partitions[0], OWNER, OperatorConfig(worker_image="img", policy=ALIASED))
    env = env_of(job)
    task = Task.model_validate_json(env[TASK_ENV]["value"])
    conn = SchemaRegistryConnection(url=OWN_REGISTRY, credentials_env=SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV)
    avro = ValueFormat(format="avro", schema_registry=conn)
    assert (task.sink_format, task.sink_subject) == (avro, SinkSubject(name="orders-out-value"))
    assert task.source_format == ValueFormat(), "the source stays JSON: each side has its own format"
    ref = env[SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "sr-auth", "key": "user-info"}
    reconcile = build_reconcile_task(replay, p, OWNER)
    assert reconcile.sink_format == task.sink_format, "reconciliation decodes what the replay encoded"


def test_a_registry_format_needs_the_subject_topic() -> None:
    fmt = ValueFormat(format="avro", schema_registry=SchemaRegistryConnection(url=OWN_REGISTRY))
    p = plan([(0, 0, 10)])
    task = build_task(spec(), p, p.partitions[0], OWNER)
    with pytest.raises(ValidationError, match="sinkSubject goes with a registry sinkFormat"):
        Task.model_validate({**task.model_dump(by_alias=True), "sinkFormat": fmt.model_dump(by_alias=True)})


class Registry:
    """Answers `get_latest_version` with the given error (None: a connection failure)."""

    def __init__(self, status: int | None) -> None:
        self.status = status

    def get_latest_version(self, subject: str) -> Any:
        if self.status is None:
            raise ConnectionError("connection refused")
        raise SchemaRegistryError(self.status, self.status * 100 + 1, f"{subject}: no")


@pytest.mark.parametrize(
    ("status", "failure", "message"),
    [
        (404, PermanentFailure, "sink subject orders-out-value holds no schema"),
        (401, PermanentFailure, "refused the worker"),
        (503, RetriableFailure, "schema registry"),
        (None, RetriableFailure, "unreachable"),
    ],
)
def test_the_encoder_tells_a_missing_subject_from_an_outage(status: int | None, failure: type, message: str) -> None:
    fmt = ValueFormat(format="avro", schema_registry=SchemaRegistryConnection(url=OWN_REGISTRY))
    encode = RegistryEncoder(fmt, SinkSubject(name="orders-out-value"), client=Registry(status))  # type: ignore[arg-type]
    with pytest.raises(failure, match=message):
        encode(b'{"event_id": "a"}')


REGISTERING = ALIASED.document.model_copy(
    update={"projects": [ALIASED.document.projects[0].model_copy(update={"register_schemas": True})]}
)


def test_a_named_subject_and_a_schema_to_register_reach_the_task_only_as_the_policy_allows() -> None:
    sink = {**_sink({"endpoint": "sr"})["sink"], "subject": "com.acme.Order", "schema": '{"type": "string"}'}
    refusal = ALIASED.check("ns", spec(sink=sink), default_image="op:1")
    assert refusal is not None and refusal.message == (
        "sink.schema: project orders may not register schemas (registerSchemas is false)"
    )
    policy = type(ALIASED)(REGISTERING)
    assert policy.check("ns", spec(sink=sink), default_image="op:1") is None
    p = plan([(0, 0, 10)])
    task = build_task(policy.resolve("ns", spec(sink=sink)), p, p.partitions[0], OWNER)
    assert task.sink_subject == SinkSubject(name="com.acme.Order", schema_text='{"type": "string"}')
    named = spec(sink={**sink, "schema": None})
    assert ALIASED.check("ns", named, default_image="op:1") is None, "naming a subject registers nothing"


@pytest.mark.parametrize("extra", [{"subject": "s"}, {"schema": "{}"}])
def test_a_subject_or_schema_needs_a_registry_format(extra: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="go with a registry format"):
        spec(sink={"topic": "orders-out", **extra})


class Recording:
    """Answers as a registry holding every subject; records what was asked."""

    def __init__(self, refuse: int | None = None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.refuse = refuse

    def get_latest_version(self, subject: str) -> Any:
        self.asked.append(("latest", subject))
        raise SchemaRegistryError(503, 50301, "stop here")

    def register_schema(self, subject: str, schema: Any) -> int:
        self.asked.append(("register", subject))
        raise SchemaRegistryError(self.refuse or 503, 1, "no")


def test_the_encoder_asks_for_the_named_subject_and_registers_only_a_given_schema() -> None:
    fmt = ValueFormat(format="avro", schema_registry=SchemaRegistryConnection(url=OWN_REGISTRY))
    latest, given = Recording(), Recording(refuse=409)
    with pytest.raises(RetriableFailure):
        RegistryEncoder(fmt, SinkSubject(name="com.acme.Order"), client=latest)(b"{}")  # type: ignore[arg-type]
    with pytest.raises(PermanentFailure, match=r"refuses spec\.sink\.schema"):
        RegistryEncoder(fmt, SinkSubject(name="o-value", schema_text='"string"'), client=given)(b"{}")  # type: ignore[arg-type]
    assert (latest.asked, given.asked) == ([("latest", "com.acme.Order")], [("register", "o-value")])
