"""Avro next to JSON in one run: the same orders, one topic written as JSON and one as Avro through the
stack's schema registry (confluent-kafka's AvroSerializer, TopicNameStrategy), each replayed by
`python -m eventreplay.worker run` with the same JSON Schema validation, ledger and sandbox, in
interleaved rounds: JSON into a JSON sandbox, Avro decoded into a JSON sandbox, and Avro decoded and
encoded again for an Avro sink (`spec.sink.format`). Events/s and the worker's CPU µs per event
(medians), and their ratios. `bench_worker.py --formats N` runs the same comparison in its own run.

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
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out

from bench_worker import BOOTSTRAP, drop_ledger, drop_topics, run_worker_rss, task_for

from datagen.orders import CLEAN, ORDER_AVRO, generate
from devstack import config
from eventreplay.worker.contract.tasks import SinkSubject, Task, ValueFormat, topic_subject


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


MODES = {"json": ("json", "json"), "avro": ("avro", "json"), "avro-to-avro": ("avro", "avro")}
"""A mode's (source format, sink format)."""


def _format(name: str) -> ValueFormat:
    if name == "json":
        return ValueFormat()
    return ValueFormat.model_validate({"format": name, "schemaRegistry": {"url": config.registry_url()}})


def task(topic: str, count: int, mode: str) -> Task:
    base = task_for(topic, count, uuid.uuid4().hex[:12])
    source, sink = MODES[mode]
    if sink == "json":
        return base.model_copy(update={"source_format": _format(source)})
    # The sandbox stands in for the sink: its subject holds the order schema (a replay never registers).
    subject = SinkSubject(name=topic_subject(base.output.sandbox_topic))
    registry = SchemaRegistryClient({"url": config.registry_url()})
    registry.register_schema(subject.name, Schema(json.dumps(ORDER_AVRO), "AVRO"))
    update = {"source_format": _format(source), "sink_format": _format(sink), "sink_subject": subject}
    return base.model_copy(update=update)


def run(topic: str, count: int, mode: str) -> tuple[float, float, str]:
    """Events/s, worker CPU µs per event, and the run's output digest."""
    t = task(topic, count, mode)
    try:
        seconds, _rss, summary, cpu = run_worker_rss(t)
    finally:
        drop_ledger(t)
        drop_topics([t.output.sandbox_topic, t.output.dead_letter_topic])
    assert summary["emitted"] + summary["duplicate"] == count, summary
    return count / seconds, 1e6 * cpu["worker"] / count, str(summary["digest"])


def compare(events: int, rounds: int) -> dict[str, Any]:
    """Each mode over the same orders, in interleaved rounds; medians per mode."""
    tag = uuid.uuid4().hex[:8]
    topics = {"json": f"bench-fmt-json-{tag}", "avro": f"bench-fmt-avro-{tag}"}
    seed(topics["json"], events, None)
    seed(topics["avro"], events, avro_encoder(topics["avro"]))
    figures: dict[str, list[tuple[float, float, str]]] = {mode: [] for mode in MODES}
    try:
        for _ in range(rounds):
            for mode, (source, _sink) in MODES.items():
                figures[mode].append(run(topics[source], events, mode))
    finally:
        drop_topics(list(topics.values()))
    return {
        mode: {
            "events_per_s": statistics.median(f[0] for f in runs),
            "cpu_us_per_event": statistics.median(f[1] for f in runs),
            "digests": sorted({f[2] for f in runs}),
        }
        for mode, runs in figures.items()
    }


def table(rows: dict[str, Any]) -> str:
    """The modes side by side, and their ratios to JSON."""
    base = rows["json"]
    lines = [
        "| source -> sink | events/s (median) | worker CPU µs/event | vs JSON (CPU) | digest |",
        "|---|---|---|---|---|",
    ]
    for mode, row in rows.items():
        ratio = row["cpu_us_per_event"] / base["cpu_us_per_event"]
        digests = ", ".join(d[:12] for d in row["digests"])
        lines.append(
            f"| {mode} | {row['events_per_s']:,.0f} | {row['cpu_us_per_event']:.2f} | {ratio:.2f}x | {digests} |"
        )
    same = rows["json"]["digests"] == rows["avro"]["digests"]
    lines.append(f"Avro decoded into JSON gives the JSON run's sandbox content: {same}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = compare(args.events, args.rounds)
    print(json.dumps({"events": args.events, "rounds": args.rounds, **rows}, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
