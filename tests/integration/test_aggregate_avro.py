"""Windowed recompute follows the source's format: the same events written as JSON and as Avro
through the registry are replayed (the Avro ones decoded) and combined into windows; both give the
same results, record for record (the combine Job reads the sandbox's decoded JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

from devstack import config
from eventreplay.worker.contract.combine_task import Aggregate, CombineTask
from eventreplay.worker.contract.environment import COMBINE_TASK_ENV
from eventreplay.worker.contract.step_tasks import RedisTarget
from eventreplay.worker.contract.tasks import KafkaConnection, ReplayIdentity, ValueFormat
from support.kafka_tools import create_topic, read_topic
from support.schema_registry import serialized
from support.worker_run import REDIS_URL, make_task, run_worker

pytestmark = pytest.mark.stack

EVENT = {
    "type": "record",
    "name": "Reading",
    "namespace": "eventreplay.windows",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "ts", "type": "long"},
        {"name": "k", "type": "string"},
        {"name": "v", "type": "long"},
    ],
}
EVENTS = [{"event_id": f"e{i}", "ts": 60_000 * (i // 10) + i, "k": f"k{i % 3}", "v": i} for i in range(90)]
AGGREGATE = Aggregate.model_validate(
    {
        "eventTimeField": "ts",
        "keyField": "k",
        "windowSeconds": 60,
        "aggregations": [{"name": "n", "function": "count"}, {"name": "total", "function": "sum", "field": "v"}],
    }
)


def _results(kafka_admin: Any, bootstrap: str, name: str, values: list[bytes], fmt: ValueFormat | None) -> list[Any]:
    """`values` replayed (decoded when `fmt`) and combined: the results, sorted by id."""
    create_topic(kafka_admin, name, 1)
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(name, value, None, 0)
    assert producer.flush(30) == 0
    task = make_task(bootstrap, name, name, len(values))
    if fmt is not None:
        task = task.model_copy(update={"source_format": fmt})
    done = run_worker(task, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    combine = CombineTask(
        replay=ReplayIdentity(namespace="t", name=name, uid=name),
        kafka=KafkaConnection(bootstrap_servers=bootstrap),
        sandbox_topic=task.output.sandbox_topic,
        results_topic=f"{name}-results",
        aggregate=AGGREGATE,
        redis=RedisTarget(redis_url=REDIS_URL),
    )
    env = {**os.environ, COMBINE_TASK_ENV: combine.to_json()}
    ran = subprocess.run(
        [sys.executable, "-m", "eventreplay.worker", "combine"], env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    return sorted((r.key, orjson.loads(r.value or b"")) for _, r in read_topic(bootstrap, f"{name}-results", 1))


def test_windows_over_an_avro_source_equal_those_over_its_json_twin(
    registry: SchemaRegistryClient, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    plain = _results(kafka_admin, kafka_bootstrap, f"win-json-{unique}", [orjson.dumps(e) for e in EVENTS], None)
    topic = f"win-avro-{unique}"
    wire = serialized(AvroSerializer(registry, json.dumps(EVENT)), topic, EVENTS)
    fmt = ValueFormat.model_validate({"format": "avro", "schemaRegistry": {"url": config.registry_url()}})
    decoded = _results(kafka_admin, kafka_bootstrap, topic, wire, fmt)
    assert len(plain) == 9 * 3 and decoded == plain
