"""`.spec` of an EventReplay: EventReplaySpec and its parts (validation, dedup, transform, sink, worker).

The source and window live in `source.py` / `window.py`, reconciliation and promotion in
`reconciliation.py`; the rules on the whole object (immutability) are in `resource.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from eventreplay.worker.contract.defaults import DEFAULT_TTL_SECONDS

from .base import TOPIC_RE, ApiModel, SecretKeyRef, cel, rule
from .reconciliation import Promotion, Reconciliation
from .source import Source
from .window import Window

IMMUTABLE = (
    "source",
    "window",
    "validation",
    "transform",
    "sink",
    "dedup.redis.url",
    "dedup.ledger",
    "dedup.mode",
    "reconciliation.slack_seconds",
    "reconciliation.comparison_topic",
    "reconciliation.existing_offsets",
    "reconciliation.existing_timestamps",
    "reconciliation.event_id",
    "reconciliation.canonical_headers",
    "reconciliation.sample_size",
)
"""Spec fields (snake_case paths) frozen once the replay is planned: everything that decides the
output or the report (see the root rules in `resource.py`). Listed field by field where a parent
also holds operational settings that stay mutable: dedup.ttlSeconds and the Redis password
reference, a future reconciliation counter, promotion (the approval), worker, suspend, retry."""


class PoisonBreaker(ApiModel):
    """Stop a partition early when most of what it reads is invalid (a wrong topic, schema or window)."""

    max_invalid_ratio: float = Field(
        gt=0, le=1, description="Dead-lettered / records read above which the partition stops (e.g. 0.5)."
    )
    min_records: int = Field(
        default=100, ge=1, le=10_000_000, description="Records a partition reads before the ratio is judged."
    )


class Validation(ApiModel):
    """How each event is checked; an event failing any check goes to the dead-letter topic with a reason."""

    event_id_field: str = Field(
        default="event_id", min_length=1, max_length=253, description="JSON field carrying the event id."
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        description="Inline JSON Schema every event must satisfy.",
    )
    model: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="`module:Class` of a pydantic model or msgspec Struct importable in the worker image.",
    )
    max_event_bytes: int = Field(
        default=1_048_576, gt=0, le=16 * 1_048_576, description="Events larger than this are dead-lettered."
    )
    timestamp_field: str | None = Field(
        default=None,
        max_length=253,
        description="Event-time field (RFC 3339 or epoch ms); default: the Kafka record timestamp.",
    )
    max_future_skew_seconds: int | None = Field(
        default=None, ge=0, description="Events later than the plan's as-of time plus this skew are invalid."
    )
    poison_breaker: PoisonBreaker | None = Field(
        default=None,
        description="Stop a partition (Stalled, reason PoisonRatioExceeded) once its dead-letter ratio "
        "exceeds maxInvalidRatio after minRecords; default: replay to the end whatever is invalid.",
    )


class RedisPasswordRef(SecretKeyRef):
    """A Secret key holding the Redis password."""

    key: str = Field(default="password", min_length=1, max_length=253, description="Key inside the Secret.")


REDIS_URL_RE = r"^rediss?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}(/[0-9]{1,5})?$"
"""`redis[s]://host:port[/db]` and nothing else: redis-py turns a query string into connection
arguments that override explicit ones (`?password=`, `?ssl_cert_reqs=none`), so none is accepted."""
REDIS_URL_MESSAGE = "dedup.redis.url must be redis[s]://host:port[/db]: no userinfo, query string or options"


URL_OR_ENDPOINT = "dedup.redis: set exactly one of url or endpoint"


def _url_schema(node: dict[str, Any]) -> None:
    # "" only stands for "not set" in Python; in the CRD the field is optional but never that short.
    node.pop("default", None)
    node["minLength"] = 8


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
            rule("has(self.url) != has(self.endpoint)", URL_OR_ENDPOINT),
        )
    )

    endpoint: str | None = Field(
        default=None,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Alias of a Redis endpoint in the operator's replay policy (instead of url), resolved by "
        "the operator.",
    )
    url: str = Field(
        default="",
        max_length=2048,
        validate_default=True,
        json_schema_extra=_url_schema,
        description="`redis://host:port[/db]` or `rediss://host:port[/db]`: no userinfo, query string or options; "
        "or name an `endpoint` instead.",
    )
    password_secret_ref: RedisPasswordRef | None = Field(
        default=None, description="Secret holding the Redis password, in the EventReplay's namespace."
    )

    @field_validator("url", mode="before")
    @classmethod
    def _url_or_endpoint(cls, value: Any, info: ValidationInfo) -> Any:
        endpoint = info.data.get("endpoint")
        if value and endpoint:
            raise ValueError(URL_OR_ENDPOINT)
        if not value and not endpoint:
            raise PydanticCustomError("missing", "Field required")
        return value

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
        "`skipProcessed`: skip ids the production ledger already holds (recover missed events).",
    )
    ttl_seconds: int = Field(
        default=DEFAULT_TTL_SECONDS,
        gt=0,
        le=366 * 86400,
        description="TTL of the ledger buckets this replay writes: set on a bucket's first write and "
        "refreshed by a write once it has fallen below 90 %. Must outlast the replay.",
    )


class Aggregation(ApiModel):
    """One output field of a window result."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "(self.function == 'count') != has(self.field)",
                "aggregation: field is required for sum, min, max and distinctCount, and not allowed for count",
            )
        )
    )

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63, description="Output field name.")
    function: Literal["count", "sum", "min", "max", "distinctCount"] = Field(description="What to compute.")
    field: str | None = Field(default=None, max_length=253, description="Input field (top-level JSON).")


