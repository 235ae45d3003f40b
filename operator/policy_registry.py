"""The replay policy's rule for schema registries: which ones a project's replays may read schemas from.

Like Kafka clusters and Redis: a replay names a registry by its URL or by a policy alias
(`source.schemaRegistry.endpoint`), and only a registry its project lists is allowed, so the
workers fetch schemas from nowhere the platform did not list. The closed default lists only the
operator's own registry (`--schema-registry-url`). Credentials go by Secret reference only, and the
Secret must be one the project may use.
"""

from __future__ import annotations

from .api.v1alpha1 import EventReplaySpec
from .policy_document import PolicyDocument, Project, SchemaRegistryEndpoint

RULE = "schemaRegistries"


def owned(urls: tuple[str, ...]) -> list[SchemaRegistryEndpoint]:
    """The operator's own registries, as the closed default grants them."""
    return [SchemaRegistryEndpoint(name=f"default-{i}", url=url) for i, url in enumerate(urls)]


def refusal(document: PolicyDocument, project: Project, spec: EventReplaySpec) -> str | None:
    """Why the project may not use the replay's registry (a message), or None."""
    registry = spec.source.schema_registry
    if registry is None:
        return None
    granted = {r.name: r.url for r in document.schema_registries if r.name in project.schema_registries}
    if registry.endpoint is not None:
        if registry.endpoint not in granted:
            return f"source.schemaRegistry.endpoint {registry.endpoint} is not one this namespace may use"
    elif registry.url.rstrip("/") not in {url.rstrip("/") for url in granted.values()}:
        return f"source.schemaRegistry.url {registry.url} is not a schema registry this namespace may use"
    creds = registry.credentials_secret_ref
    if creds is not None and creds.name not in project.secrets:
        return f"source.schemaRegistry.credentialsSecretRef names Secret {creds.name}, which the policy does not allow"
    return None


def permissive_refusal(spec: EventReplaySpec) -> str | None:
    """The permissive install allows any URL, but has no aliases to resolve."""
    registry = spec.source.schema_registry
    if registry is not None and registry.endpoint is not None:
        return f"source.schemaRegistry.endpoint {registry.endpoint}: no replay policy defines it"
    return None


def resolve(document: PolicyDocument, spec: EventReplaySpec) -> EventReplaySpec:
    """`spec` with a registry alias replaced by the registry's URL; only after the check passed."""
    registry = spec.source.schema_registry
    if registry is None or registry.endpoint is None:
        return spec
    (url,) = [r.url for r in document.schema_registries if r.name == registry.endpoint]
    resolved = registry.model_copy(update={"url": url, "endpoint": None})
    return spec.model_copy(update={"source": spec.source.model_copy(update={"schema_registry": resolved})})
