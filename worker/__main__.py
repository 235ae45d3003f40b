"""`python -m eventreplay.worker run|reconcile|promote|combine|gaps [--task FILE]` and `... ledger mark`.

`run` replays one partition (task from FILE or $EVENTREPLAY_TASK); `reconcile` and `promote` are
the two Jobs after the replay (tasks from $EVENTREPLAY_RECONCILE_TASK / $EVENTREPLAY_PROMOTE_TASK).
All three exit 0 (done), 10 (permanent failure, a missing or bad task too), 11 (retriable) or
12 (fenced by a newer worker), with one clear line on stderr when they fail (`runtime/entry.py`).
`ledger mark` is the production ledger's CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from .contract.defaults import DEFAULT_TTL_SECONDS
from .contract.environment import TASK_ENV
from .runtime.entry import run_command, run_job


def _mark(args: argparse.Namespace) -> int:
    import os

    import orjson
    import redis

    from .ledger import ProductionLedger

    password = os.environ.get(args.password_env) if args.password_env else None
    username = os.environ.get(args.username_env) if args.username_env else None
    client = redis.Redis.from_url(args.redis_url, username=username, password=password)
    ledger = ProductionLedger(client, args.ledger, args.ttl_seconds, namespace=args.namespace)
    stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    skipped = 0

    def events() -> Iterator[tuple[str, bytes]]:
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

    count = ledger.mark(events())
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
    mark.add_argument("--username-env", help="env var holding the Redis ACL user")
    mark.add_argument("--namespace", required=True, help="namespace of the replays that read the ledger")
    mark.add_argument("--ledger", required=True)
    mark.add_argument("--id-field", default="event_id")
    mark.add_argument("--ttl-seconds", type=int, default=DEFAULT_TTL_SECONDS)
    # Reconciliation and promotion Jobs (tasks in contract/step_tasks.py).
    for name, help_text in (
        ("reconcile", "diff the sandbox against the existing output"),
        ("promote", "write a report's delta to the destination"),
        ("gaps", "find source events missing from the destination (writes nothing)"),
        ("combine", "windowed-aggregate replays: merge the sandbox into one result per window and key"),
    ):
        sub.add_parser(name, help=help_text).add_argument("--task", help="task JSON file (default: env)")
    args = parser.parse_args(argv)
    if args.command == "ledger":
        return run_command("worker", f"ledger={args.ledger}", lambda: _mark(args))
    from .jobs import COMBINE, GAPS, PROMOTE, RECONCILE, REPLAY

    if args.command == "reconcile":
        return run_job(RECONCILE, args.task)
    if args.command == "promote":
        return run_job(PROMOTE, args.task)
    if args.command == "gaps":
        return run_job(GAPS, args.task)
    if args.command == "combine":
        return run_job(COMBINE, args.task)
    return run_job(REPLAY, args.task)


if __name__ == "__main__":
    sys.exit(main())
