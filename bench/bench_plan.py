"""Planning a many-partition topic: the operator's planner (batched ListOffsets) against the
per-partition watermark round trips main used before, side by side, interleaved over rounds.

    .venv/bin/python bench/bench_plan.py --partitions 1000 --rounds 3

Creates one topic with `--partitions` partitions and a few records in each (timestamps an hour
apart so a timestamp window resolves), plans a timestamp window over all partitions with both
implementations, checks they agree, prints the medians and the ratio, and drops the topic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
from devstack import config
from eventreplay.operator.api.v1alpha1 import EventReplaySpec
from eventreplay.operator.kafka import KafkaAccess
from eventreplay.operator.planner import Observed, make_plan, window_times
from eventreplay.worker.contract.kafka_clients import offsets_for_times, watermarks


def _seed(admin: AdminClient, topic: str, partitions: int, base: datetime) -> None:
    for future in admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=120).values():
        future.result()
    producer = Producer({"bootstrap.servers": config.kafka_bootstrap(), "linger.ms": 50})
    for p in range(partitions):
        for i in range(3):
            stamp = int((base + timedelta(minutes=30 * i)).timestamp() * 1000)
            producer.produce(topic, b'{"event_id": "x"}', partition=p, timestamp=stamp)
    producer.flush(120)


def _per_partition(access: KafkaAccess, spec: EventReplaySpec, now: datetime) -> tuple[int, dict[int, Observed]]:
    """What main did before: one watermark round trip per partition (then one offsets_for_times per bound)."""
    topic, bootstrap = spec.source.topic, spec.source.bootstrap_servers
    consumer = access.consumer(bootstrap)
    try:
        count = len(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        marks = {p: watermarks(consumer, topic, p, bootstrap) for p in range(count)}
        times = window_times(spec, now)
        assert times is not None
        starts = offsets_for_times(consumer, topic, list(marks), times[0])
        ends = offsets_for_times(consumer, topic, list(marks), times[1])
        return count, {
            p: Observed(low, high, starts[p] if starts[p] >= 0 else -1, ends[p] if ends[p] >= 0 else -1)
            for p, (low, high) in marks.items()
        }
    finally:
        consumer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap()})
    topic = f"bench-plan-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(hours=2)
    _seed(admin, topic, args.partitions, base)
    window = {"from": (base + timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
              "to": (base + timedelta(minutes=50)).isoformat().replace("+00:00", "Z")}  # fmt: skip
    spec = EventReplaySpec.model_validate(
        {
            "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
            "window": {"timestamps": window},
            "dedup": {"redis": {"url": config.redis_url()}, "ledger": "bench"},
            "sink": {"topic": "bench-out"},
        }
    )
    access = KafkaAccess(timeout=60)
    timings: dict[str, list[float]] = {"batched (this tree)": [], "per-partition (main before)": []}
    try:
        for _ in range(args.rounds):
            for name, observe in (
                ("batched (this tree)", lambda: access.observe(spec, now)),
                ("per-partition (main before)", lambda: _per_partition(access, spec, now)),
            ):
                began = time.perf_counter()
                count, observed = observe()
                plan = make_plan(
                    spec, namespace="b", name="b", uid="bench", topic_partitions=count, observed=observed, as_of=now
                )
                timings[name].append(time.perf_counter() - began)
                assert plan.records == args.partitions, (name, plan.records)  # one record per partition in the window
    finally:
        for future in admin.delete_topics([topic], operation_timeout=60).values():
            future.result()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"{name:30s} plan of {args.partitions} partitions: median {value:.2f} s  rounds {timings[name]}")
    ratio = medians["per-partition (main before)"] / medians["batched (this tree)"]
    print(f"summary: batched plan {medians['batched (this tree)']:.2f} s, {ratio:.1f}x faster than per-partition")
    return 0


if __name__ == "__main__":
    sys.exit(main())
