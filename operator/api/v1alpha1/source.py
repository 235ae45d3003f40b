"""Where events come from: `spec.source` (bootstrap servers, credentials, topic, partitions).

Secret references carry a name and a key, never a namespace: they resolve in the replay's namespace.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from .base import MAX_PARTITIONS, PARTITION_RE, TOPIC_RE, ApiModel, SecretKeyRef, cel, rule
from .policy_alias import aliased_value, one_of_rule, policy_alias, value_or_alias


class KafkaCredentialsRef(SecretKeyRef):
    """A Secret key holding librdkafka settings (security.protocol, sasl.*, ssl.*) as key=value lines."""

    key: str = Field(
        default="client.properties",
        min_length=1,
        max_length=253,
        description="Key inside the Secret whose value is librdkafka `key=value` lines (a PEM value such "
        "as `ssl.ca.pem` may span lines, from `-----BEGIN` to `-----END`).",
    )


SERVERS_OR_CLUSTER = "source: set exactly one of bootstrapServers or cluster"


class Source(ApiModel):
    """Where the events are read from."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.partitions) || self.partitions.all(p, !p.contains('-') || "
                "int(p.split('-')[0]) <= int(p.split('-')[1]))",
                "source.partitions: a range N-M needs N <= M",
            ),
            one_of_rule("bootstrapServers", "cluster", SERVERS_OR_CLUSTER),
        )
    )

    cluster: str | None = policy_alias(
        "Alias of a Kafka cluster in the operator's replay policy (instead of bootstrapServers): "
        "the platform's bootstrap servers, resolved by the operator."
    )
    bootstrap_servers: str = aliased_value(
        1, "Kafka bootstrap servers, `host:port[,host:port...]`; or name a `cluster` instead."
    )
    credentials_secret_ref: KafkaCredentialsRef | None = Field(
        default=None,
        description="Secret with librdkafka client settings (SASL/TLS) for the workers; "
        "same namespace. Omit for a plaintext cluster.",
    )
    topic: str = Field(pattern=TOPIC_RE, max_length=249, description="Source topic (letters, digits, '.', '_', '-').")
    partitions: list[Annotated[str, Field(pattern=PARTITION_RE, max_length=16)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PARTITIONS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Partitions to replay, each `N` or an inclusive range `N-M`; default: all partitions.",
    )

    _servers_or_cluster = value_or_alias("bootstrap_servers", "cluster", SERVERS_OR_CLUSTER)

    @field_validator("partitions")
    @classmethod
    def _ranges(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not re.match(PARTITION_RE, item):
                raise ValueError(f"partition {item!r} is neither N nor N-M")
            low, _, high = item.partition("-")
            if high and int(low) > int(high):
                raise ValueError(f"partition range {item!r} needs N <= M")
        return value

    def selected(self, count: int) -> list[int] | None:
        """The selected partition numbers (sorted), or None for all `count` partitions."""
        if not self.partitions:
            return None
        chosen: set[int] = set()
        for item in self.partitions:
            low, _, high = item.partition("-")
            chosen.update(range(int(low), int(high or low) + 1))
        return sorted(chosen)
