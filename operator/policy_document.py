"""The replay policy's schema: what the platform writes (chart value `policy`, the file the operator
reads at start). Checked whole when loaded: an alias a project names but nothing defines, a
credential for a cluster the project is not granted, or TLS settings on a plaintext cluster stop
the operator with the error instead of refusing replays later for a reason nobody wrote.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from eventreplay.worker.contract.names import TENANT_LABEL
from eventreplay.worker.contract.redis_acl import SINK_TOPIC_GLOB

from .worker_pod import WorkerPod

BUILTIN_TRANSFORMS = ("identity", "project")
TENANT_KAFKA_SETTINGS = (
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "ssl.certificate.pem",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.ca.pem",
)
"""What a tenant's Kafka Secret may set unless the policy says otherwise: credentials and the
protocol, nothing that makes a worker run a command, load a library, read a file or fetch a URL
(`sasl.kerberos.kinit.cmd`, `plugin.library.paths`, `ssl.*.location`, `sasl.oauthbearer.token.endpoint.url`)."""
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"]
TopicsCreatedBy = Literal["operator", "tenant"]
SECRET_NAME = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"
"""A Kubernetes Secret's name (RFC 1123 subdomain)."""


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class SecretKey(_Model):
    """A key of a Secret that the platform places in each namespace using it (no namespace field)."""

    name: str = Field(min_length=1, max_length=253, pattern=SECRET_NAME)
    key: str = Field(default="client.properties", min_length=1, max_length=253)


class ClusterTls(_Model):
    """How workers verify the brokers' certificates."""

    ca_secret_ref: SecretKey | None = Field(
        default=None, description="The CA bundle (PEM) the brokers' certificates chain to: librdkafka `ssl.ca.pem`."
    )
    verify_hostname: bool = Field(
        default=True, description="false: `ssl.endpoint.identification.algorithm=none` (certificates without SANs)."
    )


class KafkaCluster(_Model):
    """A Kafka cluster the platform lets replays use, by alias, and how workers connect to it."""

    name: str = Field(min_length=1)
    bootstrap_servers: list[str] = Field(min_length=1, description="Every `host:port` of the cluster.")
    security_protocol: SecurityProtocol | None = Field(
        default=None, description="librdkafka `security.protocol`; unset: whatever the credentials Secret says."
    )
    sasl_mechanism: SaslMechanism | None = Field(default=None, description="librdkafka `sasl.mechanism`.")
    tls: ClusterTls | None = None
    topics_created_by: TopicsCreatedBy = Field(
        default="operator",
        description="Who creates a replay's sandbox and dead-letter topics: the operator (its own principal, "
        "before the Jobs) or `tenant` (the workers, with the replay's credentials; the operator creates none).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> KafkaCluster:
        protocol = self.security_protocol
        if self.sasl_mechanism is not None and protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError(f"kafkaClusters {self.name}: saslMechanism needs securityProtocol SASL_PLAINTEXT/SASL_SSL")
        if self.tls is not None and protocol not in ("SSL", "SASL_SSL"):
            raise ValueError(f"kafkaClusters {self.name}: tls needs securityProtocol SSL or SASL_SSL")
        return self

    def settings(self) -> dict[str, str]:
        """The cluster's non-secret librdkafka settings (a Secret may add credentials, not change these)."""
        out: dict[str, str] = {}
        if self.security_protocol is not None:
            out["security.protocol"] = self.security_protocol
        if self.sasl_mechanism is not None:
            out["sasl.mechanism"] = self.sasl_mechanism
        if self.tls is not None:
            out["ssl.endpoint.identification.algorithm"] = "https" if self.tls.verify_hostname else "none"
        return out


class RedisEndpoint(_Model):
    """A Redis server the platform lets replays use for their ledger, by alias."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1, description="`host:port` (any db on it).")
    tls: bool = Field(default=False, description="An `endpoint` alias resolves to rediss:// (else redis://).")
    db: int = Field(default=0, ge=0, description="The db an `endpoint` alias resolves to.")


class SchemaRegistryEndpoint(_Model):
    """A schema registry the platform lets replays read writer schemas from, by alias or by its URL."""

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$", description="Its base URL, as a replay names it.")


class KafkaCredentials(_Model):
    """A Secret a project's replays use with one cluster (librdkafka `key=value` lines: sasl.*, ssl.*)."""

    cluster: str = Field(min_length=1, description="Alias from the project's kafkaClusters.")
    secret_ref: SecretKey


class Project(_Model):
    """What the namespaces matching `namespaces` may do. Patterns are shell globs (`orders.*`)."""

    name: str = Field(min_length=1, pattern=TENANT_LABEL, description="A DNS label (the tasks record it).")
    namespaces: list[str] = Field(min_length=1)
    kafka_clusters: list[str] = Field(default_factory=list, description="Aliases from kafkaClusters.")
    kafka_credentials: list[KafkaCredentials] = Field(
        default_factory=list,
        description="Per cluster, the Secrets this project's replays use with it (the first is the default); "
        "a cluster listed here accepts no other Secret, and these Secrets go to no other cluster.",
    )
    redis_endpoints: list[str] = Field(default_factory=list, description="Aliases from redisEndpoints.")
    schema_registries: list[str] = Field(default_factory=list, description="Aliases from schemaRegistries.")
    register_schemas: bool = Field(
        default=False,
        description="Whether a replay may register its sink's schema (`spec.sink.schema`) under the sink subject "
        "in these registries; otherwise a sink subject must hold its schema already.",
    )
    redis_user_secret: str | None = Field(
        default=None,
        max_length=253,
        pattern=SECRET_NAME,
        description="A Secret (keys `username`, `password`) in each namespace of the project: the Redis ACL "
        "user the project's workers connect as, instead of any password the replay names (docs/security.md).",
    )
    source_topics: list[str] = Field(default_factory=list)
    sink_topics: list[Annotated[str, Field(pattern=SINK_TOPIC_GLOB)]] = Field(
        default_factory=list,
        description="Topic globs replays may promote into (and compare with); the project's Redis user "
        "reaches the promotion ledgers of exactly these topics (`~ers:{*:<glob>}:*`).",
    )
    transforms: list[str] = Field(default_factory=lambda: list(BUILTIN_TRANSFORMS))
    validation_models: list[str] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list, description="Besides the operator's default image.")
    secrets: list[str] = Field(default_factory=list, description="Secret names a replay may reference.")
    tenant_kafka_settings: list[str] = Field(
        default_factory=lambda: list(TENANT_KAFKA_SETTINGS),
        description="librdkafka settings (shell globs) a replay's Kafka Secret may set; the worker refuses "
        "any other key before connecting.",
    )
    max_partitions: int | None = Field(
        default=None, ge=1, description="The most partitions one replay may read (NotAllowed above it)."
    )
    worker_pod: WorkerPod | None = Field(
        default=None,
        description="Placement and pull settings of this project's worker pods, over the chart's `worker.pod`.",
    )


