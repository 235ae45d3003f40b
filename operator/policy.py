"""The platform's tenant policy: which namespaces may replay from which Kafka clusters, into which
Redis endpoints, with which topics, transforms, validation models, images and Secrets.

In the spirit of Argo CD's AppProject: the platform (not the tenant) writes it, as chart values
rendered into a file the operator reads at start (`EVENTREPLAY_POLICY_FILE`). A replay outside it
stalls with reason `NotAllowed` and a message naming the rule, *before* the operator connects to
anything and before any Job exists, so the operator's own Kafka settings and Redis password only
ever reach endpoints the platform listed. No file means the closed default (`closed_default`): only
the operator's own Kafka cluster and Redis, built-in transforms, and the Secret names it uses
itself. `permissive: true` is the explicit opt-in to allowing everything (a single-team install).

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

from . import policy_registry
from .api.v1alpha1 import EventReplaySpec
from .api.v1alpha1.source import KafkaCredentialsRef
from .policy_document import KafkaCluster, PolicyDocument, Project, RedisEndpoint, SecretKey, TopicsCreatedBy
from .worker_pod import WorkerPod

__all__ = ["OPEN", "PERMISSIVE", "ClusterGrant", "Own", "Policy", "PolicyDocument", "Refusal", "closed_default", "load"]


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
    tenant_settings: tuple[str, ...] | None = None
    """The settings a tenant's Secret may set (globs); None: any (the permissive install)."""
    project: str | None = None
    """The granting project (recorded in the tasks); None: the permissive install."""
    redis_user_secret: str | None = None
    """The project's Redis ACL user (Secret keys `username`, `password`); None: the replay's own password."""


OPEN = ClusterGrant()
"""The permissive install's grant: the tenant's Secret (if any) carries every setting."""


def _ref(secret: SecretKey) -> KafkaCredentialsRef:
    return KafkaCredentialsRef(name=secret.name, key=secret.key)


@dataclass(frozen=True)
class Own:
    """What the operator itself is configured with: everything a closed default may lend."""

    kafka_servers: tuple[str, ...] = ()
    redis_addresses: tuple[str, ...] = ()
    schema_registry_urls: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


def closed_default(own: Own) -> PolicyDocument:
    """The policy of an install without one: one project for every namespace, granted only the
    operator's own Kafka cluster and Redis endpoints, the built-in transforms (no model), and only the
    Secret names the operator itself uses. Without its own endpoints configured it lends nothing."""
    clusters = [KafkaCluster(name="default", bootstrap_servers=list(own.kafka_servers))] if own.kafka_servers else []
    redis = [RedisEndpoint(name=f"default-{i}", address=a) for i, a in enumerate(own.redis_addresses)]
    registries = policy_registry.owned(own.schema_registry_urls)
    project = Project(
        name="default",
        namespaces=["*"],
        kafka_clusters=[c.name for c in clusters],
        redis_endpoints=[r.name for r in redis],
        schema_registries=[r.name for r in registries],
        source_topics=["*"],
        sink_topics=["*"],
        images=list(own.images),
        secrets=list(own.secrets),
    )
    return PolicyDocument(
        kafka_clusters=clusters, redis_endpoints=redis, schema_registries=registries, projects=[project]
    )


