"""What every v1alpha1 model shares: the base model config, CEL rule helpers, patterns, time parsing.

CEL rules live next to the model they guard (`x-kubernetes-validations` in `json_schema_extra`);
`rule`/`cel` keep those declarations short. Pydantic validators mirror the rules the operator
relies on, so a body admitted under an older CRD still cannot plan nonsense.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

TOPIC_RE = r"^[a-zA-Z0-9._-]{1,249}$"
PARTITION_RE = r"^[0-9]{1,6}(-[0-9]{1,6})?$"
DNS_LABEL_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
RFC3339_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
MAX_PARTITIONS = 1000
MAX_PARTITION_NUMBER = 99_999
"""No Kafka topic has 100,000 partitions: a larger number in a spec is a mistake or an attack
(`0-9999999` would be expanded somewhere), refused at admission."""


def rule(cel: str, message: str, **extra: str) -> dict[str, str]:
    """One `x-kubernetes-validations` entry."""
    return {"rule": cel, "message": message, **extra}


def cel(*rules: dict[str, str]) -> dict[str, Any]:
    """`json_schema_extra` carrying the given CEL rules."""
    return {"x-kubernetes-validations": list(rules)}


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields refused (the API server prunes them)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def same_as(model: type[BaseModel], name: str, description: str) -> Any:
    """Field `name` of `model` (its constraints and default) for a field of another model that takes
    exactly the same value, with a description of its own (the CRD shows it there)."""
    # Pydantic merges a FieldInfo in `Annotated` with the one assigned, the latter's attributes winning.
    original: Any = Annotated[Any, model.model_fields[name]]
    return FieldInfo.from_annotated_attribute(original, Field(description=description))


class SecretKeyRef(ApiModel):
    """A key of a Secret in the EventReplay's own namespace (there is deliberately no namespace field)."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret, in the EventReplay's namespace.")
    key: str = Field(min_length=1, max_length=253, description="Key inside the Secret.")


@dataclass(frozen=True)
class Ordering:
    """How a PartitionRange's `to` must relate to its `from`, and where its errors point."""

    path: str
    """The spec path named in the messages, e.g. `existingOffsets`."""
    allow_empty: bool
    """`to == from` (an empty range) is fine; otherwise `to` must be greater."""
    self_checked: bool
    """The range checks itself in Python; otherwise its container does (with `misordered()`)."""

    @property
    def cel(self) -> dict[str, str]:
        op, relation = (">=", ">=") if self.allow_empty else (">", "greater than")
        return rule(f"self.to {op} self.from", f"{self.path}: to must be {relation} from")


class PartitionRange(ApiModel):
    """`[from, to)` of one partition; subclasses name whose partition and how `to` relates to `from`.

    Field descriptions and the ordering rule come from `described()` so a subclass states only what
    differs (the CRD shows them per use: a source range and a destination range read differently).
    """

    ordering: ClassVar[Ordering]

    partition: int = Field(ge=0, le=1_000_000)
    from_: int = Field(alias="from", ge=0)
    to: int = Field(ge=0)

    def misordered(self) -> str | None:
        """The Python twin of the ordering's CEL rule: its message (naming the partition), or None."""
        if self.to > self.from_ or (self.ordering.allow_empty and self.to == self.from_):
            return None
        relation = ">=" if self.ordering.allow_empty else "greater than"
        return f"{self.ordering.path}[{self.partition}]: to must be {relation} from"

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        problem = self.misordered() if self.ordering.self_checked else None
        if problem:
            raise ValueError(problem)
        return self


def described(partition: str, from_: str, to: str, ordering: Ordering) -> ConfigDict:
    """A PartitionRange subclass's config: its field descriptions and its CEL ordering rule."""

    def schema(node: dict[str, Any]) -> None:
        node.setdefault("x-kubernetes-validations", []).append(ordering.cel)
        for name, text in (("partition", partition), ("from", from_), ("to", to)):
            node["properties"][name]["description"] = text

    return ConfigDict(json_schema_extra=schema)


def _rfc3339(value: str) -> str:
    if not re.match(RFC3339_RE, value):
        raise ValueError(f"{value!r} is not RFC 3339 with an explicit zone (e.g. 2026-11-20T10:00:00Z)")
    return value


def parse_time(value: str) -> datetime:
    """An RFC 3339 string (validated) as an aware datetime."""
    return datetime.fromisoformat(_rfc3339(value).replace("z", "Z").replace("t", "T"))
