"""What a replayed record is (`spec.sink.topic` says it): the transformed value keyed by its event id
with the replay's own headers; the source record's key, headers and timestamp are not carried over.
Dead letters keep the source key and value."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from support.kafka_tools import create_topic, read_partition
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

SOURCE_MS = 1_600_000_000_000  # 2020-09-13: long before the replay writes


def test_a_replayed_record_is_keyed_by_id_with_the_replays_headers_and_its_own_time(
    kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"shape-{unique}"
    # Records stamped in 2020 are past any time retention: the broker's retention check could delete
    # them before the worker reads them (and did, once), so this topic keeps everything.
    create_topic(kafka_admin, topic, config={"retention.ms": "-1"})
    good, bad = orjson.dumps({"event_id": "e1", "amount": 1}), b"{not json"
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in (good, bad):
        producer.produce(topic, value, b"source-key", 0, headers=[("trace", b"abc")], timestamp=SOURCE_MS)
    assert producer.flush(30) == 0
    task = make_task(kafka_bootstrap, topic, unique, 2)
    done = run_worker(task)
    assert done.returncode == 0, done.stderr[-3000:]

    [rec] = read_partition(kafka_bootstrap, task.output.sandbox_topic)
    assert (rec.key, rec.value) == (b"e1", good)
    assert rec.headers == {
        "er-source-topic": topic.encode(),
        "er-source-partition": b"0",
        "er-source-offset": b"0",
        "er-replay-uid": unique.encode(),
    }
    assert rec.timestamp_ms > SOURCE_MS  # stamped when written, not the source's time

    [dead] = read_partition(kafka_bootstrap, task.output.dead_letter_topic)
    assert (dead.key, dead.value) == (b"source-key", bad)
    assert "trace" not in dead.headers and dead.headers["er-source-offset"] == b"1"
