"""The platform's tenant policy: which namespaces may replay from which Kafka clusters, into which
Redis endpoints, with which topics, transforms, validation models, images and Secrets.

In the spirit of Argo CD's AppProject: the platform (not the tenant) writes it, as chart values
rendered into a file the operator reads at start (`EVENTREPLAY_POLICY_FILE`). A replay outside it
stalls with reason `NotAllowed` and a message naming the rule, *before* the operator connects to
anything and before any Job exists, so the operator's own Kafka settings and Redis password only
ever reach endpoints the platform listed. No file means the permissive single-team default.

A granted cluster also says how the workers connect to it (`ClusterGrant`: security protocol, SASL
mechanism, CA bundle, by Secret reference only), which Secrets a project's replays use with it,
and whether the operator or the tenant's workers create the replay's topics. The schema and its
load-time checks are in `policy_document`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import ValidationError

from .api.v1alpha1 import EventReplaySpec
from .api.v1alpha1.source import KafkaCredentialsRef
from .policy_document import KafkaCluster, PolicyDocument, Project, SecretKey, TopicsCreatedBy

__all__ = ["OPEN", "ClusterGrant", "Policy", "PolicyDocument", "Refusal", "load"]


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
class ClusterGrant:
    """What the policy attaches to a replay's Kafka cluster for its workers: the platform's non-secret
    settings, the CA bundle's Secret, and who creates the replay's topics. The default: nothing."""

    settings: dict[str, str] = field(default_factory=dict)
    ca: SecretKey | None = None
    topics_created_by: TopicsCreatedBy = "operator"


OPEN = ClusterGrant()
"""The permissive default's grant: the tenant's Secret (if any) carries every setting."""


def _ref(secret: SecretKey) -> KafkaCredentialsRef:
    return KafkaCredentialsRef(name=secret.name, key=secret.key)


@dataclass(frozen=True)
class Policy:
    """A loaded policy; `document is None` is the permissive default (everything allowed)."""

    document: PolicyDocument | None = None

    @property
    def permissive(self) -> bool:
        return self.document is None

    def _projects(self, namespace: str) -> list[Project]:
        doc = self.document
        return [p for p in doc.projects if _any(namespace, p.namespaces)] if doc is not None else []

    def _cluster(self, projects: list[Project], spec: EventReplaySpec) -> KafkaCluster | None:
        """The granted cluster the replay uses: its alias, else the first granted one listing every
        broker it names (None: no granted cluster)."""
        doc = self.document
        assert doc is not None
        granted = {alias for p in projects for alias in p.kafka_clusters}
        for cluster in doc.kafka_clusters:
            if cluster.name not in granted:
                continue
            if spec.source.cluster is not None:
                if cluster.name == spec.source.cluster:
                    return cluster
            elif set(_servers(spec.source.bootstrap_servers)) <= {s.lower() for s in cluster.bootstrap_servers}:
                return cluster
        return None

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
        projects = self._projects(namespace)
        if not projects:
            return Refusal("projects", f"namespace {namespace} is in no project of the replay policy")
        redis = {r.name: r.address.lower() for r in doc.redis_endpoints}

        def allowed(pick: str) -> set[str]:
            return {item for p in projects for item in getattr(p, pick)}

        cluster = self._cluster(projects, spec)
        if cluster is None:
            if spec.source.cluster is not None:
                what = f"source.cluster {spec.source.cluster}"
            else:
                what = f"source.bootstrapServers {spec.source.bootstrap_servers}"
            return Refusal("kafkaClusters", f"{what} is not a Kafka cluster namespace {namespace} may use")
        endpoint = spec.dedup.redis.endpoint
        if endpoint is not None:
            if endpoint not in redis or endpoint not in allowed("redis_endpoints"):
                return Refusal("redisEndpoints", f"dedup.redis.endpoint {endpoint} is not one {namespace} may use")
        elif (address := _redis_address(spec.dedup.redis.url)) not in {
            redis.get(alias) for alias in allowed("redis_endpoints")
        }:
            return Refusal("redisEndpoints", f"dedup.redis.url {address} is not a Redis endpoint {namespace} may use")
        # The comparison topic is read (by the operator to size it, by reconciliation): it stands
        # for the sink's existing output, so the sink's patterns bound it.
        checks = (
            ("sourceTopics", "source.topic", spec.source.topic, "source_topics"),
            ("sinkTopics", "sink.topic", spec.sink.topic, "sink_topics"),
            ("sinkTopics", "reconciliation.comparisonTopic", spec.reconciliation.comparison_topic, "sink_topics"),
        )
        for rule, where, value, pick in checks:
            if value is not None and not _any(value, sorted(allowed(pick))):
                return Refusal(rule, f"{where} {value} matches no {rule} pattern of namespace {namespace}")
        if spec.transform.function not in allowed("transforms"):
            return Refusal("transforms", f"transform.function {spec.transform.function} is not an allowed transform")
        model = spec.validation.model
        if model is not None and model not in allowed("validation_models"):
            return Refusal("validationModels", f"validation.model {model} is not an allowed validation model")
        image = spec.worker.image
        if image and image != default_image and image not in allowed("images"):
            return Refusal("images", f"worker.image {image} is not an allowed image for namespace {namespace}")
        return self._check_secrets(projects, cluster, spec)

    def _check_secrets(self, projects: list[Project], cluster: KafkaCluster, spec: EventReplaySpec) -> Refusal | None:
        """A cluster with granted credentials takes only those, and they go to no other cluster;
        otherwise (and for Redis) the Secret's name must be in the project's `secrets`."""
        creds = [c for p in projects for c in p.kafka_credentials]
        names = {s for p in projects for s in p.secrets}
        ref = spec.source.credentials_secret_ref
        if ref is not None:
            mine = [(c.secret_ref.name, c.secret_ref.key) for c in creds if c.cluster == cluster.name]
            elsewhere = {c.secret_ref.name for c in creds if c.cluster != cluster.name}
            field_ = "source.credentialsSecretRef"
            if mine and (ref.name, ref.key) not in mine:
                return Refusal("kafkaCredentials", f"{field_} {ref.name}/{ref.key} is not granted for {cluster.name}")
            if not mine and ref.name in elsewhere:
                return Refusal("kafkaCredentials", f"{field_} {ref.name} is granted for another Kafka cluster only")
            if not mine and ref.name not in names:
                return Refusal("secrets", f"{field_} names Secret {ref.name}, which the policy does not allow")
        password = spec.dedup.redis.password_secret_ref
        if password is not None and password.name not in names:
            where = "dedup.redis.passwordSecretRef"
            return Refusal("secrets", f"{where} names Secret {password.name}, which the policy does not allow")
        return None

    def grant(self, namespace: str, spec: EventReplaySpec) -> ClusterGrant:
        """The policy's settings for the replay's cluster; only after `check` passed."""
        if self.document is None:
            return OPEN
        cluster = self._cluster(self._projects(namespace), spec)
        assert cluster is not None, "check() refuses a replay without a granted cluster"
        ca = cluster.tls.ca_secret_ref if cluster.tls is not None else None
        return ClusterGrant(cluster.settings(), ca, cluster.topics_created_by)

    def resolve(self, namespace: str, spec: EventReplaySpec) -> EventReplaySpec:
        """`spec` with its aliases (`source.cluster`, `dedup.redis.endpoint`) replaced by what the
        policy says they stand for, and the project's default credentials for the cluster when the
        spec names none; only after `check` passed."""
        doc = self.document
        if doc is None:
            return spec
        projects = self._projects(namespace)
        cluster = self._cluster(projects, spec)
        assert cluster is not None, "check() refuses a replay without a granted cluster"
        source = spec.source
        if source.cluster is not None:
            source = source.model_copy(update={"bootstrap_servers": ",".join(cluster.bootstrap_servers)})
        if source.credentials_secret_ref is None:
            granted = [c.secret_ref for p in projects for c in p.kafka_credentials if c.cluster == cluster.name]
            if granted:
                source = source.model_copy(update={"credentials_secret_ref": _ref(granted[0])})
        if source is not spec.source:
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
