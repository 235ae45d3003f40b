"""The poison breaker: a partition whose dead-letter ratio passes the limit stops early.

Judged after each finished batch on the running checkpoint: once `min_records` were read, a ratio
above `max_invalid_ratio` ends the partition with a permanent failure (the open transaction is
aborted; the committed part stays). The message starts with `POISON_RATIO_EXCEEDED`, which the
operator turns into the Stalled reason, and names the most frequent dead-letter reasons.
"""

from __future__ import annotations

from ..contract.checkpoints import Checkpoint
from ..contract.exit_codes import POISON_RATIO_EXCEEDED
from ..contract.tasks import PoisonBreaker

TOP_REASONS = 3


def tripped(ckpt: Checkpoint, breaker: PoisonBreaker | None) -> str | None:
    """Why the partition must stop, or None."""
    if breaker is None:
        return None
    read = ckpt.records
    if read < breaker.min_records or ckpt.dead_lettered <= breaker.max_invalid_ratio * read:
        return None
    top = sorted(ckpt.reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]
    reasons = ", ".join(f"{reason} {count}" for reason, count in top)
    return (
        f"{POISON_RATIO_EXCEEDED}: {ckpt.dead_lettered} of {read} records read were dead-lettered "
        f"({ckpt.dead_lettered / read:.1%} > {breaker.max_invalid_ratio:.1%}); first reasons: {reasons}; "
        "fix the source, window or validation and create a new replay"
    )
