"""Avro next to JSON in one run: the same orders, one topic written as JSON and one as Avro through the
stack's schema registry (confluent-kafka's AvroSerializer, TopicNameStrategy), each replayed by
`python -m eventreplay.worker run` with the same JSON Schema validation, ledger and sandbox, in
interleaved rounds. Events/s and the worker's CPU µs per event (medians), and their ratio.

    .venv/bin/python bench/bench_formats.py --events 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out

from bench_worker import BOOTSTRAP, drop_ledger, drop_topics, run_worker_rss, task_for

from datagen.orders import CLEAN, ORDER_AVRO, generate
from devstack import config
from eventreplay.worker.contract.tasks import SourceFormat, Task


def seed(topic: str, count: int, encode: Any | None) -> None:
    """`count` clean orders into a one-partition topic: their JSON bytes, or `encode(order)`."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 50, "compression.type": "lz4"})
    for rec in generate(count, seed=42, mix=CLEAN):
        assert rec.value is not None
        value = rec.value if encode is None else encode(json.loads(rec.value))
        while True:
            try:
                producer.produce(topic, value, rec.key, 0)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


def avro_encoder(topic: str) -> Any:
    serialize = AvroSerializer(SchemaRegistryClient({"url": config.registry_url()}), json.dumps(ORDER_AVRO))
    ctx = SerializationContext(topic, MessageField.VALUE)
    return lambda order: serialize(order, ctx)


def task(topic: str, count: int, fmt: str) -> Task:
    base = task_for(topic, count, uuid.uuid4().hex[:12])
    if fmt == "json":
        return base
    source = SourceFormat.model_validate({"format": fmt, "schemaRegistry": {"url": config.registry_url()}})
    return base.model_copy(update={"source_format": source})


def run(topic: str, count: int, fmt: str) -> tuple[float, float, str]:
    """Events/s, worker CPU µs per event, and the run's output digest."""
    t = task(topic, count, fmt)
    try:
        seconds, _rss, summary, cpu = run_worker_rss(t)
    finally:
        drop_ledger(t)
        drop_topics([t.output.sandbox_topic, t.output.dead_letter_topic])
    assert summary["emitted"] + summary["duplicate"] == count, summary
    return count / seconds, 1e6 * cpu["worker"] / count, str(summary["digest"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    topics = {"json": f"bench-fmt-json-{tag}", "avro": f"bench-fmt-avro-{tag}"}
    seed(topics["json"], args.events, None)
    seed(topics["avro"], args.events, avro_encoder(topics["avro"]))
    figures: dict[str, list[tuple[float, float, str]]] = {"json": [], "avro": []}
    try:
        for _ in range(args.rounds):
            for fmt, topic in topics.items():
                figures[fmt].append(run(topic, args.events, fmt))
    finally:
        drop_topics(list(topics.values()))
    rows = {
        fmt: {
            "events_per_s": statistics.median(f[0] for f in runs),
            "cpu_us_per_event": statistics.median(f[1] for f in runs),
            "digests": sorted({f[2] for f in runs}),
        }
        for fmt, runs in figures.items()
    }
    print(json.dumps({"events": args.events, "rounds": args.rounds, **rows}, indent=2))
    json_, avro = rows["json"], rows["avro"]
    print("| source format | events/s (median) | worker CPU µs/event | digest |")
    print("|---|---|---|---|")
    for fmt, row in rows.items():
        print(f"| {fmt} | {row['events_per_s']:,.0f} | {row['cpu_us_per_event']:.2f} | {', '.join(row['digests'])} |")
    print(
        f"avro / json: {avro['events_per_s'] / json_['events_per_s']:.2f}x events/s, "
        f"{avro['cpu_us_per_event'] / json_['cpu_us_per_event']:.2f}x CPU per event; "
        f"same sandbox content: {json_['digests'] == avro['digests']}"
    )


if __name__ == "__main__":
    main()
