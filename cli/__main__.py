"""eventreplay: plan and run replays locally, follow and approve them in a cluster.

commands:
  plan MANIFEST        resolve the window to offsets per partition, straight against Kafka (no cluster)
  run MANIFEST         replay locally without Kubernetes: one worker process per partition, the same
                       worker code and checkpoints as the operator's Jobs, with live progress
  export flink-sql MANIFEST
                       the Flink SQL job equivalent to a windowed-aggregate replay (same offsets,
                       windows and aggregations), for replays that outgrow Jobs
  gaps MANIFEST        which source events of the window never reached the destination (by event id),
                       grouped into outages, and the EventReplays that would recover them;
                       writes nothing
  status NAME          an EventReplay in the cluster: conditions, progress, reconciliation report
                       (alias: get)
  watch NAME           follow it until Ready (exit 0) or Stalled (exit 1)
  approve NAME         approve the current reconciliation report (policy Manual); --dry-run -o yaml
                       prints the patch instead, to commit to Git (GitOps)
  report NAME          every changed / missing id of the reconciliation report, with per-field
                       diffs; --html FILE writes a self-contained page to read before approving
  reconcile NAME       reconcile again: a new report (new hash, approve it again); ids already
                       promoted into the sink count as unchanged, so nothing is written twice
  completion SHELL     the completion script for bash, zsh or fish
Installed as kubectl-eventreplay too: `kubectl eventreplay ...` runs the same commands. Commands that
print objects take -o table|json|yaml.

local runs (plan, run) have no Secrets; they read instead:
  EVENTREPLAY_KAFKA_SETTINGS   librdkafka key=value lines (security.protocol, sasl.*, ssl.*)
  EVENTREPLAY_REDIS_PASSWORD   the password of the ledger's Redis
`run` freezes its plan in that Redis and derives the replay uid from it (local-<hash of
namespace/name/plan hash>): running the same manifest again resumes the same replay (exactly once;
a finished replay is a no-op). `run --fresh` plans again with a new uid (new topics).
Cluster commands use --kubeconfig, else $KUBECONFIG, else ~/.kube/config (or in-cluster credentials).
More in docs/cli.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from eventreplay import installed_version

from . import approve, cluster, completion, flink_sql, gaps, local, manifest, output, planning, report_command, table
from .bars import LiveDisplay
from .errors import EXIT_CODES_HELP, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from .runner import Runner

PLUGIN = "kubectl-eventreplay"
"""The kubectl plugin's executable: `kubectl eventreplay ...` runs it (the same parser)."""


def _prog() -> str:
    return "kubectl eventreplay" if Path(sys.argv[0]).name == PLUGIN else "eventreplay"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description=__doc__,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kafka = argparse.ArgumentParser(add_help=False)
    kafka.add_argument("manifest", help="YAML file with one EventReplay (- for stdin)")
    kafka.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Kafka (default 10)")
    kafka.add_argument("-v", "--verbose", action="store_true", help="show the Kafka client's own log lines")

    plan = sub.add_parser("plan", parents=[kafka], help="the plan as a table, straight against Kafka")
    output.add_output(plan, what="the plan")

    run = sub.add_parser("run", parents=[kafka], help="run the replay locally (no Kubernetes)")
    run.add_argument("--fresh", action="store_true", help="plan again with a new uid (new output topics)")
    output.add_output(run, what="the summary (json/yaml: no progress lines)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--log-dir", type=Path, help="worker logs (default: a folder in the temp dir, per uid)")

    find = sub.add_parser("gaps", parents=[kafka], help="source events missing from the destination")
    find.add_argument(
        "--join-seconds",
        type=int,
        default=60,
        help="missing events closer than this in time form one outage (default 60)",
    )
    output.add_output(find, extra=["manifests"], what="the gaps (manifests: one recovery EventReplay per outage)")

    export = sub.add_parser("export", help="the equivalent job for another engine")
    export.add_argument("format", choices=["flink-sql"], help="what to print")
    export.add_argument("manifest", help="YAML file with one EventReplay (- for stdin)")
    export.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Kafka (default 10)")
    export.add_argument("-v", "--verbose", action="store_true", help="show the Kafka client's own log lines")

    kube = argparse.ArgumentParser(add_help=False)
    kube.add_argument("name", help="the EventReplay's name")
    kube.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    kube.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    kube.add_argument("--context", help="kubeconfig context (default: the current one)")

    # `get` as kubectl habits expect (`kubectl eventreplay get NAME -o yaml`).
    status = sub.add_parser("status", aliases=["get"], parents=[kube], help="show an EventReplay's status")
    output.add_output(status, what="the EventReplay (json/yaml: the whole object)")
    watch = sub.add_parser("watch", parents=[kube], help="follow until Ready (0) or Stalled (1)")
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    watch.add_argument("--timeout", type=float, default=0.0, help="give up (exit 1) after this many seconds")
    approval = sub.add_parser("approve", parents=[kube], help="approve the current reconciliation report")
    approval.add_argument("--report-hash", help="approve only if the current report has this hash")
    approval.add_argument("--dry-run", action="store_true", help="print the patch to commit to Git; apply nothing")
    approval.add_argument("--approver", help="--dry-run: the approved-by username (with GitOps: the tool's own)")
    output.add_output(approval, what="the approval patch")
    sub.add_parser("reconcile", parents=[kube], help="reconcile again (bumps spec.reconciliation.refresh)")
    report_command.add_parser(sub, kube)
    shell = sub.add_parser("completion", help="the shell completion script (bash, zsh or fish)")
    shell.add_argument("shell", choices=completion.SHELLS, help="the shell to complete in")
    return parser


