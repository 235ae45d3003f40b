"""The operator at scale with real runs (issue #14 (b) and (c)), this tree against a baseline commit
side by side in one run on the local stack:

(b) N replays x 3 partitions (50 records each), applied at once, every one run to Reconciled
    (worker Jobs, then the reconciliation Job; the Manual gate then waits);
(c) the same plus 5 replays pointing at black-holed hosts (TCP listeners that accept and never
    answer): 3 with their Kafka there, 2 with their Redis there. They must not delay the others.

Each side is its own operator process (the baseline from `git worktree add` of `--base`, with its
own worker command and its own CRD applied server-side before its run) watching its own namespace.
Jobs run on the stack's process node, capped at `--max-running` containers at once
(EVENTREPLAY_NODE_MAX_RUNNING; the rest stay Pending as on a full node): 400 Python processes at
once would measure the 2 cores, not the operators.

Figures: replays reconciled, apply -> Replayed and -> Reconciled (median, max; from the conditions'
lastTransitionTime), wall time, apiserver requests/s (WATCH excluded), operator CPU seconds and
peak RSS, EventReplay status bytes patched (apiserver_request_body_size_bytes_sum) in all and per
replay per minute, Events emitted.

    .venv/bin/python bench/bench_operator_runs.py --replays 100 [--base fc7e1ea] [--only b|c]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out
from bench_operator import REPO, apiserver_requests, base_path, kcall, operator_env, proc_figures

from devstack import config
from eventreplay.operator.kube import Kube, api_client

BOOTSTRAP = config.kafka_bootstrap()
CRD = "crds/eventreplay.io_eventreplays.yaml"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/eventreplays.eventreplay.io"
GROUP = "/apis/eventreplay.io/v1alpha1/namespaces"


def black_hole() -> int:
    """A TCP port that accepts connections and never says a word (held open until the bench ends)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    return int(server.getsockname()[1])


def seed(records: int) -> tuple[str, str]:
    topic, sink = f"bench-runs-{uuid.uuid4().hex[:8]}", f"bench-runs-sink-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for name in (topic, sink):
        admin.create_topics([NewTopic(name, 3, 1)])[name].result()
    time.sleep(2)
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 20})
    for p in range(3):
        for i in range(records):
            producer.produce(topic, b'{"event_id":"%d-%d","amount":%d}' % (p, i, i), partition=p)
    assert producer.flush(60) == 0
    return topic, sink


def spec(topic: str, sink: str, *, kafka: str = BOOTSTRAP, redis: str | None = None) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": kafka, "topic": topic},
        "window": {"offsets": {"from": 0, "to": 1_000_000}},
        "validation": {"eventIdField": "event_id"},
        "dedup": {"redis": {"url": redis or config.redis_url()}, "ledger": "bench-runs"},
        "sink": {"topic": sink},
        "reconciliation": {"eventId": {"source": "key"}},
        "promotion": {"policy": "Manual"},
    }


def apply_crd(k: Kube, side: str, base: str) -> None:
    """The side's own CRD (server-side apply, forced: the two sides' schemas differ)."""
    text = (REPO / CRD).read_text() if side == "branch" else git("show", f"{base}:{CRD}")
    k.call(
        "PATCH",
        CRD_PATH,
        yaml.safe_load(text),
        query={"fieldManager": f"bench-{side}", "force": "true"},
        content_type="application/apply-patch+yaml",
    )
    time.sleep(3)  # the apiserver re-reads the schema


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout


def patched_bytes(k: Kube) -> float:
    resp = k._api.rest_client.request("GET", k._host + "/metrics", headers=_headers(k))
    for line in resp.read().decode().splitlines():
        kind = line.startswith("apiserver_request_body_size_bytes_sum{") and 'resource="eventreplays"' in line
        if kind and 'verb="patch"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _headers(k: Kube) -> dict[str, str]:
    auth = k._api.configuration.auth_settings().get("BearerToken")
    return {"authorization": auth["value"]} if auth else {}


