"""Exit codes of the worker's Jobs and the failures that map to them.

The Job's podFailurePolicy turns EXIT_PERMANENT into a failed partition at once (retrying
cannot help); EXIT_RETRIABLE and EXIT_FENCED count against the backoff limit. The operator and
the CLI read these codes back from the pods they run.
"""

from __future__ import annotations

EXIT_DONE = 0
EXIT_PERMANENT = 10
EXIT_RETRIABLE = 11
EXIT_FENCED = 12


POISON_RATIO_EXCEEDED = "PoisonRatioExceeded"
"""Starts the message of a replay stopped by its poison breaker; the operator's Stalled reason."""
CLAIM_HELD = "ClaimHeldByAnotherReplay"
"""Starts the message of a promotion that waits on another replay's open claim on an id in the
sink; the operator's metrics look for it (eventreplay_replay_promotion_blocked)."""


class WorkerFailure(Exception):
    exit_code = EXIT_RETRIABLE


class PermanentFailure(WorkerFailure):
    """Bad task, unknown topic or partition, retention expired: a retry would fail the same way."""

    exit_code = EXIT_PERMANENT


class RetriableFailure(WorkerFailure):
    """Broker or Redis unreachable, a transaction that cannot complete: retry later."""

    exit_code = EXIT_RETRIABLE


class Fenced(WorkerFailure):
    """Another worker with the same transactional.id took over this partition."""

    exit_code = EXIT_FENCED
