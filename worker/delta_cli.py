"""`python -m eventreplay.worker reconcile|promote [--task FILE]`: the two Jobs after the replay.

The task comes from FILE or from $EVENTREPLAY_RECONCILE_TASK / $EVENTREPLAY_PROMOTE_TASK. On
success the summary is printed as one JSON line on stdout (reconcile: the report summary that
is also in Redis (`names.report_key`); promote: written, skippedIdentical,
skippedDuplicate, sha256, per partition). Exit codes: 0 done, 10 permanent, 11 retriable,
12 fenced, with one clear line on stderr (also kept in Redis, `names.failure_key`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from .contract.defaults import DEFAULT_TTL_SECONDS
from .contract.delta_tasks import PromoteTask, ReconcileTask
from .contract.exit_codes import EXIT_PERMANENT, WorkerFailure
from .contract.names import LOG_LEVEL_ENV, PROMOTE_TASK_ENV, RECONCILE_TASK_ENV, failure_key
from .progress import connect_redis, write_termination_message

M = TypeVar("M", bound=BaseModel)


def _load(model: type[M], path: str | None, env: str) -> M:
    raw = Path(path).read_text() if path else os.environ.get(env)
    if not raw:
        raise ValueError(f"no task (give --task FILE or set {env})")
    return model.model_validate_json(raw)


def _main(model: type[M], path: str | None, env: str, job: str, run: Callable[[M], dict[str, Any]]) -> int:
    try:
        task = _load(model, path, env)
    except (ValidationError, OSError, ValueError) as err:
        first = str(err).splitlines()
        print(f"eventreplay-{job}: permanent: bad task: {' '.join(first[:3])}", file=sys.stderr)
        return EXIT_PERMANENT
    replay = getattr(task, "replay", None)
    who = f"{replay.namespace}/{replay.name}" if replay is not None else "?"
    logging.basicConfig(
        level=os.environ.get(LOG_LEVEL_ENV, "INFO"),
        format=f"%(asctime)s %(levelname)s replay={who} {job} %(message)s",
    )
    try:
        summary = run(task)
    except WorkerFailure as err:
        kind = type(err).__name__.replace("Failure", "").lower()
        print(f"eventreplay-{job}: {kind}: {err}", file=sys.stderr)
        _record_failure(task, job, f"{kind}: {err}")
        return err.exit_code
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    return 0


def _record_failure(task: BaseModel, job: str, text: str) -> None:
    """Best effort: the operator shows this as the Stalled message (a local node has no
    termination messages); also /dev/termination-log for a real kubelet."""
    write_termination_message(text)
    target = getattr(task, "redis", None) or getattr(getattr(task, "report", None), "redis", None)
    replay = getattr(task, "replay", None)
    if target is None or replay is None:
        return
    try:
        client = connect_redis(target, check_eviction=False)  # the failure may be that very check
        client.set(failure_key(replay.uid, job), text[:2000], ex=DEFAULT_TTL_SECONDS)
    except Exception:  # noqa: BLE001 - the exit code already says it failed
        pass


def _reconcile(task: ReconcileTask) -> dict[str, Any]:
    from .reconcile import Reconciler

    return Reconciler(task).run()


def _promote(task: PromoteTask) -> dict[str, Any]:
    from .promote import Promoter

    return Promoter(task).run()


def reconcile_main(path: str | None) -> int:
    return _main(ReconcileTask, path, RECONCILE_TASK_ENV, "reconcile", _reconcile)


def promote_main(path: str | None) -> int:
    return _main(PromoteTask, path, PROMOTE_TASK_ENV, "promote", _promote)
