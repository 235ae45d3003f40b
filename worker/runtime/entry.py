"""The one entry harness of every Job the worker image runs (replay, reconcile, promote) and of
`ledger mark`: load the task, set up logging, map failures to exit codes and report them.

Exit codes (`contract.exit_codes`): 0 done, 10 permanent (a missing or bad task too), 11
retriable, 12 fenced. On success the Job's summary is one JSON line on stdout (sorted keys). On
failure: one line on stderr (`eventreplay-<job>: <kind>: <reason>`), the same text as the
container's termination message, and whatever the Job keeps in Redis for the operator (the
replay's failed checkpoint, the reconcile/promote failure record).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from ..contract.environment import LOG_FORMAT_ENV, LOG_LEVEL_ENV, TERMINATION_LOG_ENV
from ..contract.exit_codes import EXIT_DONE, EXIT_PERMANENT, WorkerFailure
from ..contract.log_lines import TEXT, install, parse_log_format

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Job(Generic[T]):
    """One kind of Job: its task, how to run it and what it leaves behind when it fails."""

    name: str
    """`worker`, `reconcile`, `promote`: messages start with `eventreplay-<name>:`."""
    task_model: type[T]
    task_env: str
    """The env var holding the task JSON when no --task FILE is given."""
    run: Callable[[T], Mapping[str, Any]]
    """Does the work; returns the summary printed on stdout."""
    log_context: Callable[[T], str]
    """Who is logging, on every log line (`replay=ns/name partition=topic/0`)."""
    record_failure: Callable[[T, WorkerFailure, str], None] | None = None
    """Best effort: keep the failure where the operator reads it (Redis); must never raise."""


def run_job(job: Job[T], task_path: str | None) -> int:
    try:
        task = load_task(job.task_model, task_path, job.task_env)
    except (ValidationError, OSError, ValueError) as err:
        first = str(err).splitlines()
        return _failed(job.name, f"permanent: bad task: {' '.join(first[:3])}", EXIT_PERMANENT)
    setup_logging(job.log_context(task))
    try:
        summary = job.run(task)
    except WorkerFailure as err:
        text = describe(err)
        if job.record_failure is not None:
            job.record_failure(task, err, text)
        return _failed(job.name, text, err.exit_code)
    sys.stdout.write(orjson.dumps(dict(summary), option=orjson.OPT_SORT_KEYS).decode() + "\n")
    return EXIT_DONE


def run_command(name: str, context: str, command: Callable[[], int]) -> int:
    """A command without a task (`ledger mark`): the same logging and failure mapping."""
    setup_logging(context)
    try:
        return command()
    except WorkerFailure as err:
        return _failed(name, describe(err), err.exit_code)


def load_task(model: type[T], path: str | None, env: str) -> T:
    raw = Path(path).read_text() if path else os.environ.get(env)
    if not raw:
        raise ValueError(f"no task (give --task FILE or set {env})")
    return model.model_validate_json(raw)


def setup_logging(context: str) -> None:
    """One line per record, text or JSON (EVENTREPLAY_LOG_FORMAT; an unknown value falls back to
    text rather than failing the Job over its log format)."""
    try:
        log_format = parse_log_format(os.environ.get(LOG_FORMAT_ENV))
    except ValueError:
        log_format = TEXT
    install(
        log_format,
        level=os.environ.get(LOG_LEVEL_ENV, "INFO"),
        pattern=f"%(asctime)s %(levelname)s {context} %(message)s",
        fields={"context": context},
    )


def describe(err: WorkerFailure) -> str:
    """`permanent: <reason>`, `retriable: ...`, `fenced: ...`."""
    return f"{type(err).__name__.replace('Failure', '').lower()}: {err}"


def write_termination_message(text: str) -> None:
    """Kubernetes shows /dev/termination-log as the container's termination message (best effort)."""
    path = Path(os.environ.get(TERMINATION_LOG_ENV, "/dev/termination-log"))
    try:
        if path.parent.is_dir():
            path.write_text(text[:4000])
    except OSError:
        pass


def _failed(name: str, text: str, exit_code: int) -> int:
    print(f"eventreplay-{name}: {text}", file=sys.stderr)
    write_termination_message(text)
    return exit_code