def _plan(args: argparse.Namespace) -> int:
    found = manifest.load(args.manifest)
    plan = planning.plan(found, planning.kafka_access(args.timeout, args.verbose))
    if output.machine(args.output):
        print(output.dump(table.plan_json(plan, found.namespace, found.name), args.output))
    else:
        print(table.plan_table(plan, found.namespace, found.name, table.format_lines(found.spec)))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    found = manifest.load(args.manifest)
    spec = found.spec
    quiet = output.machine(args.output)
    if spec.dry_run or spec.suspend:
        # As in the cluster: a dry run only plans, a suspended replay starts no worker.
        plan = planning.plan(found, planning.kafka_access(args.timeout, args.verbose))
        print(table.plan_table(plan, found.namespace, found.name, table.format_lines(spec)))
        field = "spec.dryRun" if spec.dry_run else "spec.suspend"
        print(f"{field} is true: nothing replayed (set it to false to run the replay)")
        return EXIT_OK
    for note in planning.local_secret_notes(spec):
        print(f"eventreplay: note: {note}", file=sys.stderr)
    client = planning.redis_client(spec)
    access = planning.kafka_access(args.timeout, args.verbose)
    prepared = local.prepare(found, access, client, fresh=args.fresh)
    plan, uid = prepared.plan, prepared.uid
    log_dir = args.log_dir or Path(tempfile.gettempdir()) / f"eventreplay-{uid}"
    if not quiet:
        how = "resuming the frozen plan" if prepared.resumed else "new plan"
        print(
            f"{found.namespace}/{found.name}: {how} {plan.hash} (as of {plan.as_of}), uid {uid}: "
            f"{len(plan.partitions)} partitions, {plan.records} records of {plan.topic}, "
            f"{min(spec.worker.parallelism, len(plan.partitions))} workers at a time; logs in {log_dir}",
            flush=True,
        )
    runner = Runner(
        plan,
        uid,
        local.tasks(found, prepared),
        client,
        parallelism=spec.worker.parallelism,
        backoff_limit=spec.worker.backoff_limit,
        log_dir=log_dir,
        display=LiveDisplay(enabled=not (quiet or args.no_progress)),
    )
    began = time.monotonic()
    checkpoints, failures = runner.run()
    data = table.summary_json(plan, uid, checkpoints, failures, time.monotonic() - began)
    print(output.dump(data, args.output) if quiet else table.summary_text(data))
    if failures:
        first = min(failures)
        raise CliError(
            f"{len(failures)} of {len(plan.partitions)} partitions failed (partition {first}: {failures[first]}); "
            f"worker logs in {log_dir}; fix the cause and re-run to resume",
            EXIT_FAILED,
        )
    return EXIT_OK


def _gaps(args: argparse.Namespace) -> int:
    found = manifest.load(args.manifest)
    if args.join_seconds < 0:
        raise CliError("--join-seconds must be >= 0", EXIT_USAGE)
    plan = planning.plan(found, planning.kafka_access(args.timeout, args.verbose))
    result = gaps.find(found, plan, args.join_seconds)
    if output.machine(args.output):
        print(output.dump(result, args.output))
    elif args.output == "manifests":
        print(gaps.render_manifests(found, result), end="")
    else:
        print(gaps.render_text(found, result))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    found = manifest.load(args.manifest)
    if found.spec.transform.aggregate is None:
        raise CliError("export flink-sql: spec.transform.aggregate is not set (only windowed recompute exports)")
    # An applied replay (`kubectl get eventreplay -o yaml`): its frozen plan and uid, so Flink reads the
    # same offsets and writes into that replay's results topic; otherwise plan as the operator would.
    plan = found.frozen_plan or planning.plan(found, planning.kafka_access(args.timeout, args.verbose))
    print(flink_sql.flink_sql(found.spec, plan, found.namespace, found.name), end="")
    return EXIT_OK


def _cluster(args: argparse.Namespace) -> int:
    found = cluster.connect(args.kubeconfig, args.context)
    namespace = args.namespace or found.namespace
    display = LiveDisplay()
    if args.command in ("status", "get"):
        return cluster.status(found, namespace, args.name, display, args.output)
    if args.command == "watch":
        return cluster.watch(found, namespace, args.name, display, interval=args.interval, timeout=args.timeout)
    if args.command == "reconcile":
        return cluster.refresh(found, namespace, args.name)
    if args.dry_run:
        return approve.dry_run(found, namespace, args.name, args.report_hash, approver=args.approver, fmt=args.output)
    if args.approver:
        raise CliError("--approver only goes with --dry-run (approve names the user it runs as)", EXIT_USAGE)
    return approve.approve(found, namespace, args.name, args.report_hash, fmt=args.output)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            return _plan(args)
        if args.command == "run":
            return _run(args)
        if args.command == "gaps":
            return _gaps(args)
        if args.command == "export":
            return _export(args)
        if args.command == "report":
            return report_command.run(args)
        if args.command == "completion":
            print(completion.render(_parser(), args.shell), end="")
            return EXIT_OK
        return _cluster(args)
    except CliError as err:
        print(f"eventreplay: {err.message}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("eventreplay: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
