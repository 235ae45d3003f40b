"""Rules that admission checks with CEL are also checked by the models (the CLI validates locally)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1 import ROOT_RULES, EventReplaySpec, Promotion, RedisConnection


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://redis:6379/0", "must start with redis://"),
        ("redis://user:secret@redis:6379/0", "must not carry credentials"),
        ("redis://redis:6379/0?password=hunter2", "no userinfo, query string or options"),
        ("rediss://redis:6380/0?ssl_cert_reqs=none", "no userinfo, query string or options"),
        ("redis://redis/0", "no userinfo, query string or options"),
        ("redis://redis:6379/0#frag", "no userinfo, query string or options"),
        ("redis://redis:6379/0;x", "no userinfo, query string or options"),
    ],
)
def test_redis_url_rules(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RedisConnection.model_validate({"url": url})


@pytest.mark.parametrize("url", ["redis://r:6379/0", "rediss://redis.payments.svc:6380/3", "redis://[::1]:6379"])
def test_plain_redis_urls_pass(url: str) -> None:
    assert RedisConnection.model_validate({"url": url}).url == url


def test_promotion_rules() -> None:
    with pytest.raises(ValidationError, match="only applies to policy Manual"):
        Promotion.model_validate({"policy": "Never", "approvedReportHash": "a" * 64})
    with pytest.raises(ValidationError, match="Automatic needs thresholds"):
        Promotion.model_validate({"policy": "Automatic"})
    assert Promotion.model_validate({"policy": "Manual", "approvedReportHash": "a" * 64}).policy == "Manual"


def test_aggregate_with_skip_processed_is_refused() -> None:
    spec: dict[str, Any] = {
        "source": {"bootstrapServers": "kafka:9092", "topic": "orders"},
        "window": {"offsets": {"from": 0, "to": 10}},
        "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders", "mode": "skipProcessed"},
        "transform": {
            "aggregate": {
                "eventTimeField": "ts",
                "windowSeconds": 3600,
                "aggregations": [{"name": "orders", "function": "count"}],
            }
        },
        "sink": {"topic": "orders-out"},
    }
    with pytest.raises(ValidationError, match="would count only the missed events"):
        EventReplaySpec.model_validate(spec)
    rule = next(r for r in ROOT_RULES if "skipProcessed" in r["rule"])
    assert "would count only the missed events" in rule["message"]
    spec["dedup"]["mode"] = "withinReplay"
    assert EventReplaySpec.model_validate(spec).transform.aggregate is not None