class Aggregate(ApiModel):
    """Event-time windowed recompute (bounded): one result per (window, key) instead of per event.

    Windows start at multiples of `slideSeconds` since the epoch and hold [start, start + size);
    an event is left out of a window when the window's end plus the allowed lateness is not after
    the largest event time seen before it in its partition (offset order). Results are combined
    by a Job after the replay, then reconciled (by result id `<windowStart>|<key>`) and promoted
    like any output.
    """

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.slideSeconds) || (self.slideSeconds <= self.windowSeconds && "
                "self.windowSeconds % self.slideSeconds == 0)",
                "aggregate: slideSeconds must divide windowSeconds",
            )
        )
    )

    event_time_field: str = Field(
        min_length=1, max_length=253, description="Event-time field: RFC 3339 with a zone, or epoch milliseconds."
    )
    key_field: str | None = Field(default=None, max_length=253, description="Group by this field; none: one group.")
    window_seconds: int = Field(gt=0, le=366 * 86400, description="Window size (tumbling unless slideSeconds).")
    slide_seconds: int | None = Field(default=None, gt=0, description="Hopping windows: the slide (divides the size).")
    allowed_lateness_seconds: int = Field(default=0, ge=0, le=30 * 86400, description="Allowed lateness.")
    aggregations: list[Aggregation] = Field(min_length=1, max_length=32, description="Output fields.")

    @model_validator(mode="after")
    def _shape(self) -> Aggregate:
        slide = self.slide_seconds or self.window_seconds
        if slide > self.window_seconds or self.window_seconds % slide:
            raise ValueError("aggregate: slideSeconds must divide windowSeconds")
        for item in self.aggregations:
            if (item.function == "count") != (item.field is None):
                raise ValueError(f"aggregation {item.name}: field is required for {item.function} (and only then)")
        return self


