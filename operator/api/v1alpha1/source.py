"""Where events come from: `spec.source` (bootstrap servers, credentials, topic, partitions).

Secret references carry a name and a key, never a namespace: they resolve in the replay's namespace.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator

from .base import MAX_PARTITION_NUMBER, MAX_PARTITIONS, PARTITION_RE, TOPIC_RE, SecretKeyRef, cel, rule
from .policy_alias import aliased_value, one_of_rule, policy_alias, value_or_alias
from .source_format import EncodedValues, format_rule


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


class Source(EncodedValues):
    """Where the events are read from."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.partitions) || self.partitions.all(p, !p.contains('-') || "
                "int(p.split('-')[0]) <= int(p.split('-')[1]))",
                "source.partitions: a range N-M needs N <= M",
            ),
            rule(
                "!has(self.partitions) || self.partitions.all(p, "
                f"p.split('-').all(n, int(n) <= {MAX_PARTITION_NUMBER}))",
                f"source.partitions: partition numbers go up to {MAX_PARTITION_NUMBER}",
            ),
            one_of_rule("bootstrapServers", "cluster", SERVERS_OR_CLUSTER),
            format_rule("source"),
        )
    )
    side = "source"

    cluster: str | None = policy_alias(
        "Alias of a Kafka cluster in the operator's replay policy (instead of bootstrapServers): "
        "the platform's bootstrap servers, resolved by the operator."
    )
    bootstrap_servers: str = aliased_value(
        1, "Kafka bootstrap servers, `host:port[,host:port...]`; or name a `cluster` instead."
    )
    _servers_or_cluster = value_or_alias("bootstrap_servers", "cluster", SERVERS_OR_CLUSTER)
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

    dead_letters: Literal["eventReplay", "connect"] | None = Field(
        default=None,
        description="Redrive: `topic` is a dead-letter topic, of an EventReplay (`eventReplay`: its `er-source-*` "
        "headers) or of Kafka Connect (`connect`: `__connect.errors.*` headers, with "
        "`errors.deadletterqueue.context.headers.enable`). Its records go through validation, dedup, transform, "
        "the sandbox, reconciliation and the gate like any source's; each keeps its origin (`er-origin-topic`, "
        "`-partition`, `-offset` on what the replay writes); one without an origin is dead-lettered (`origin`).",
    )

    @field_validator("partitions")
    @classmethod
    def _ranges(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not re.match(PARTITION_RE, item):
                raise ValueError(f"partition {item!r} is neither N nor N-M")
            low, _, high = item.partition("-")
            if high and int(low) > int(high):
                raise ValueError(f"partition range {item!r} needs N <= M")
            if max(int(low), int(high or low)) > MAX_PARTITION_NUMBER:
                raise ValueError(f"partition {item!r}: partition numbers go up to {MAX_PARTITION_NUMBER}")
        return value

    def spans(self) -> list[tuple[int, int]] | None:
        """The selection as merged inclusive (low, high) spans, sorted; None for all partitions."""
        if not self.partitions:
            return None
        pairs = sorted((int(low), int(high or low)) for low, _, high in (p.partition("-") for p in self.partitions))
        merged: list[tuple[int, int]] = []
        for low, high in pairs:
            if merged and low <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        return merged

    def count(self) -> int | None:
        """How many partitions the selection names, counted, never expanded (None: all of them)."""
        spans = self.spans()
        return None if spans is None else sum(high - low + 1 for low, high in spans)

    def selected(self, count: int) -> list[int] | None:
        """The selected partition numbers the topic has (below `count`), sorted, or None for all:
        a range is cut at the topic's partition count before it is expanded."""
        spans = self.spans()
        if spans is None:
            return None
        return [p for low, high in spans for p in range(low, min(high, count - 1) + 1)]

    def beyond(self, count: int) -> list[tuple[int, int]]:
        """The selected spans the topic (of `count` partitions) does not have."""
        return [(max(low, count), high) for low, high in self.spans() or [] if high >= count]
