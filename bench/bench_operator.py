"""The operator at scale, this branch against its base (merge-base with main) side by side in one run.

(a) plan: `KafkaAccess.observe` of a 1,000-partition topic (offsets window and time window), this
    branch's batched calls against the base's per-partition calls (its `operator/kafka.py` loaded
    from git), and the status size of a 1,000-partition dry-run plan;
(b) idle cost: N dry-run replays x 3 partitions at rest under each operator (the base checked out
    with `git worktree add`), `--status-interval 1`: apiserver requests/s (`apiserver_request_total`
    delta), operator CPU seconds and peak RSS, bytes of status patched, Events emitted.

    .venv/bin/python bench/bench_operator.py --partitions 1000 --replays 100 --seconds 30

Real runs of N replays to Reconciled, with and without black-holed replays, are
`bench/bench_operator_runs.py` (issue #14 (b) and (c)).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import types
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from eventreplay.operator.api.v1alpha1 import EventReplay
from eventreplay.operator.kafka import KafkaAccess
from eventreplay.operator.kube import Kube, api_client
from eventreplay.operator.planner import make_plan

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "dev"))
from devstack import config  # noqa: E402

BOOTSTRAP = config.kafka_bootstrap()
BASE = Path("/tmp/scale-base")
KIND_OF = {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay"}


def base_commit() -> str:
    """The baseline: where this branch left main (main itself may have moved on since)."""
    found = subprocess.run(["git", "merge-base", "main", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True)
    return found.stdout.strip()


def base_kafka_module() -> Any:
    """The base's `operator/kafka.py`, loaded as a sibling module of this branch's operator package."""
    source = subprocess.run(
        ["git", "show", f"{base_commit()}:operator/kafka.py"], cwd=REPO, check=True, capture_output=True
    ).stdout
    module = types.ModuleType("eventreplay.operator._base_kafka")
    module.__package__ = "eventreplay.operator"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "base:operator/kafka.py", "exec"), module.__dict__)
    return module


def seed_topic(partitions: int) -> str:
    topic = f"bench-op-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # every partition led before producing to it
        meta = admin.list_topics(topic, timeout=10).topics[topic]
        if len(meta.partitions) == partitions and all(m.leader >= 0 for m in meta.partitions.values()):
            break
        time.sleep(1)
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 20})
    for p in range(partitions):
        for i in range(3):
            producer.produce(topic, b'{"event_id":"%d-%d"}' % (p, i), partition=p)
    assert producer.flush(180) == 0
    return topic


def replay_spec(topic: str, window: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": BOOTSTRAP, "topic": topic},
        "window": window,
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": "bench"},
        "sink": {"topic": f"{topic}-out"},
        **extra,
    }


def bench_plan(partitions: int) -> dict[str, Any]:
    topic = seed_topic(partitions)
    now = datetime.now(UTC)
    windows = {
        "offsets": {"offsets": {"from": 0, "to": 2}},
        "time": {"timestamps": {"from": "2000-01-01T00:00:00Z", "to": now.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    }
    out: dict[str, Any] = {"topic": topic}
    old = base_kafka_module()
    for label, window in windows.items():
        obj = {
            **KIND_OF,
            "metadata": {"name": "bench", "namespace": "b", "uid": "u"},
            "spec": replay_spec(topic, window),
        }
        spec = EventReplay.desired(obj).spec
        for side, access in (("branch", KafkaAccess()), ("base", old.KafkaAccess())):
            started = time.perf_counter()
            count, observed = access.observe(spec, now)
            out[f"plan_{label}_{side}_s"] = round(time.perf_counter() - started, 3)
            assert count == partitions and len(observed) == partitions
        plan = make_plan(spec, namespace="b", name="bench", topic_partitions=count, observed=observed, as_of=now)
        out[f"plan_{label}_status_bytes"] = len(json.dumps({"plan": plan.model_dump(mode="json", by_alias=True)}))
    return out


def apiserver_requests(k: Kube) -> int:
    resp = k._api.rest_client.request("GET", k._host + "/metrics", headers=_auth(k))
    text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{") and 'verb="WATCH"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _auth(k: Kube) -> dict[str, str]:
    auth = k._api.configuration.auth_settings().get("BearerToken")
    return {"authorization": auth["value"]} if auth else {}


def proc_figures(pid: int) -> tuple[float, int]:
    """(CPU seconds of the process, peak RSS KiB)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return cpu, int(hwm.group(1)) if hwm else 0


