"""A setting given either as a value or as the alias of a replay-policy entry that the operator resolves.

`spec.source` (bootstrapServers or cluster) and `spec.dedup.redis` (url or endpoint) share this
shape: two optional fields of which exactly one is set, checked by a CEL rule and, with the same
message, in Python (so `eventreplay plan/run` refuses what admission refuses).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from .base import DNS_LABEL_RE, rule


def policy_alias(description: str) -> Any:
    """The alias field, a policy entry's name (declared before its value field, which validates the pair)."""
    return Field(default=None, max_length=63, pattern=DNS_LABEL_RE, description=description)


def aliased_value(min_length: int, description: str) -> Any:
    """The value field: "" stands for "not set" and is validated, so one of the pair is required."""

    def schema(node: dict[str, Any]) -> None:
        # "" only stands for "not set" in Python; in the CRD the field is optional but never that short.
        node.pop("default", None)
        node["minLength"] = min_length

    return Field(default="", max_length=2048, validate_default=True, json_schema_extra=schema, description=description)


def one_of_rule(value: str, alias: str, message: str) -> dict[str, str]:
    """The CEL rule over the pair's wire names."""
    return rule(f"has(self.{value}) != has(self.{alias})", message)


def value_or_alias(value: str, alias: str, message: str) -> Any:
    """The Python rule: a before-validator of the value field (the alias, declared first, is in `info.data`)."""

    def check(cls: type, given: Any, info: ValidationInfo) -> Any:
        named = info.data.get(alias)
        if given and named:
            raise ValueError(message)
        if not given and not named:
            raise PydanticCustomError("missing", "Field required")
        return given

    return field_validator(value, mode="before")(classmethod(check))
