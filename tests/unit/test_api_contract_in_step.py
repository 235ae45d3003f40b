"""The API models and the worker contract's tasks they become (`operator/job_tasks.py`) stay in step.

Both shapes exist on purpose: the CRD is generated from the operator's pydantic models, and the
worker never imports the operator. So each mirrored pair is listed here, every field of both sides
is accounted for, and the mirrored fields keep one wire name (or a listed rename) and one default.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from eventreplay.operator.api import v1alpha1 as api
from eventreplay.worker.contract import combine_task as ct
from eventreplay.worker.contract import step_tasks as rt
from eventreplay.worker.contract import tasks as wt
from eventreplay.worker.contract.gap_task import GapTask


@dataclass(frozen=True)
class Mirror:
    """An API model the operator turns into a contract model; fields by wire name (camelCase)."""

    api: type[BaseModel]
    contract: type[BaseModel]
    renamed: dict[str, str] = field(default_factory=dict)
    """API name -> contract name, where the two sides name one value differently."""
    api_only: frozenset[str] = frozenset()
    """Fields the operator resolves or carries elsewhere (not copied into this contract model)."""
    contract_only: frozenset[str] = frozenset()
    """Fields the operator fills in from elsewhere, or leaves at the worker's default."""

    def __str__(self) -> str:
        return f"{self.api.__name__}~{self.contract.__name__}"


MIRRORS = [
    Mirror(api.PoisonBreaker, wt.PoisonBreaker),
    Mirror(api.Validation, wt.Validation, contract_only=frozenset({"jsonSchemaFile"})),
    Mirror(
        api.Dedup,
        wt.Dedup,
        api_only=frozenset({"redis"}),
        contract_only=frozenset({"redisUrl", "passwordEnv", "usernameEnv", "hashContent"}),
    ),
    Mirror(
        api.RedisConnection,
        wt.RedisConnection,
        renamed={"url": "redisUrl"},
        api_only=frozenset({"endpoint", "passwordSecretRef"}),
        contract_only=frozenset({"passwordEnv", "usernameEnv"}),
    ),
    Mirror(api.Transform, wt.Transform, api_only=frozenset({"aggregate"})),
    Mirror(api.Aggregate, ct.Aggregate, api_only=frozenset({"engine"})),  # which step runs, not its contract
    Mirror(api.Aggregation, ct.Aggregation),
    Mirror(api.EventIdSource, rt.EventIdSource),
    Mirror(api.ExistingOffsets, wt.OffsetRange, renamed={"from": "startOffset", "to": "endOffset"}),
    Mirror(api.TimestampWindow, rt.TimeWindow, contract_only=frozenset({"slackSeconds"})),
]


@dataclass(frozen=True)
class Copied:
    """One value a builder copies from an API model into another contract model."""

    api: type[BaseModel]
    api_name: str
    contract: type[BaseModel]
    contract_name: str

    def __str__(self) -> str:
        return f"{self.api.__name__}.{self.api_name}~{self.contract.__name__}.{self.contract_name}"


COPIED = [
    Copied(api.Reconciliation, "slackSeconds", rt.TimeWindow, "slackSeconds"),
    Copied(api.Reconciliation, "sampleSize", rt.ReportOutput, "sampleSize"),
    Copied(api.Reconciliation, "refresh", rt.ReconcileTask, "refresh"),
    Copied(api.Reconciliation, "eventId", rt.ReconcileTask, "eventId"),
    Copied(api.Reconciliation, "canonicalHeaders", rt.Canonical, "headers"),
    Copied(api.Reconciliation, "compareKey", rt.Canonical, "key"),
    Copied(api.Reconciliation, "eventId", GapTask, "eventId"),
    Copied(api.Reconciliation, "sampleSize", GapTask, "sampleSize"),
    Copied(api.Validation, "eventIdField", GapTask, "sourceEventIdField"),
    Copied(api.Sink, "topic", rt.PromoteTask, "destinationTopic"),
    Copied(api.Dedup, "ttlSeconds", rt.RedisTarget, "ttlSeconds"),
    Copied(api.Worker, "batchSize", wt.Tuning, "batchSize"),
    Copied(api.Worker, "batchSize", rt.StepTuning, "batchSize"),
]

DEFAULTS_DIFFER = {
    (api.RedisConnection, "url", wt.RedisConnection): "'' stands for unset: an endpoint alias is resolved to a url "
    "before any task is built",
    (api.Validation, "eventIdField", GapTask): "the gap finder names the field always (its builders copy it)",
    (api.Worker, "batchSize", rt.StepTuning): "the step Jobs' own default (2000) serves tasks built by hand; the "
    "operator always sets spec.worker.batchSize",
}
"""Mirrored fields whose defaults differ on purpose, with the reason (checked to still differ)."""


def wire(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


def default(info: FieldInfo) -> Any:
    """The field's default (a factory's product compared by its dump), or PydanticUndefined when required."""
    value = info.get_default(call_default_factory=True)
    return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value


def literal_values(annotation: Any) -> frozenset[Any] | None:
    """The allowed values of a `Literal[...]` (optionally `| None`) annotation, else None."""
    if get_origin(annotation) is Literal:
        return frozenset(get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        found = [literal_values(arg) for arg in get_args(annotation)]
        return next((values for values in found if values is not None), None)
    return None


def assert_in_step(api_model: type[BaseModel], api_name: str, contract: type[BaseModel], contract_name: str) -> None:
    mine, theirs = wire(api_model)[api_name], wire(contract)[contract_name]
    where = f"{api_model.__name__}.{api_name} ~ {contract.__name__}.{contract_name}"
    if (api_model, api_name, contract) in DEFAULTS_DIFFER:
        assert default(mine) != default(theirs), f"{where}: the defaults agree now; drop it from DEFAULTS_DIFFER"
    else:
        assert default(mine) == default(theirs), f"{where}: the defaults differ"
    assert literal_values(mine.annotation) == literal_values(theirs.annotation), f"{where}: the allowed values differ"


def mirrored(mirror: Mirror) -> dict[str, str]:
    """API wire name -> contract wire name of every field the pair mirrors."""
    same = set(wire(mirror.api)) - mirror.api_only - set(mirror.renamed)
    return {name: name for name in sorted(same)} | mirror.renamed


@pytest.mark.parametrize("mirror", MIRRORS, ids=str)
def test_every_field_of_a_mirrored_pair_is_accounted_for(mirror: Mirror) -> None:
    mine, theirs = set(wire(mirror.api)), set(wire(mirror.contract))
    pairs = mirrored(mirror)
    missing = set(pairs.values()) - theirs
    assert not missing, f"{mirror}: API fields the contract lacks: {sorted(missing)}"
    unaccounted = theirs - set(pairs.values()) - mirror.contract_only
    assert not unaccounted, f"{mirror}: contract fields the API neither mirrors nor lists: {sorted(unaccounted)}"
    assert mirror.api_only <= mine and mirror.contract_only <= theirs, f"{mirror}: a listed field no longer exists"


@pytest.mark.parametrize("mirror", MIRRORS, ids=str)
def test_mirrored_fields_share_defaults_and_allowed_values(mirror: Mirror) -> None:
    for api_name, contract_name in mirrored(mirror).items():
        assert_in_step(mirror.api, api_name, mirror.contract, contract_name)


@pytest.mark.parametrize("copied", COPIED, ids=str)
def test_values_copied_across_models_share_defaults(copied: Copied) -> None:
    assert_in_step(copied.api, copied.api_name, copied.contract, copied.contract_name)