def base_path(base: Path) -> str:
    """A PYTHONPATH entry holding the baseline checkout's `eventreplay` package (its folders linked
    as the package layout maps them), to put in front of this branch's editable install."""
    pkg = Path(f"{base}-pkg/eventreplay")
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text((base / "eventreplay" / "__init__.py").read_text())
    for name in ("operator", "worker", "cli"):
        link = pkg / name
        if not link.exists():
            link.symlink_to(base / name)
    return str(pkg.parent)


def operator_env(side: str, base: Path = BASE) -> dict[str, str]:
    env = {**os.environ, "KUBECONFIG": str(config.kubeconfig_path()), "PYTHONUNBUFFERED": "1"}
    if side == "base":
        # the baseline packages come first on the path: the editable finder of this branch is last.
        env["PYTHONPATH"] = base_path(base)
    return env


def kcall(k: Kube, method: str, path: str, body: Any = None) -> Any:
    return k.call(method, path, body)


def bench_idle(k: Kube, side: str, topic: str, replays: int, seconds: float, *, log: Path) -> dict[str, Any]:
    ns = f"bench-{side}-{uuid.uuid4().hex[:5]}"
    kcall(k, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cmd = [sys.executable, "-m", "eventreplay.operator", "--namespace", ns, "--status-interval", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=operator_env(side), stdout=out, stderr=subprocess.STDOUT, cwd="/tmp")
    base = f"/apis/eventreplay.io/v1alpha1/namespaces/{ns}/eventreplays"
    try:
        started = time.monotonic()
        for i in range(replays):
            spec = replay_spec(topic, {"offsets": {"from": 0, "to": 2}}, dryRun=True)
            spec["source"]["partitions"] = ["0-2"]
            body = {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay"}
            kcall(k, "POST", base, {**body, "metadata": {"name": f"r{i}"}, "spec": spec})
        while True:
            items = kcall(k, "GET", base)["items"]
            planned = sum(1 for r in items if (r.get("status") or {}).get("phase") == "Planned")
            if planned == replays:
                break
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < 300, f"{planned}/{replays} planned\n{log.read_text()[-3000:]}"
            time.sleep(1)
        to_planned = time.monotonic() - started
        time.sleep(3)
        cpu0, _ = proc_figures(proc.pid)
        req0 = apiserver_requests(k)
        time.sleep(seconds)
        req1 = apiserver_requests(k)
        cpu1, hwm = proc_figures(proc.pid)
        events = kcall(k, "GET", f"/api/v1/namespaces/{ns}/events")["items"]
        status_bytes = sum(len(json.dumps(r.get("status") or {})) for r in kcall(k, "GET", base)["items"])
        return {
            "apply_to_planned_s": round(to_planned, 1),
            "idle_requests_per_s": round((req1 - req0) / seconds, 1),
            "idle_cpu_s_per_min": round((cpu1 - cpu0) * 60 / seconds, 2),
            "peak_rss_mib": round(hwm / 1024, 1),
            "events": len(events),
            "status_bytes_all_replays": status_bytes,
        }
    finally:
        for r in kcall(k, "GET", base)["items"]:
            k.call("DELETE", f"{base}/{r['metadata']['name']}")
        deadline = time.monotonic() + 60
        while kcall(k, "GET", base)["items"] and time.monotonic() < deadline:
            time.sleep(1)
        proc.terminate()
        proc.wait(30)
        kcall(k, "DELETE", f"/api/v1/namespaces/{ns}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--replays", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    if not BASE.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(BASE), base_commit()], cwd=REPO, check=True)
    k = Kube(api_client(str(config.kubeconfig_path())))
    plan = bench_plan(args.partitions)
    print(json.dumps(plan), flush=True)
    rows: dict[str, dict[str, Any]] = {}
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    for side in ("branch", "base"):
        rows[side] = bench_idle(
            k, side, plan["topic"], args.replays, args.seconds, log=results / f"operator-{side}.log"
        )
    print(f"(a) plan of a {args.partitions}-partition topic")
    for key, value in plan.items():
        print(f"  {key:32} {value}")
    print(f"(b) {args.replays} dry-run replays x 3 partitions at rest, --status-interval 1, {args.seconds:g} s")
    print(f"  {'figure':28} {'branch':>10} {'base':>10} {'base/branch':>12}")
    for key in rows["branch"]:
        b, m = rows["branch"][key], rows["base"][key]
        ratio = f"{m / b:.1f}" if isinstance(b, int | float) and b else "-"
        print(f"  {key:28} {b:>10} {m:>10} {ratio:>12}")
    (results / "operator.json").write_text(json.dumps({"plan": plan, "idle": rows}, indent=1))


if __name__ == "__main__":
    main()
