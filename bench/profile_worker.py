"""Where a worker's time goes: the engine's stages timed in-process over one partition.

.venv/bin/python bench/profile_worker.py --events 300000
"""

from __future__ import annotations

import argparse
import collections
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench_worker import seed, task_for

from eventreplay.worker import engine

STAGES = {
    "_next_batch": "consume (librdkafka + range filter)",
    "_prepare": "validate + transform + ledger request",
    "_finish": "ledger verdicts + produce + digest",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    uid = uuid.uuid4().hex[:8]
    topic = f"profile-{uid}"
    seed(topic, args.events)
    spent: collections.Counter[str] = collections.Counter()

    def timed(name: str) -> None:
        original: Callable[..., Any] = getattr(engine.Engine, name)

        def wrapper(self: engine.Engine, *a: Any, **k: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                spent[name] += time.perf_counter() - began

        setattr(engine.Engine, name, wrapper)

    for name in STAGES:
        timed(name)
    worker = engine.Engine(task_for(topic, args.events, uid))
    began = time.perf_counter()
    worker.run()
    total = time.perf_counter() - began
    print(f"{args.events / total:,.0f} events/s in-process ({total:.1f} s)")
    for name, label in STAGES.items():
        print(f"  {label:<42} {spent[name] / args.events * 1e6:6.2f} µs/event  {100 * spent[name] / total:4.0f} %")
    rest = total - sum(spent.values())
    label = "transaction commits + checkpoints"
    print(f"  {label:<42} {rest / args.events * 1e6:6.2f} µs/event  {100 * rest / total:4.0f} %")


if __name__ == "__main__":
    main()
