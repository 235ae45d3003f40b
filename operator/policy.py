"""The platform's tenant policy: which namespaces may replay from which Kafka clusters, into which
Redis endpoints, with which topics, transforms, validation models, images and Secrets.

In the spirit of Argo CD's AppProject: the platform (not the tenant) writes it, as chart values
rendered into a file the operator reads at start (`EVENTREPLAY_POLICY_FILE`). A replay outside it
stalls with reason `NotAllowed` and a message naming the rule, *before* the operator connects to
anything and before any Job exists, so the operator's own Kafka settings and Redis password only
ever reach endpoints the platform listed. No file means the permissive single-team default.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from .api.v1alpha1 import EventReplaySpec

BUILTIN_TRANSFORMS = ("identity", "project")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class KafkaCluster(_Model):
    """A Kafka cluster the platform lets replays use, by alias."""

    name: str = Field(min_length=1)
    bootstrap_servers: list[str] = Field(min_length=1, description="Every `host:port` of the cluster.")


class RedisEndpoint(_Model):
    """A Redis server the platform lets replays use for their ledger, by alias."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1, description="`host:port` (any db on it).")
    tls: bool = Field(default=False, description="An `endpoint` alias resolves to rediss:// (else redis://).")
    db: int = Field(default=0, ge=0, description="The db an `endpoint` alias resolves to.")


class Project(_Model):
    """What the namespaces matching `namespaces` may do. Patterns are shell globs (`orders.*`)."""

    name: str = Field(min_length=1)
    namespaces: list[str] = Field(min_length=1)
    kafka_clusters: list[str] = Field(default_factory=list, description="Aliases from kafkaClusters.")
    redis_endpoints: list[str] = Field(default_factory=list, description="Aliases from redisEndpoints.")
    source_topics: list[str] = Field(default_factory=list)
    sink_topics: list[str] = Field(default_factory=list)
    transforms: list[str] = Field(default_factory=lambda: list(BUILTIN_TRANSFORMS))
    validation_models: list[str] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list, description="Besides the operator's default image.")
    secrets: list[str] = Field(default_factory=list, description="Secret names a replay may reference.")


class PolicyDocument(_Model):
    kafka_clusters: list[KafkaCluster] = Field(default_factory=list)
    redis_endpoints: list[RedisEndpoint] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


def _servers(value: str) -> list[str]:
    return [s.strip().lower() for s in value.split(",") if s.strip()]


def _redis_address(url: str) -> str:
    # The URL is already `redis[s]://host:port[/db]` (admission and the model insist on it).
    return url.split("://", 1)[1].split("/", 1)[0].lower()


def _any(value: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class Policy:
    """A loaded policy; `document is None` is the permissive default (everything allowed)."""

    document: PolicyDocument | None = None

    @property
    def permissive(self) -> bool:
        return self.document is None

    def check(self, namespace: str, spec: EventReplaySpec, *, default_image: str) -> Refusal | None:
        """The first rule `spec` breaks in `namespace`, or None. Reads nothing but the spec."""
        doc = self.document
        if doc is None:
            if spec.source.cluster:
                return Refusal("kafkaClusters", f"source.cluster {spec.source.cluster}: no replay policy defines it")
            if spec.dedup.redis.endpoint:
                return Refusal(
                    "redisEndpoints", f"dedup.redis.endpoint {spec.dedup.redis.endpoint}: no policy defines it"
                )
            return None
        projects = [p for p in doc.projects if _any(namespace, p.namespaces)]
        if not projects:
            return Refusal("projects", f"namespace {namespace} is in no project of the replay policy")
        clusters = {c.name: {s.lower() for s in c.bootstrap_servers} for c in doc.kafka_clusters}
        redis = {r.name: r.address.lower() for r in doc.redis_endpoints}

        def allowed(pick: str) -> set[str]:
            return {item for p in projects for item in getattr(p, pick)}

        alias = spec.source.cluster
        if alias is not None:
            if alias not in clusters or alias not in allowed("kafka_clusters"):
                return Refusal("kafkaClusters", f"source.cluster {alias} is not a Kafka cluster {namespace} may use")
        elif not any(
            set(_servers(spec.source.bootstrap_servers)) <= clusters.get(name, set())
            for name in allowed("kafka_clusters")
        ):
            return Refusal(
                "kafkaClusters",
                f"source.bootstrapServers {spec.source.bootstrap_servers} is not a Kafka cluster "
                f"namespace {namespace} may use",
            )
        endpoint = spec.dedup.redis.endpoint
        if endpoint is not None:
            if endpoint not in redis or endpoint not in allowed("redis_endpoints"):
                return Refusal("redisEndpoints", f"dedup.redis.endpoint {endpoint} is not one {namespace} may use")
        elif (address := _redis_address(spec.dedup.redis.url)) not in {
            redis.get(alias) for alias in allowed("redis_endpoints")
        }:
            return Refusal("redisEndpoints", f"dedup.redis.url {address} is not a Redis endpoint {namespace} may use")
        checks = (
            ("sourceTopics", "source.topic", spec.source.topic, "source_topics"),
            ("sinkTopics", "sink.topic", spec.sink.topic, "sink_topics"),
        )
        for rule, field, value, pick in checks:
            if not _any(value, sorted(allowed(pick))):
                return Refusal(rule, f"{field} {value} matches no {rule} pattern of namespace {namespace}")
        if spec.transform.function not in allowed("transforms"):
            return Refusal("transforms", f"transform.function {spec.transform.function} is not an allowed transform")
        model = spec.validation.model
        if model is not None and model not in allowed("validation_models"):
            return Refusal("validationModels", f"validation.model {model} is not an allowed validation model")
        image = spec.worker.image
        if image and image != default_image and image not in allowed("images"):
            return Refusal("images", f"worker.image {image} is not an allowed image for namespace {namespace}")
        refs = {
            "source.credentialsSecretRef": spec.source.credentials_secret_ref,
            "dedup.redis.passwordSecretRef": spec.dedup.redis.password_secret_ref,
        }
        for field, ref in refs.items():
            if ref is not None and ref.name not in allowed("secrets"):
                return Refusal("secrets", f"{field} names Secret {ref.name}, which the policy does not allow")
        return None

    def resolve(self, spec: EventReplaySpec) -> EventReplaySpec:
        """`spec` with its aliases (`source.cluster`, `dedup.redis.endpoint`) replaced by what the
        policy says they stand for; only after `check` passed."""
        doc = self.document
        if doc is None:
            return spec
        if spec.source.cluster is not None:
            (cluster,) = [c for c in doc.kafka_clusters if c.name == spec.source.cluster]
            source = spec.source.model_copy(update={"bootstrap_servers": ",".join(cluster.bootstrap_servers)})
            spec = spec.model_copy(update={"source": source})
        if spec.dedup.redis.endpoint is not None:
            (end,) = [r for r in doc.redis_endpoints if r.name == spec.dedup.redis.endpoint]
            url = f"{'rediss' if end.tls else 'redis'}://{end.address}/{end.db}"
            dedup = spec.dedup.model_copy(update={"redis": spec.dedup.redis.model_copy(update={"url": url})})
            spec = spec.model_copy(update={"dedup": dedup})
        return spec


def load(path: str | None) -> Policy:
    """The policy in `path` (YAML or JSON); no path: the permissive default. A bad file fails loudly."""
    if not path:
        return Policy()
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return Policy(PolicyDocument.model_validate(raw))
    except (OSError, yaml.YAMLError, ValidationError) as err:
        raise ValueError(f"replay policy {path}: {err}") from err
