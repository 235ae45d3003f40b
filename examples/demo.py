"""`make demo`: a replay end to end on the local stack, with the figures checked against the truth.

1. the local stack (Kafka, Redis, kube-apiserver + controller-manager, the node harness) is up;
2. the CRD is installed and the operator runs (a local process, as the Deployment would run it);
3. examples/orders_dataset.py seeds `orders` and a processor output that failed for an hour;
4. an EventReplay for that hour is applied (Manual promotion) and its progress shown live;
5. the reconciliation report is printed, then approved (`eventreplay approve`);
6. the promotion summary is printed; every figure is compared with the seeded truth.
The last line is a JSON summary (the demo's test reads it); the exit code is 0 only if all match.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "dev"))
sys.path.insert(0, str(REPO / "examples"))

from orders_dataset import seed  # noqa: E402

from datagen.orders import ORDER_SCHEMA  # noqa: E402
from devstack import config, kube  # noqa: E402

NAMESPACE = "eventreplay-demo"


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    out = kube.kubectl(*args, stdin=stdin, timeout=120)
    if check and out.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def step(number: int, text: str) -> None:
    print(f"\n[{number}/6] {text}", flush=True)


def start_operator(log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - stays open for the operator's lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "eventreplay.operator", "--namespace", NAMESPACE, "--liveness", "none"],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "KUBECONFIG": str(config.kubeconfig_path()),
            # No policy: the operator lends only its own Kafka and Redis, as a default install does.
            "EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": config.kafka_bootstrap(),
            "EVENTREPLAY_OPERATOR_REDIS_ADDRESSES": f"{config.HOST}:{config.PORTS.redis}",
        },
    )


def manifest(name: str, source: str, destination: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": source},
            "window": {
                "timestamps": {"from": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "to": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
            },
            "validation": {
                "eventIdField": "event_id",
                "jsonSchema": ORDER_SCHEMA,
            },
            "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"demo-{name}", "mode": "withinReplay"},
            "transform": {"function": "project", "fields": ["event_id", "amount", "currency"]},
            "sink": {"topic": destination},
            "reconciliation": {"slackSeconds": 600},
            "promotion": {"policy": "Manual"},
            "worker": {"parallelism": 3, "backoffLimit": 3},
        },
    }


def get(name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "eventreplay", name, "-n", NAMESPACE, "-o", "json")))


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def wait(name: str, done: Any, what: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        obj = get(name)
        status = obj.get("status") or {}
        if condition(obj, "Stalled").get("status") == "True":
            raise SystemExit(f"the replay stalled: {condition(obj, 'Stalled').get('message')}")
        progress = status.get("progress") or {}
        line = (
            f"    phase={status.get('phase', '-'):<12} partitions {progress.get('partitionsDone', 0)}/"
            f"{progress.get('partitionsTotal', '?')}  {progress.get('percent', 0):5.1f} %  "
            f"{progress.get('eventsPerSecond', 0) or 0:>9,.0f} ev/s  ETA {progress.get('etaSeconds', '-')} s"
        )
        if line != last:
            print(line, flush=True)
            last = line
        if done(obj):
            return obj
        time.sleep(1)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-partition", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    began = time.monotonic()
    run = uuid.uuid4().hex[:6]
    name, source, destination = f"orders-{run}", f"demo-orders-{run}", f"demo-orders-enriched-{run}"
    print("EventReplay demo: recover an hour of order events a processor missed or got wrong")

    step(1, "the CRD and the operator")
    # --force-conflicts: this checkout's CRD is the truth, whoever applied an older one before.
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    kube.wait_crd_established("eventreplays.eventreplay.io")
    kubectl("create", "namespace", NAMESPACE, check=False)
    log = config.log_dir() / "operator-demo.log"
    operator = start_operator(log)
    print(f"    operator pid {operator.pid}, watching namespace {NAMESPACE}, log {log}")
    try:
        step(2, f"seeding {source} (3 partitions) and the processor output {destination}")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
        end = start + timedelta(hours=1)
        truth = seed(
            config.kafka_bootstrap(), source, destination, start=start, end=end, per_partition=args.per_partition
        )
        print(
            f"    failure window {start:%H:%M}-{end:%H:%M} UTC: {truth.records:,} source records; the processor "
            f"missed {truth.missing:,} events and wrote {truth.changed:,} wrong"
        )

        step(3, f"applying EventReplay {NAMESPACE}/{name} (promotion: Manual)")
        kubectl("apply", "-f", "-", stdin=json.dumps(manifest(name, source, destination, start, end)))
        replay_began = time.monotonic()
        obj = wait(name, lambda o: condition(o, "Replayed").get("status") == "True", "the replay", args.timeout)
        replay_seconds = time.monotonic() - replay_began
        totals = obj["status"].get("totals") or {}
        print(f"    replayed in {replay_seconds:.1f} s: {json.dumps(totals)}")

        step(4, "reconciliation report")
        obj = wait(
            name,
            lambda o: (o.get("status") or {}).get("reconciliation", {}).get("reportHash"),
            "the reconciliation report",
            args.timeout,
        )
        report = obj["status"]["reconciliation"]
        counts = report.get("counts", report)
        for key in ("unchanged", "changed", "missing", "extra", "duplicates", "superseded", "unidentified"):
            if key in counts:
                print(f"    {key:<14}{counts[key]:>10,}")
        for key, value in report.items():
            if isinstance(value, str):
                print(f"    {key:<14}{value}")

        step(5, "approving the report (eventreplay approve)")
        approve = subprocess.run(
            [sys.executable, "-m", "eventreplay.cli", "approve", name, "-n", NAMESPACE],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECONFIG": str(config.kubeconfig_path())},
        )
        print("    " + (approve.stdout.strip() or approve.stderr.strip()))
        if approve.returncode != 0:
            return 1
        obj = wait(name, lambda o: condition(o, "Ready").get("status") == "True", "the promotion", args.timeout)
        promotion = obj["status"].get("promotion") or {}

        step(6, "promotion summary")
        print("    " + json.dumps(promotion))
        checks = {
            "emitted": (truth.emitted, totals.get("emitted")),
            "duplicate": (truth.duplicate, totals.get("duplicate")),
            "deadLettered": (sum(truth.dead_lettered.values()), totals.get("deadLettered")),
            "unchanged": (truth.unchanged, counts.get("unchanged")),
            "changed": (truth.changed, counts.get("changed")),
            "missing": (truth.missing, counts.get("missing")),
            "extra": (truth.extra, counts.get("extra")),
            "promoted": (truth.changed + truth.missing, promotion.get("written")),
        }
        print(f"\n    {'figure':<14}{'expected':>12}{'reported':>12}")
        for key, (want, got) in checks.items():
            print(
                f"    {key:<14}{want:>12,}{got if got is not None else '-':>12}{'' if want == got else '   MISMATCH'}"
            )
        ok = all(want == got for want, got in checks.values())
        total = time.monotonic() - began
        print(
            f"\n    demo took {total:.0f} s; replay {truth.records / max(replay_seconds, 1e-9):,.0f} source records/s"
            f" through the operator (Job start-up included)"
        )
        print(f"    clean up: kubectl delete namespace {NAMESPACE}; dev/stack down")
        print(json.dumps({"ok": ok, "checks": {k: list(v) for k, v in checks.items()}, "seconds": round(total, 1)}))
        return 0 if ok else 1
    finally:
        operator.terminate()
        operator.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