@dataclass(frozen=True)
class Policy:
    """A loaded policy; `Policy()` refuses everything, `PERMISSIVE` allows everything."""

    document: PolicyDocument = field(default_factory=PolicyDocument)

    @property
    def permissive(self) -> bool:
        return self.document.permissive

    def _projects(self, namespace: str) -> list[Project]:
        return [p for p in self.document.projects if _any(namespace, p.namespaces)]

    def _cluster(self, project: Project, spec: EventReplaySpec) -> KafkaCluster | None:
        """The project's granted cluster the replay uses: its alias, else the first listing every
        broker it names (None: no granted cluster)."""
        for cluster in self.document.kafka_clusters:
            if cluster.name not in project.kafka_clusters:
                continue
            if spec.source.cluster is not None:
                if cluster.name == spec.source.cluster:
                    return cluster
            elif set(_servers(spec.source.bootstrap_servers)) <= {s.lower() for s in cluster.bootstrap_servers}:
                return cluster
        return None

    def check(self, namespace: str, spec: EventReplaySpec, *, default_image: str) -> Refusal | None:
        """The first rule `spec` breaks in `namespace`, or None. Reads nothing but the spec. One project
        must grant the replay entirely: grants of several projects are never combined."""
        if self.permissive:
            if spec.source.cluster:
                return Refusal("kafkaClusters", f"source.cluster {spec.source.cluster}: no replay policy defines it")
            if spec.dedup.redis.endpoint:
                return Refusal(
                    "redisEndpoints", f"dedup.redis.endpoint {spec.dedup.redis.endpoint}: no policy defines it"
                )
            message = policy_registry.permissive_refusal(spec)
            return None if message is None else Refusal(policy_registry.RULE, message)
        projects = self._projects(namespace)
        if not projects:
            return Refusal("projects", f"namespace {namespace} is in no project of the replay policy")
        refusals = [self._check_project(p, namespace, spec, default_image) for p in projects]
        return None if None in refusals else refusals[0]

    def _granting(self, namespace: str, spec: EventReplaySpec) -> tuple[Project, KafkaCluster]:
        """The first project granting the whole replay, and its cluster; only after `check` passed
        (the images rule aside: it decides nothing a grant carries)."""
        for project in self._projects(namespace):
            cluster = self._cluster(project, spec)
            if cluster is not None and self._check_project(project, namespace, spec, None) is None:
                return project, cluster
        raise AssertionError("check() refuses a replay no project grants")

    def _check_project(
        self, project: Project, namespace: str, spec: EventReplaySpec, default_image: str | None
    ) -> Refusal | None:
        cluster = self._cluster(project, spec)
        if cluster is None:
            if spec.source.cluster is not None:
                what = f"source.cluster {spec.source.cluster}"
            else:
                what = f"source.bootstrapServers {spec.source.bootstrap_servers}"
            return Refusal("kafkaClusters", f"{what} is not a Kafka cluster namespace {namespace} may use")
        redis = {r.name: r.address.lower() for r in self.document.redis_endpoints}
        endpoint = spec.dedup.redis.endpoint
        if endpoint is not None:
            if endpoint not in redis or endpoint not in project.redis_endpoints:
                return Refusal("redisEndpoints", f"dedup.redis.endpoint {endpoint} is not one {namespace} may use")
        elif (address := _redis_address(spec.dedup.redis.url)) not in {
            redis.get(alias) for alias in project.redis_endpoints
        }:
            return Refusal("redisEndpoints", f"dedup.redis.url {address} is not a Redis endpoint {namespace} may use")
        # The comparison topic is read (by the operator to size it, by reconciliation): it stands
        # for the sink's existing output, so the sink's patterns bound it.
        checks = (
            ("sourceTopics", "source.topic", spec.source.topic, project.source_topics),
            ("sinkTopics", "sink.topic", spec.sink.topic, project.sink_topics),
            ("sinkTopics", "reconciliation.comparisonTopic", spec.reconciliation.comparison_topic, project.sink_topics),
        )
        for rule, where, value, patterns in checks:
            if value is not None and not _any(value, patterns):
                return Refusal(rule, f"{where} {value} matches no {rule} pattern of namespace {namespace}")
        if spec.transform.function not in project.transforms:
            return Refusal("transforms", f"transform.function {spec.transform.function} is not an allowed transform")
        model = spec.validation.model
        if model is not None and model not in project.validation_models:
            return Refusal("validationModels", f"validation.model {model} is not an allowed validation model")
        image = spec.worker.image
        if default_image is not None and image and image != default_image and image not in project.images:
            return Refusal("images", f"worker.image {image} is not an allowed image for namespace {namespace}")
        registry = policy_registry.refusal(self.document, project, spec)
        if registry is not None:
            return Refusal(policy_registry.RULE, registry)
        return _check_secrets(project, cluster, spec) or _check_size(project, spec)

    def max_partitions(self, namespace: str, spec: EventReplaySpec) -> int | None:
        """The most partitions the granting project lets this replay read (None: no bound)."""
        return None if self.permissive else self._granting(namespace, spec)[0].max_partitions

    def worker_pod(self, namespace: str, spec: EventReplaySpec) -> WorkerPod | None:
        """The granting project's worker pod settings (None: the operator's alone); only after `check`."""
        return None if self.permissive else self._granting(namespace, spec)[0].worker_pod

    def grant(self, namespace: str, spec: EventReplaySpec) -> ClusterGrant:
        """The policy's settings for the replay's cluster; only after `check` passed."""
        if self.permissive:
            return OPEN
        project, cluster = self._granting(namespace, spec)
        ca = cluster.tls.ca_secret_ref if cluster.tls is not None else None
        return ClusterGrant(
            cluster.settings(),
            ca,
            cluster.topics_created_by,
            tuple(project.tenant_kafka_settings),
            project=project.name,
            redis_user_secret=project.redis_user_secret,
        )

    def resolve(self, namespace: str, spec: EventReplaySpec) -> EventReplaySpec:
        """`spec` with its aliases (`source.cluster`, `dedup.redis.endpoint`) replaced by what the
        policy says they stand for, and the project's default credentials for the cluster when the
        spec names none; only after `check` passed."""
        if self.permissive:
            return spec
        project, cluster = self._granting(namespace, spec)
        source = spec.source
        if source.cluster is not None:
            source = source.model_copy(update={"bootstrap_servers": ",".join(cluster.bootstrap_servers)})
        if source.credentials_secret_ref is None:
            granted = [c.secret_ref for c in project.kafka_credentials if c.cluster == cluster.name]
            if granted:
                source = source.model_copy(update={"credentials_secret_ref": _ref(granted[0])})
        if source is not spec.source:
            spec = spec.model_copy(update={"source": source})
        if spec.dedup.redis.endpoint is not None:
            (end,) = [r for r in self.document.redis_endpoints if r.name == spec.dedup.redis.endpoint]
            url = f"{'rediss' if end.tls else 'redis'}://{end.address}/{end.db}"
            dedup = spec.dedup.model_copy(update={"redis": spec.dedup.redis.model_copy(update={"url": url})})
            spec = spec.model_copy(update={"dedup": dedup})
        return policy_registry.resolve(self.document, spec)


