"""The replay policy's rule for schema registries: which ones a project's replays may read schemas from.

Like Kafka clusters and Redis: a replay names a registry by its URL or by a policy alias
(`schemaRegistry.endpoint`, on the source and on the sink), and only a registry its project lists is allowed, so the
workers fetch schemas from nowhere the platform did not list. The closed default lists only the
operator's own registry (`--schema-registry-url`). Credentials go by Secret reference only, and the
Secret must be one the project may use.
"""

from __future__ import annotations

from .api.v1alpha1 import EventReplaySpec
from .api.v1alpha1.source_format import SchemaRegistry
from .policy_document import PolicyDocument, Project, SchemaRegistryEndpoint

RULE = "schemaRegistries"


def owned(urls: tuple[str, ...]) -> list[SchemaRegistryEndpoint]:
    """The operator's own registries, as the closed default grants them."""
    return [SchemaRegistryEndpoint(name=f"default-{i}", url=url) for i, url in enumerate(urls)]


def _registries(spec: EventReplaySpec) -> list[tuple[str, SchemaRegistry]]:
    """The replay's registries by field path: the source's (writer schemas) and the sink's (its subject)."""
    named = [("source", spec.source.schema_registry), ("sink", spec.sink.schema_registry)]
    return [(f"{side}.schemaRegistry", registry) for side, registry in named if registry is not None]


def refusal(document: PolicyDocument, project: Project, spec: EventReplaySpec) -> str | None:
    """Why the project may not use one of the replay's registries (a message), or None."""
    granted = {r.name: r.url for r in document.schema_registries if r.name in project.schema_registries}
    for path, registry in _registries(spec):
        if registry.endpoint is not None:
            if registry.endpoint not in granted:
                return f"{path}.endpoint {registry.endpoint} is not one this namespace may use"
        elif registry.url.rstrip("/") not in {url.rstrip("/") for url in granted.values()}:
            return f"{path}.url {registry.url} is not a schema registry this namespace may use"
        creds = registry.credentials_secret_ref
        if creds is not None and creds.name not in project.secrets:
            return f"{path}.credentialsSecretRef names Secret {creds.name}, which the policy does not allow"
    if spec.sink.schema_ is not None and not project.register_schemas:
        return f"sink.schema: project {project.name} may not register schemas (registerSchemas is false)"
    return None


def permissive_refusal(spec: EventReplaySpec) -> str | None:
    """The permissive install allows any URL, but has no aliases to resolve."""
    for path, registry in _registries(spec):
        if registry.endpoint is not None:
            return f"{path}.endpoint {registry.endpoint}: no replay policy defines it"
    return None


def _resolved(document: PolicyDocument, registry: SchemaRegistry | None) -> SchemaRegistry | None:
    if registry is None or registry.endpoint is None:
        return registry
    (url,) = [r.url for r in document.schema_registries if r.name == registry.endpoint]
    return registry.model_copy(update={"url": url, "endpoint": None})


def resolve(document: PolicyDocument, spec: EventReplaySpec) -> EventReplaySpec:
    """`spec` with registry aliases replaced by the registries' URLs; only after the check passed."""
    source, sink = spec.source, spec.sink
    return spec.model_copy(
        update={
            "source": source.model_copy(update={"schema_registry": _resolved(document, source.schema_registry)}),
            "sink": sink.model_copy(update={"schema_registry": _resolved(document, sink.schema_registry)}),
        }
    )
