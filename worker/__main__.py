"""`python -m eventreplay.worker run [--task FILE]` and `... ledger mark` (the production API's CLI).

`run` reads the task from FILE or from $EVENTREPLAY_TASK, replays the partition and exits
0 (done), 10 (permanent failure), 11 (retriable failure) or 12 (fenced by a newer worker),
with one clear line on stderr when it fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from .contract.defaults import DEFAULT_TTL_SECONDS
from .contract.exit_codes import EXIT_DONE, EXIT_PERMANENT, PermanentFailure, WorkerFailure
from .contract.names import LOG_LEVEL_ENV, TASK_ENV
from .contract.tasks import Task
from .progress import report_failure, write_termination_message


def _load_task(path: str | None) -> Task:
    raw = Path(path).read_text() if path else os.environ.get(TASK_ENV)
    if not raw:
        raise SystemExit(f"eventreplay-worker: permanent: no task (give --task FILE or set {TASK_ENV})")
    return Task.model_validate_json(raw)


def _peak_rss_kib() -> int:
    """This process's own peak RSS (VmHWM: getrusage would also count the parent's pages from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        task = _load_task(args.task)
    except (ValidationError, OSError, ValueError) as err:
        first = str(err).splitlines()
        print(f"eventreplay-worker: permanent: bad task: {' '.join(first[:3])}", file=sys.stderr)
        return EXIT_PERMANENT
    logging.basicConfig(
        level=os.environ.get(LOG_LEVEL_ENV, "INFO"),
        format=f"%(asctime)s %(levelname)s replay={task.replay.namespace}/{task.replay.name} "
        f"partition={task.source.topic}/{task.source.partition} %(message)s",
    )
    from .engine import Engine

    try:
        engine = Engine(task)
        # The hot loop allocates a few short-lived containers per event, and what start-up
        # built lives until exit: collections would only re-traverse it (measured: ~3 % faster).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        ckpt = engine.run()
    except WorkerFailure as err:
        kind = type(err).__name__.replace("Failure", "").lower()
        print(f"eventreplay-worker: {kind}: {err}", file=sys.stderr)
        if isinstance(err, PermanentFailure):
            report_failure(task, f"{kind}: {err}")
            write_termination_message(f"{kind}: {err}")
        return err.exit_code
    print(
        json.dumps(
            {
                "state": ckpt.state,
                "committedOffset": ckpt.committed_offset,
                "emitted": ckpt.emitted,
                "duplicate": ckpt.duplicate,
                "processed": ckpt.processed,
                "deadLettered": ckpt.dead_lettered,
                "digest": ckpt.digest,
                "peakRssKiB": _peak_rss_kib(),
            }
        )
    )
    return EXIT_DONE


def _mark(args: argparse.Namespace) -> int:
    import orjson
    import redis

    from .ledger import ProductionLedger

    password = os.environ.get(args.password_env) if args.password_env else None
    ledger = ProductionLedger(redis.Redis.from_url(args.redis_url, password=password), args.ledger, args.ttl_seconds)
    stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    skipped = 0

    def events() -> object:
        nonlocal skipped
        for line in stream:
            raw = line.rstrip(b"\r\n")
            if not raw:
                continue
            try:
                event_id = orjson.loads(raw)[args.id_field]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                skipped += 1
                continue
            yield str(event_id), raw

    count = ledger.mark(events())  # type: ignore[arg-type]
    print(f"marked {count} event(s) in ledger {args.ledger!r}; skipped {skipped} line(s) without an id")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eventreplay-worker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="replay one partition (the Job's entry point)")
    run.add_argument("--task", help=f"task JSON file (default: ${TASK_ENV})")
    ledger = sub.add_parser("ledger", help="the production ledger")
    lsub = ledger.add_subparsers(dest="ledger_command", required=True)
    mark = lsub.add_parser("mark", help="mark processed events (JSON lines, exactly the Kafka value bytes)")
    mark.add_argument("file", nargs="?", default="-", help="JSON lines; - for stdin")
    mark.add_argument("--redis-url", required=True)
    mark.add_argument("--password-env", help="env var holding the Redis password")
    mark.add_argument("--ledger", required=True)
    mark.add_argument("--id-field", default="event_id")
    mark.add_argument("--ttl-seconds", type=int, default=DEFAULT_TTL_SECONDS)
    # Reconciliation and promotion Jobs (tasks in contract/delta_tasks.py, entry points in delta_cli.py).
    for name, help_text in (
        ("reconcile", "diff the sandbox against the existing output"),
        ("promote", "write a report's delta to the destination"),
    ):
        sub.add_parser(name, help=help_text).add_argument("--task", help="task JSON file (default: env)")
    args = parser.parse_args(argv)
    if args.command in ("reconcile", "promote"):
        from .delta_cli import promote_main, reconcile_main

        return reconcile_main(args.task) if args.command == "reconcile" else promote_main(args.task)
    return _run(args) if args.command == "run" else _mark(args)


if __name__ == "__main__":
    sys.exit(main())
