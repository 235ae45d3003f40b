"""The pieces of a progressive promotion's step (`RolloutStep`) the promoter applies per partition.

A step Job handles each sandbox partition's delta records in the same order as a whole promotion,
until the partition's handled count (`PromotionCheckpoint.handled`, cumulative over steps) reaches
its `limit`: its last transaction commits the sandbox position right after the last delta record
handled, so the next step (same transactional ids, same group) resumes exactly there. A partition
stopped short of its range's end is mirrored `paused` with the step's index, never `done`; a
partition whose range ends first finishes as in a whole promotion. Writes go through a token
bucket (`runtime/rate_limit.py`) shared by the Job's partitions when the step caps the rate.
"""

from __future__ import annotations

import math

from ..contract.checkpoints import PromotionCheckpoint
from ..contract.step_tasks import PromoteTask
from ..runtime.rate_limit import TokenBucket, burst_for


def cut(statuses: str, remaining: int) -> int | None:
    """The index of the verdict at which `remaining` more delta records (`W`) are handled: the last
    record this step handles in a batch judged `statuses`; None when the batch holds fewer."""
    if remaining < 1:
        raise ValueError(f"no delta record left to handle in this step ({remaining})")
    seen = 0
    for index, status in enumerate(statuses):
        if status == "W":
            seen += 1
            if seen == remaining:
                return index
    return None


def read_batch(task: PromoteTask) -> int:
    """Sandbox records per read: with a rate cap, at most a second's writes, so a transaction
    (committed once its time budget is spent, checked between batches) stays a few seconds long."""
    rate = task.rollout.max_records_per_second if task.rollout is not None else None
    batch = task.tuning.batch_size
    return batch if rate is None else max(1, min(batch, math.ceil(rate)))


def pace(task: PromoteTask) -> TokenBucket | None:
    """The Job's write budget: None without a rate cap."""
    rate = task.rollout.max_records_per_second if task.rollout is not None else None
    return None if rate is None else TokenBucket(rate, burst_for(rate, read_batch(task)))


def step_summary(task: PromoteTask, done: list[PromotionCheckpoint]) -> dict[str, object]:
    """What a step Job adds to the promotion summary: the step and each partition's handled count."""
    if task.rollout is None:
        return {}
    return {
        "step": task.rollout.index,
        "complete": all(c.state == "done" for c in done),
        "handled": {str(c.partition): c.handled for c in done},
    }