def _unique(kind: str, names: list[str]) -> None:
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise ValueError(f"{kind}: {', '.join(sorted(seen))} defined more than once")


class PolicyDocument(_Model):
    permissive: bool = Field(
        default=False,
        description="The explicit opt-in to the single-team install: every endpoint, transform and Secret a "
        "replay names is allowed. Stands alone (no projects, clusters or endpoints beside it).",
    )
    kafka_clusters: list[KafkaCluster] = Field(default_factory=list)
    redis_endpoints: list[RedisEndpoint] = Field(default_factory=list)
    schema_registries: list[SchemaRegistryEndpoint] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> PolicyDocument:
        clusters, endpoints = [c.name for c in self.kafka_clusters], [r.name for r in self.redis_endpoints]
        _unique("kafkaClusters", clusters)
        _unique("redisEndpoints", endpoints)
        registries = [r.name for r in self.schema_registries]
        _unique("schemaRegistries", registries)
        _unique("projects", [p.name for p in self.projects])
        if self.permissive and (self.kafka_clusters or self.redis_endpoints or self.schema_registries or self.projects):
            raise ValueError("permissive: true allows everything, so it stands alone (no projects or aliases)")
        for p in self.projects:
            for alias in p.kafka_clusters:
                if alias not in clusters:
                    raise ValueError(f"project {p.name}: kafkaClusters {alias} is not defined")
            for alias in p.redis_endpoints:
                if alias not in endpoints:
                    raise ValueError(f"project {p.name}: redisEndpoints {alias} is not defined")
            for alias in p.schema_registries:
                if alias not in registries:
                    raise ValueError(f"project {p.name}: schemaRegistries {alias} is not defined")
            for cred in p.kafka_credentials:
                if cred.cluster not in p.kafka_clusters:
                    raise ValueError(f"project {p.name}: kafkaCredentials for {cred.cluster}, not in its kafkaClusters")
        return self
