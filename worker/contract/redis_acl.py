"""The Redis ACL rules that confine one project's user to its tenants' keys and the ledgers of the
sinks it may write (docs/security.md gives them as `ACL SETUSER` lines; a unit test compares)."""

from __future__ import annotations

import re

from .names import KEY_HEAD, ROUTE_HEAD, SINK_HEAD, check_tenant

SINK_TOPIC_GLOB = r"^[A-Za-z0-9._\-*?\[\]!]+$"
"""A policy `sinkTopics` pattern that is also a safe Redis ACL glob: topic characters and `* ? [ ] !`."""


def tenant_key_patterns(tenant: str) -> list[str]:
    """The Redis ACL key patterns (`ACL SETUSER ... <pattern>`) covering every key of one tenant and
    nothing of another: what docs/security.md tells the platform to grant each tenant's user."""
    return [f"~{KEY_HEAD}:{check_tenant(tenant)}:*", f"~{ROUTE_HEAD}:{{{check_tenant(tenant)}:*"]


def sink_key_patterns(sink_topics: list[str]) -> list[str]:
    """The Redis ACL key patterns covering the promotion ledgers of the sinks whose topic matches one
    of `sink_topics` (the project's `sinkTopics` globs, on any cluster): a project reaches the ledger
    of exactly the topics it may write. Topic names hold no `:` or `}`, so the cluster's `*` cannot
    stretch into another topic's key."""
    out = []
    for pattern in sink_topics:
        if not re.fullmatch(SINK_TOPIC_GLOB, pattern):
            raise ValueError(f"sink topic pattern {pattern!r}: only topic characters and * ? [ ] ! may appear")
        # fnmatch negates a class with `[!`, Redis with `[^`.
        out.append(f"~{SINK_HEAD}:{{*:{pattern.replace('[!', '[^')}}}:*")
    return out


ACL_COMMANDS = ("+@all", "-@admin", "-@dangerous", "+info")
"""What a tenant's user may run: data commands and scripts, not server administration (INFO only
so a worker can check the eviction policy)."""


def tenant_acl_rules(namespaces: list[str], sink_topics: list[str]) -> list[str]:
    """The `ACL SETUSER <user> reset on ><password> ...` rules of one project's Redis user: the keys of
    its namespaces and the ledgers of the sinks it may write, no channel, no admin command
    (docs/security.md)."""
    keys = [pattern for ns in namespaces for pattern in tenant_key_patterns(ns)]
    return [*keys, *sink_key_patterns(sink_topics), *ACL_COMMANDS]
