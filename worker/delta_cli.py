"""`python -m eventreplay.worker reconcile|promote [--task FILE]`: the two Jobs after the replay.

The task comes from FILE or from $EVENTREPLAY_RECONCILE_TASK / $EVENTREPLAY_PROMOTE_TASK. On
success the summary is printed as one JSON line on stdout (reconcile: the report summary that
is also in Redis `eventreplay:report:{uid}`; promote: written, skippedIdentical,
skippedDuplicate, sha256, per partition). Exit codes: 0 done, 10 permanent, 11 retriable,
12 fenced, with one clear line on stderr.
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

from .errors import EXIT_PERMANENT, WorkerFailure
from .reconcile_task import PROMOTE_TASK_ENV, RECONCILE_TASK_ENV, PromoteTask, ReconcileTask

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
        level=os.environ.get("EVENTREPLAY_LOG_LEVEL", "INFO"),
        format=f"%(asctime)s %(levelname)s replay={who} {job} %(message)s",
    )
    try:
        summary = run(task)
    except WorkerFailure as err:
        kind = type(err).__name__.replace("Failure", "").lower()
        print(f"eventreplay-{job}: {kind}: {err}", file=sys.stderr)
        return err.exit_code
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    return 0


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
