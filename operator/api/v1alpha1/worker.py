"""How the worker Jobs run: `spec.worker` (image, resources, parallelism, retries, batch size)."""

from __future__ import annotations

from pydantic import Field

from .base import ApiModel


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
