"""Where a worker's time goes: the engine's stages timed in-process over one partition, and
the CPU each party spends per event (the worker's threads, Redis, the Kafka broker): on a 2-core
machine that runs all three, their sum bounds the throughput.

.venv/bin/python bench/profile_worker.py --events 300000
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out
from bench_worker import REDIS_URL, seed, task_for
from cpu_split import cpu_seconds, services_cpu

from eventreplay.worker.replay import batch as replay_batch
from eventreplay.worker.replay import engine

STAGES = {
    (engine.Engine, "_next_batch"): "consume (librdkafka + range filter)",
    (replay_batch.ReplayBatches, "prepare"): "validate + transform + ledger request",
    (replay_batch.ReplayBatches, "finish"): "ledger verdicts + produce + digest",
}


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread name of this process (librdkafka names its threads rdk:*)."""
    out: dict[str, float] = collections.defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            text = (task / "stat").read_text()
            seconds = cpu_seconds(task / "stat")
        except FileNotFoundError:  # a short-lived librdkafka thread ended while we listed them
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        out["worker main thread" if name.startswith("python") else f"worker {name}"] += seconds
    return out


def party_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads, Redis, and the broker when the local stack runs it."""
    return {**thread_cpu(), **services_cpu(REDIS_URL)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    uid = uuid.uuid4().hex[:8]
    topic = f"profile-{uid}"
    seed(topic, args.events)
    spent: collections.Counter[str] = collections.Counter()

    def timed(owner: type, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def wrapper(self: object, *a: Any, **k: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                spent[name] += time.perf_counter() - began

        setattr(owner, name, wrapper)

    for owner, name in STAGES:
        timed(owner, name)
    worker = engine.Engine(task_for(topic, args.events, uid))
    cpu_before = party_cpu()
    began = time.perf_counter()
    worker.run()
    total = time.perf_counter() - began
    cpu_after = party_cpu()
    print(f"{args.events / total:,.0f} events/s in-process ({total:.1f} s)")
    for (_owner, name), label in STAGES.items():
        print(f"  {label:<42} {spent[name] / args.events * 1e6:6.2f} µs/event  {100 * spent[name] / total:4.0f} %")
    rest = total - sum(spent.values())
    label = "transaction commits + checkpoints"
    print(f"  {label:<42} {rest / args.events * 1e6:6.2f} µs/event  {100 * rest / total:4.0f} %")
    print("CPU per event (the machine has 2 cores: the sum bounds events/s)")
    spent_cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    for name, seconds in sorted(spent_cpu.items(), key=lambda item: -item[1]):
        if seconds / args.events * 1e6 >= 0.05:
            print(f"  {name:<42} {seconds / args.events * 1e6:6.2f} µs/event")
    per_event = sum(spent_cpu.values()) / args.events
    print(f"  {'total':<42} {per_event * 1e6:6.2f} µs/event -> at most {2 / per_event:,.0f} events/s on 2 cores")


if __name__ == "__main__":
    main()
