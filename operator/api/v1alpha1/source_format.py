"""How a topic's values are encoded: `format` and `schemaRegistry` (url or policy alias), on
`spec.source` (decoded before validation) and on `spec.sink` (what the output is encoded in)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from eventreplay.worker.contract.tasks import REGISTRY_FORMATS

from .base import ApiModel, SecretKeyRef, cel, rule
from .policy_alias import aliased_value, one_of_rule, policy_alias, value_or_alias

URL_OR_ENDPOINT = "schemaRegistry: set exactly one of url or endpoint"
REGISTRY_URL_RE = r"^https?://[^\s@/?#]+(/[^\s?#]*)?$"
REGISTRY_URL_MESSAGE = "schemaRegistry.url must be http[s]://host[:port][/path]: no userinfo or query"
FORMAT_NEEDS_REGISTRY = "{}.schemaRegistry is required with format avro or jsonSchema, and only then"

FormatName = Literal["json", "avro", "jsonSchema"]


class RegistryCredentialsRef(SecretKeyRef):
    """A Secret key holding the registry's HTTP basic auth as `user:password`."""

    key: str = Field(default="user-info", min_length=1, max_length=253, description="Key holding `user:password`.")


class SchemaRegistry(ApiModel):
    """A Confluent-API schema registry the workers fetch writer schemas from, by id."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(f"!has(self.url) || self.url.matches(r'{REGISTRY_URL_RE}')", REGISTRY_URL_MESSAGE),
            one_of_rule("url", "endpoint", URL_OR_ENDPOINT),
        )
    )

    endpoint: str | None = policy_alias(
        "Alias of a schema registry in the operator's replay policy (instead of url), resolved by the operator."
    )
    url: str = aliased_value(
        8, "The registry's base URL (Apicurio: `.../apis/ccompat/v6`); the replay policy must allow it."
    )
    credentials_secret_ref: RegistryCredentialsRef | None = Field(
        default=None, description="Secret with the registry's basic auth (`user:password`); same namespace."
    )

    _url_or_endpoint = value_or_alias("url", "endpoint", URL_OR_ENDPOINT)


def format_rule(side: str) -> dict[str, str]:
    """The CEL rule on `spec.source` or `spec.sink`; `check_format` is its Python twin."""
    return rule(
        "(has(self.format) && self.format != 'json') == has(self.schemaRegistry)", FORMAT_NEEDS_REGISTRY.format(side)
    )


def check_format(side: str, fmt: str, registry: SchemaRegistry | None) -> None:
    if (fmt in REGISTRY_FORMATS) != (registry is not None):
        raise ValueError(FORMAT_NEEDS_REGISTRY.format(side))


def no_schema_default(node: dict[str, Any]) -> None:
    """Not defaulted by the API server: a replay written before a field existed stays byte for byte
    as it was stored (its spec is frozen once planned); absent means the model's default."""
    node.pop("default", None)


def unstored(default: Any, description: str, **limits: Any) -> Any:
    """A field whose default the model applies and the API server never writes (`no_schema_default`)."""
    return Field(default=default, json_schema_extra=no_schema_default, description=description, **limits)


class EncodedValues(ApiModel):
    """`format` and `schemaRegistry`, the same on `spec.source` and `spec.sink` (`side` names which)."""

    side: ClassVar[str]

    format: FormatName = unstored(
        "json",
        "How values are encoded: `json` (plain JSON, the default), or `avro` / `jsonSchema` in the "
        "schema registry's wire format (magic byte, schema id, body). On the source, values are decoded to "
        "JSON before validation. On the sink, each output is encoded when replayed under the sink topic's "
        "subject (`<topic>-value`) with its latest schema, which must exist (a replay never registers one); "
        "an output it does not accept is dead-lettered (`sink-schema`), and reconciliation compares decoded "
        "values (the same content under two schema ids is unchanged).",
    )
    schema_registry: SchemaRegistry | None = Field(
        default=None,
        description="The registry of `avro` and `jsonSchema` values (writer schemas by id; the sink subject).",
    )

    @model_validator(mode="after")
    def _registry_with_format(self) -> EncodedValues:
        check_format(self.side, self.format, self.schema_registry)
        return self
