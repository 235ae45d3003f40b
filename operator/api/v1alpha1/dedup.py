"""De-duplication: `spec.dedup` (the Redis ledger: where it lives, its key prefix, mode and TTL)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from eventreplay.worker.contract.defaults import DEFAULT_TTL_SECONDS

from .base import ApiModel, SecretKeyRef, cel, rule
from .policy_alias import aliased_value, one_of_rule, policy_alias, value_or_alias


class RedisPasswordRef(SecretKeyRef):
    """A Secret key holding the Redis password."""

    key: str = Field(default="password", min_length=1, max_length=253, description="Key inside the Secret.")


REDIS_URL_RE = r"^rediss?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}(/[0-9]{1,5})?$"
"""`redis[s]://host:port[/db]` and nothing else: redis-py turns a query string into connection
arguments that override explicit ones (`?password=`, `?ssl_cert_reqs=none`), so none is accepted."""
REDIS_URL_MESSAGE = "dedup.redis.url must be redis[s]://host:port[/db]: no userinfo, query string or options"
URL_OR_ENDPOINT = "dedup.redis: set exactly one of url or endpoint"


class RedisConnection(ApiModel):
    """The Redis server holding the dedup ledger (and the workers' progress mirror)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.url) || self.url.startsWith('redis://') || self.url.startsWith('rediss://')",
                "dedup.redis.url must start with redis:// or rediss://",
            ),
            rule(
                "!has(self.url) || !self.url.contains('@')",
                "dedup.redis.url must not carry credentials; use passwordSecretRef",
            ),
            rule(f"!has(self.url) || self.url.matches(r'{REDIS_URL_RE}')", REDIS_URL_MESSAGE),
            one_of_rule("url", "endpoint", URL_OR_ENDPOINT),
        )
    )

    endpoint: str | None = policy_alias(
        "Alias of a Redis endpoint in the operator's replay policy (instead of url), resolved by the operator."
    )
    url: str = aliased_value(
        8,
        "`redis://host:port[/db]` or `rediss://host:port[/db]`: no userinfo, query string or options; "
        "or name an `endpoint` instead.",
    )
    _url_or_endpoint = value_or_alias("url", "endpoint", URL_OR_ENDPOINT)
    password_secret_ref: RedisPasswordRef | None = Field(
        default=None, description="Secret holding the Redis password, in the EventReplay's namespace."
    )

    @model_validator(mode="after")
    def _url(self) -> RedisConnection:
        # The same rules as the CEL above, so `eventreplay plan/run` refuses what admission refuses.
        if not self.url:
            return self  # an endpoint alias, resolved by the operator
        if not self.url.startswith(("redis://", "rediss://")):
            raise ValueError("dedup.redis.url must start with redis:// or rediss://")
        if "@" in self.url:
            raise ValueError("dedup.redis.url must not carry credentials; use passwordSecretRef")
        if not re.fullmatch(REDIS_URL_RE, self.url):
            raise ValueError(REDIS_URL_MESSAGE)
        return self


class Dedup(ApiModel):
    """De-duplication against a Redis ledger keyed by event id (storing a content hash)."""

    redis: RedisConnection = Field(description="Where the ledger lives.")
    ledger: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$", description="Ledger key prefix.")
    mode: Literal["withinReplay", "skipProcessed"] = Field(
        default="withinReplay",
        description="`withinReplay`: recompute everything, drop repeats inside the window; "
        "`skipProcessed`: skip ids the production ledger already holds (recover missed events; refused with "
        "transform.aggregate, whose windows would count only the missed events).",
    )
    ttl_seconds: int = Field(
        default=DEFAULT_TTL_SECONDS,
        gt=0,
        le=366 * 86400,
        description="TTL of the ledger buckets this replay writes: set on a bucket's first write and "
        "refreshed by a write once it has fallen below 90 %. Must outlast the replay.",
    )