def since(replay: dict[str, Any], kind: str) -> float | None:
    """Seconds from creation to the condition `kind` turning True (None while it is not)."""
    for c in (replay.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and c.get("status") == "True":
            born = datetime.fromisoformat(replay["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
            return (datetime.fromisoformat(c["lastTransitionTime"].replace("Z", "+00:00")) - born).total_seconds()
    return None


def run_side(k: Kube, side: str, base: Path, commit: str, args: argparse.Namespace, *, holes: int) -> dict[str, Any]:
    topic, sink = seed(args.records)
    apply_crd(k, side, commit)
    ns = f"bench-{side}-{uuid.uuid4().hex[:5]}"
    kcall(k, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    env = operator_env(side, base)
    worker = "python -m eventreplay.worker run"
    if side == "base":
        worker = f"env PYTHONPATH={base_path(base)} {worker}"
    cmd = [sys.executable, "-m", "eventreplay.operator", "--namespace", ns, "--worker-command", worker]
    log = REPO / "bench" / "results" / f"runs-{side}-{holes}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/tmp")
    path = f"{GROUP}/{ns}/eventreplays"
    try:
        time.sleep(4)
        req0, bytes0, began = apiserver_requests(k), patched_bytes(k), time.monotonic()
        kafka_hole, redis_hole = black_hole(), black_hole()
        manifests = [spec(topic, sink) for _ in range(args.replays)]
        manifests += [spec(topic, sink, kafka=f"127.0.0.1:{kafka_hole}") for _ in range(min(holes, 3))]
        manifests += [spec(topic, sink, redis=f"redis://127.0.0.1:{redis_hole}/0") for _ in range(max(0, holes - 3))]
        for i, body in enumerate(manifests):
            meta = {"name": f"r{i:03d}" if i < args.replays else f"hole{i - args.replays}"}
            kcall(
                k,
                "POST",
                path,
                {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay", "metadata": meta, "spec": body},
            )
        while True:
            items = [r for r in kcall(k, "GET", path)["items"] if r["metadata"]["name"].startswith("r")]
            done = [r for r in items if since(r, "Reconciled") is not None]
            if len(done) == args.replays or time.monotonic() - began > args.timeout:
                break
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(2)
        wall = time.monotonic() - began
        req1, bytes1 = apiserver_requests(k), patched_bytes(k)
        cpu, hwm = proc_figures(proc.pid)
        replayed = [s for r in items if (s := since(r, "Replayed")) is not None]
        reconciled = [s for r in done if (s := since(r, "Reconciled")) is not None]
        events = [
            e
            for e in kcall(k, "GET", f"/api/v1/namespaces/{ns}/events")["items"]
            if e.get("involvedObject", {}).get("kind") == "EventReplay"  # the operator's, not the Job controller's
        ]
        total = len(manifests)
        return {
            "reconciled": f"{len(done)}/{args.replays}",
            "to_replayed_median_s": round(statistics.median(replayed), 1) if replayed else None,
            "to_replayed_max_s": round(max(replayed), 1) if replayed else None,
            "to_reconciled_median_s": round(statistics.median(reconciled), 1) if reconciled else None,
            "to_reconciled_max_s": round(max(reconciled), 1) if reconciled else None,
            "wall_s": round(wall, 1),
            "apiserver_requests_per_s": round((req1 - req0) / wall, 1),
            "operator_cpu_s": round(cpu, 1),
            "operator_peak_rss_mib": round(hwm / 1024, 1),
            "status_bytes_patched": int(bytes1 - bytes0),
            "bytes_per_replay_per_min": round((bytes1 - bytes0) / total / (wall / 60)),
            "events": len(events),
        }
    finally:
        proc.terminate()
        proc.wait(30)
        # Without an operator (no finalizer to wait for), the namespace goes with everything in it.
        for r in kcall(k, "GET", path)["items"]:
            patch = {"metadata": {"finalizers": []}}
            k.call("PATCH", f"{path}/{r['metadata']['name']}", patch, content_type="application/merge-patch+json")
        kcall(k, "DELETE", f"/api/v1/namespaces/{ns}")


def node_cap(running: int | None) -> None:
    """Restart the stack's process node with (or without) a cap on containers running at once."""
    env = {"EVENTREPLAY_NODE_MAX_RUNNING": str(running or 0)}
    subprocess.run([str(REPO / "dev" / "stack"), "down", "node-harness"], cwd=REPO, check=True)
    subprocess.run([str(REPO / "dev" / "stack"), "up", "node-harness"], cwd=REPO, check=True, env={**os.environ, **env})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replays", type=int, default=100)
    parser.add_argument("--records", type=int, default=50, help="records per partition")
    parser.add_argument("--base", default="fc7e1ea", help="the baseline commit (default: round 1's main)")
    parser.add_argument("--max-running", type=int, default=24)
    parser.add_argument("--only", choices=["b", "c"], action="append")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    commit = git("rev-parse", "--short", args.base).strip()
    base = Path(f"/tmp/scale-base-{commit}")
    if not base.exists():
        git("worktree", "add", "--detach", str(base), commit)
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    k = Kube(api_client(str(config.kubeconfig_path())))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    node_cap(args.max_running)
    try:
        for mode, holes in (("b", 0), ("c", 5)):
            if args.only and mode not in args.only:
                continue
            rows[mode] = {side: run_side(k, side, base, commit, args, holes=holes) for side in ("branch", "base")}
            print(json.dumps({mode: rows[mode]}), flush=True)
    finally:
        apply_crd(k, "branch", commit)
        node_cap(None)
    for mode, sides in rows.items():
        extra = " + 5 black-holed (3 Kafka, 2 Redis)" if mode == "c" else ""
        print(f"\n({mode}) {args.replays} replays x 3 partitions x {args.records} records{extra}")
        print(f"| figure | this tree | base {commit} |\n|---|---|---|")
        for key in sides["branch"]:
            print(f"| {key} | {sides['branch'][key]} | {sides['base'][key]} |")
    (REPO / "bench" / "results" / "operator-runs.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