class Transform(ApiModel):
    """The deterministic transformation applied to each valid event."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "self.function != 'project' || (has(self.fields) && size(self.fields) > 0)",
                "transform: `project` needs a non-empty fields list",
            ),
        )
    )

    function: str = Field(
        default="identity",
        max_length=253,
        json_schema_extra=cel(
            rule(
                "self in ['identity', 'project'] || self.matches(r'^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$')",
                "transform.function must be identity, project or module:function",
            ),
        ),
        description="`identity`, `project`, or `module:function` in the worker image (dict -> dict).",
    )
    fields: list[Annotated[str, Field(min_length=1, max_length=253)]] | None = Field(
        default=None, max_length=256, description="For `project`: the top-level fields to keep."
    )
    aggregate: Aggregate | None = Field(
        default=None,
        description="Windowed recompute: after the per-event transform, combine the replayed events into one "
        "result per (window, key); those results are reconciled and promoted.",
    )

    @model_validator(mode="after")
    def _known(self) -> Transform:
        if self.function == "project" and not self.fields:
            raise ValueError("transform: `project` needs a non-empty fields list")
        if self.function not in ("identity", "project") and ":" not in self.function:
            raise ValueError("transform.function must be identity, project or module:function")
        return self


class Sink(ApiModel):
    """The real destination. Replays write to a derived sandbox topic first; only promotion writes here."""

    topic: str = Field(
        pattern=TOPIC_RE,
        max_length=249,
        description="Destination topic for promotion; the sandbox (`eventreplay.<namespace>.<name>.sandbox`) "
        "and dead-letter (`....dlq`) topics are derived from the replay and shown in status.plan. A replayed "
        "(and promoted) record is the transformed value keyed by its event id, with the replay's headers "
        "(`er-source-topic`, `er-source-partition`, `er-source-offset`; promoted: `er-promoted-by`, "
        "`er-report-hash`, `er-replay-uid`); the source record's key, headers and timestamp are not carried "
        "over (it is stamped when written). Dead letters keep the source key and value.",
    )


class ResourceAmounts(ApiModel):
    """CPU and memory quantities."""

    cpu: str | None = Field(
        default=None, pattern=r"^[0-9]+(\.[0-9]+)?m?$", max_length=16, description="CPU, e.g. `500m` or `2`."
    )
    memory: str | None = Field(
        default=None,
        pattern=r"^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$",
        max_length=16,
        description="Memory, e.g. `512Mi`.",
    )


class Resources(ApiModel):
    """Worker container resources."""

    requests: ResourceAmounts | None = Field(default=None, description="Requested CPU and memory.")
    limits: ResourceAmounts | None = Field(default=None, description="CPU and memory limits.")


class Worker(ApiModel):
    """How the per-partition worker Jobs run."""

    image: str | None = Field(
        default=None,
        max_length=512,
        description="Worker image; must be in the operator's allowlist (default: the operator's image).",
    )
    resources: Resources | None = Field(default=None, description="Container resources per worker.")
    parallelism: int = Field(default=10, ge=1, le=1000, description="At most this many partitions replay at once.")
    backoff_limit: int = Field(
        default=3, ge=0, le=50, description="Retries per partition for retriable failures (Job backoffLimit)."
    )
    batch_size: int = Field(default=1000, gt=0, le=100_000, description="Records per consumer batch.")


class EventReplaySpec(ApiModel):
    """Desired replay: re-process a window exactly once into a sandbox, then reconcile and promote."""

    source: Source = Field(description="Kafka source. Immutable once planned.")
    window: Window = Field(description="Which events to replay. Immutable once planned.")
    validation: Validation = Field(
        default_factory=Validation, description="Checks applied to every event. Immutable once planned."
    )
    dedup: Dedup = Field(description="De-duplication ledger (redis.url, ledger and mode are immutable once planned).")
    transform: Transform = Field(
        default_factory=Transform, description="Deterministic transformation. Immutable once planned."
    )
    sink: Sink = Field(description="The real destination (written only by promotion). Immutable once planned.")
    reconciliation: Reconciliation = Field(
        default_factory=Reconciliation,
        description="Reconciliation settings (those that shape the report are immutable once planned).",
    )
    promotion: Promotion = Field(default_factory=Promotion, description="Promotion gate.")
    worker: Worker = Field(default_factory=Worker, description="Worker Job settings.")
    dry_run: bool = Field(default=False, description="Plan only: resolve offsets and counts, start no Job.")
    suspend: bool = Field(default=False, description="Suspend the worker Jobs; clearing it resumes them.")
    retry: int = Field(
        default=0,
        ge=0,
        le=1000,
        json_schema_extra=cel(rule("self >= oldSelf", "retry can only increase")),
        description="Bump to retry the failed partitions (finished ones are not redone).",
    )
    deletion_policy: Literal["Keep", "Delete"] = Field(
        default="Keep",
        description="On delete: `Keep` the sandbox, dead-letter and report topics and this replay's Redis keys "
        "(evidence; no finalizer for it), or `Delete` them (the operator holds a finalizer until they are gone).",
    )
