"""`eventreplay report NAME`: find a replay's report (cluster, Redis, Kafka), list or render it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from eventreplay.worker.contract.environment import REDIS_PASSWORD_ENV
from eventreplay.worker.contract.names import key_tenant, planned_layout
from eventreplay.worker.contract.settings import redis_location

from . import cluster
from .errors import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, CliError, unreachable
from .planning import kafka_settings
from .report_html import aggregate, render
from .report_read import CLASSES, Entry, Filters, entries
from .report_source import KafkaReportSource, load_summary


def add_parser(sub: Any, kube: argparse.ArgumentParser) -> None:
    report = sub.add_parser(
        "report", parents=[kube], help="every changed / missing / extra id of the report, with diffs"
    )
    report.add_argument("--class", dest="classes", action="append", choices=CLASSES, help="(repeatable; default: all)")
    report.add_argument("--partition", type=int, action="append", help="sandbox partition (repeatable; not extra ids)")
    report.add_argument("--since", help="event time from (ISO 8601, inclusive)")
    report.add_argument("--until", help="event time to (ISO 8601, exclusive)")
    report.add_argument("-o", "--output", choices=["text", "json"], default="text", help="json: one object a line")
    report.add_argument("--html", type=Path, help="write a self-contained HTML page here instead")
    report.add_argument("--bootstrap-servers", help="Kafka as reachable from here (default: spec.source's)")
    report.add_argument("--redis-url", help="Redis as reachable from here (default: spec.dedup.redis.url)")


def parse_time(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise CliError(f"{flag} {text!r}: not an ISO 8601 time", EXIT_USAGE) from err
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def filters(args: argparse.Namespace) -> Filters:
    return Filters(
        classes=frozenset(args.classes or CLASSES),
        partitions=frozenset(args.partition) if args.partition else None,
        since_ms=parse_time(args.since, "--since"),
        until_ms=parse_time(args.until, "--until"),
    )


def _redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, password=os.environ.get(REDIS_PASSWORD_ENV) or None, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as err:
        raise unreachable("Redis", redis_location(url), str(err)) from err
    return client


def text_line(entry: Entry) -> str:
    where = f"partition {entry.replayed.partition} offset {entry.replayed.offset}" if entry.replayed else "-"
    when = (
        datetime.fromtimestamp(entry.replayed.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if entry.replayed
        else "-"
    )
    line = f"{entry.cls:8} {entry.id}  {where}  {when}"
    changes = [f"\n    {k}: {json.dumps(old)} -> {json.dumps(new)}" for k, (old, new) in entry.changes.items()]
    if entry.cls == "extra":  # in production only: its value there is all there is to show
        changes.append(f"\n    existing: {json.dumps(entry.as_json()['existing'])}")
    return line + "".join(changes)


def run(args: argparse.Namespace) -> int:
    wanted = filters(args)
    found = cluster.connect(args.kubeconfig, args.context)
    namespace = args.namespace or found.namespace
    obj = cluster.fetch(found, namespace, args.name)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not (status.get("reconciliation") or {}).get("reportHash"):
        raise CliError(f"EventReplay {namespace}/{args.name} has no reconciliation report yet", EXIT_NOT_FOUND)
    url = args.redis_url or ((spec.get("dedup") or {}).get("redis") or {}).get("url")
    servers = args.bootstrap_servers or (spec.get("source") or {}).get("bootstrapServers")
    if not url or not servers:
        raise CliError("the replay names a policy alias: pass --bootstrap-servers and --redis-url", EXIT_USAGE)
    layout = planned_layout((status.get("plan") or {}).get("keyLayout"))
    summary = load_summary(_redis(url), key_tenant(namespace, layout), str(obj["metadata"]["uid"]))
    if summary.report_hash != status["reconciliation"]["reportHash"]:
        raise CliError("Redis holds another report than status (reconciling again?): retry shortly", EXIT_NOT_FOUND)
    listed = entries(KafkaReportSource(servers, kafka_settings(), summary), wanted)
    if args.html:
        args.html.write_text(render(obj, aggregate(listed)), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
        return EXIT_OK
    for entry in listed:
        print(json.dumps(entry.as_json()) if args.output == "json" else text_line(entry), flush=False)
    return EXIT_OK
