"""Replay policies that grant schema registries, as the registry tests use them: the closed default
lending the operator's own registry, and a policy with one project granted registry alias `sr`."""

from __future__ import annotations

from dataclasses import replace

from operator_fixtures import OWN

from eventreplay.operator.policy import Policy, PolicyDocument, closed_default

OWN_REGISTRY = "http://registry:8080/apis/ccompat/v6"
CLOSED = Policy(closed_default(replace(OWN, schema_registry_urls=(OWN_REGISTRY,))))
ALIASED = Policy(
    PolicyDocument.model_validate(
        {
            "kafkaClusters": [{"name": "k", "bootstrapServers": ["k:9092"]}],
            "redisEndpoints": [{"name": "r", "address": "r:6379"}],
            "schemaRegistries": [{"name": "sr", "url": OWN_REGISTRY}],
            "projects": [
                {
                    "name": "orders",
                    "namespaces": ["ns"],
                    "kafkaClusters": ["k"],
                    "redisEndpoints": ["r"],
                    "schemaRegistries": ["sr"],
                    "sourceTopics": ["*"],
                    "sinkTopics": ["*"],
                    "secrets": ["sr-auth"],
                }
            ],
        }
    )
)
