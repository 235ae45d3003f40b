"""The Jobs the worker image runs, as the entry harness sees them: replay one partition; the steps
after the replay (combine an aggregate's windows, reconcile the sandbox against the existing
output, promote a report's delta); find the gaps of a sink.

Each says which task it reads, what it logs as, what it prints when done and what it leaves in
Redis when it fails (the replay: a failed checkpoint on permanent failures; a step: a failure
record in its task's `redis_target`, `names.failure_key`).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .contract.checkpoints import Checkpoint
from .contract.combine_task import CombineTask
from .contract.defaults import DEFAULT_TTL_SECONDS
from .contract.environment import COMBINE_TASK_ENV, GAP_TASK_ENV, PROMOTE_TASK_ENV, RECONCILE_TASK_ENV, TASK_ENV
from .contract.exit_codes import PermanentFailure, RetriableFailure, WorkerFailure
from .contract.gap_task import GapTask
from .contract.names import failure_key
from .contract.step_tasks import PromoteTask, ReconcileTask
from .contract.tasks import Task
from .runtime.entry import Job
from .runtime.redis_connection import connect_redis
from .runtime.retry import with_retries

T = TypeVar("T", ReconcileTask, PromoteTask, CombineTask)


def _peak_rss_kib() -> int:
    """This process's own peak RSS (VmHWM: getrusage would also count the parent's pages from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _replay(task: Task) -> Mapping[str, Any]:
    from .replay.engine import Engine

    def attempt() -> Checkpoint:
        engine = Engine(task)
        # The hot loop allocates a few short-lived containers per event, and what start-up
        # built lives until exit: collections would only re-traverse it (measured: ~3 % faster).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        try:
            return engine.run()
        except RetriableFailure:
            _close_quietly(engine)
            raise

    where = f"replay of {task.source.topic}/{task.source.partition}"
    ckpt = with_retries(attempt, task.tuning.retry_budget_seconds, where)
    return {
        "state": ckpt.state,
        "committedOffset": ckpt.committed_offset,
        "emitted": ckpt.emitted,
        "duplicate": ckpt.duplicate,
        "processed": ckpt.processed,
        "deadLettered": ckpt.dead_lettered,
        "digest": ckpt.digest,
        "peakRssKiB": _peak_rss_kib(),
    }


def _close_quietly(engine: Any) -> None:
    """Drop a failed attempt's clients before the next one (its open transaction is aborted by the
    next attempt's init_transactions, which fences it)."""
    with contextlib.suppress(Exception):  # already closed, or the broker is the failure
        engine.consumer.close()


def _replay_failed(task: Task, err: WorkerFailure, text: str) -> None:
    # Only a permanent failure ends the partition; a retried one keeps its running checkpoint.
    if isinstance(err, PermanentFailure):
        from .replay.progress_mirror import mark_failed

        mark_failed(task, text)


def _reconcile(task: ReconcileTask) -> Mapping[str, Any]:
    from .reconciliation.reconcile import Reconciler

    return Reconciler(task).run()


def _combine(task: CombineTask) -> Mapping[str, Any]:
    from .windows.combine import Combiner

    return Combiner(task).run()


def _promote(task: PromoteTask) -> Mapping[str, Any]:
    from .promotion.promote import Promoter

    return Promoter(task).run()


def _failure_record(job: str) -> Callable[[T, WorkerFailure, str], None]:
    """Best effort: the failure text under `names.failure_key` in the step's Redis, which the
    operator shows as the Stalled message (a local node has no termination messages)."""

    def record(task: T, _err: WorkerFailure, text: str) -> None:
        try:
            client = connect_redis(task.redis_target, check_eviction=False)  # the failure may be that very check
            client.set(failure_key(task.replay.key_tenant, task.replay.uid, job), text[:2000], ex=DEFAULT_TTL_SECONDS)
        except Exception:  # noqa: BLE001 - the exit code already says it failed
            pass

    return record


def _after_replay(name: str, model: type[T], env: str, run: Callable[[T], Mapping[str, Any]]) -> Job[T]:
    """A step Job, run once the replay is done: combine, reconcile or promote."""
    return Job(
        name=name,
        task_model=model,
        task_env=env,
        run=run,
        log_context=lambda t: f"replay={t.replay.namespace}/{t.replay.name} {name}",
        record_failure=_failure_record(name),
    )


REPLAY = Job(
    name="worker",
    task_model=Task,
    task_env=TASK_ENV,
    run=_replay,
    log_context=lambda t: (
        f"replay={t.replay.namespace}/{t.replay.name} partition={t.source.topic}/{t.source.partition}"
    ),
    record_failure=_replay_failed,
)
RECONCILE = _after_replay("reconcile", ReconcileTask, RECONCILE_TASK_ENV, _reconcile)
PROMOTE = _after_replay("promote", PromoteTask, PROMOTE_TASK_ENV, _promote)
COMBINE = _after_replay("combine", CombineTask, COMBINE_TASK_ENV, _combine)


def _gaps(task: GapTask) -> Mapping[str, Any]:
    from .gaps.finder import GapFinder

    return GapFinder(task).run()


GAPS = Job(
    name="gaps",
    task_model=GapTask,
    task_env=GAP_TASK_ENV,
    run=_gaps,
    log_context=lambda t: f"gaps={t.source_topic}->{t.existing.topic}",
)