def _check_secrets(project: Project, cluster: KafkaCluster, spec: EventReplaySpec) -> Refusal | None:
    """A cluster with granted credentials takes only those, and they go to no other cluster;
    otherwise (and for Redis) the Secret's name must be in the project's `secrets`."""
    ref = spec.source.credentials_secret_ref
    if ref is not None:
        mine = [(c.secret_ref.name, c.secret_ref.key) for c in project.kafka_credentials if c.cluster == cluster.name]
        elsewhere = {c.secret_ref.name for c in project.kafka_credentials if c.cluster != cluster.name}
        field_ = "source.credentialsSecretRef"
        if mine and (ref.name, ref.key) not in mine:
            return Refusal("kafkaCredentials", f"{field_} {ref.name}/{ref.key} is not granted for {cluster.name}")
        if not mine and ref.name in elsewhere:
            return Refusal("kafkaCredentials", f"{field_} {ref.name} is granted for another Kafka cluster only")
        if not mine and ref.name not in project.secrets:
            return Refusal("secrets", f"{field_} names Secret {ref.name}, which the policy does not allow")
    password = spec.dedup.redis.password_secret_ref
    if password is not None and password.name not in project.secrets:
        where = "dedup.redis.passwordSecretRef"
        return Refusal("secrets", f"{where} names Secret {password.name}, which the policy does not allow")
    return None


def _check_size(project: Project, spec: EventReplaySpec) -> Refusal | None:
    """A replay naming more partitions than the project allows (counted, never expanded); a replay of
    all partitions is measured against the topic when it is planned (`planner.selected_partitions`)."""
    most, named = project.max_partitions, spec.source.count()
    if most is not None and named is not None and named > most:
        where = f"source.partitions names {named} partitions"
        return Refusal("maxPartitions", f"{where}; project {project.name} allows {most}")
    return None


def load(path: str | None, own: Own = Own()) -> Policy:
    """The policy in `path` (YAML or JSON); no path: the closed default, lending only what the
    operator itself is configured with (`own`). A bad file fails loudly."""
    if not path:
        return Policy(closed_default(own))
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return Policy(PolicyDocument.model_validate(raw))
    except (OSError, yaml.YAMLError, ValidationError) as err:
        raise ValueError(f"replay policy {path}: {err}") from err


PERMISSIVE = Policy(PolicyDocument(permissive=True))
"""The explicit opt-in (`permissive: true`): every endpoint, transform and Secret a replay names."""
