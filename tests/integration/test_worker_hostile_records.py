"""Hostile records against the real worker, Kafka and Redis: each one is counted and dead-lettered
with its reason (a truncated copy and a hash when too large), and the partition is Done.

Records near and above librdkafka's 1,000,000-byte default, above maxEventBytes, an output larger
than any producer limit, non-UTF-8 bytes, 1,000 headers, user validation code raising exceptions
that are not ValueError/TypeError: before, each of these crash-looped the partition's Job.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from eventreplay.worker.replay.dead_letter import COPY_BYTES
from support.kafka_tools import create_topic, read_visible
from support.worker_run import TASK_NAMESPACE, make_task, run_worker, user_code_env

pytestmark = pytest.mark.stack

MAX_EVENT_BYTES = 2 * 1_048_576

# User code the worker imports (validation model and transform), written to a temporary module.
USER_CODE = """
class Model:
    @classmethod
    def model_validate(cls, doc):
        if doc["event_id"] == "boom":
            raise RuntimeError("user validation code blew up")
        if doc["event_id"] == "lookup":
            return doc["no such field"]  # KeyError: neither ValueError nor TypeError
        return doc


def grow(doc):
    if doc["event_id"] == "grow":  # an output no producer limit admits (maxEventBytes + 1 MiB)
        return {**doc, "pad": "g" * (4 * 1_048_576)}
    return doc
"""


def _event(event_id: str, size: int = 0) -> bytes:
    doc = orjson.dumps({"event_id": event_id, "pad": ""})
    return orjson.dumps({"event_id": event_id, "pad": "x" * max(0, size - len(doc))})


def _sorted(value: bytes) -> bytes:
    return orjson.dumps(orjson.loads(value), option=orjson.OPT_SORT_KEYS)


def test_hostile_records_are_dead_lettered_and_the_partition_is_done(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    topic = f"hostile-{unique}"
    create_topic(kafka_admin, topic, 1, config={"max.message.bytes": str(8 * 1_048_576)})
    many_headers = [(f"h-{i}", f"v-{i}".encode()) for i in range(1000)]
    source: list[tuple[bytes | None, bytes, list[tuple[str, bytes]] | None]] = [
        (b"k0", _event("small"), None),
        (b"k1", _event("near-1mb", 990_000), None),  # below librdkafka's 1,000,000-byte default
        (b"k2", _event("above-1mb", 1_050_000), None),  # above it, within maxEventBytes: valid
        (b"k3", _event("huge", MAX_EVENT_BYTES + 500_000), None),  # above maxEventBytes
        (b"\xff\xfe", b"\xff\xfe\x00 not utf-8 \xc3\x28", None),  # non-UTF-8 key and value
        (b"k5", _event("headers"), many_headers),
        (b"k6", _event("boom"), None),
        (b"k7", _event("lookup"), None),
        (b"k8", _event("grow"), None),
        (None, _event("last"), None),
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 8 * 1_048_576})
    for key, value, headers in source:
        producer.produce(topic, value, key, 0, headers=headers)
    assert producer.flush(60) == 0

    (tmp_path / "hostile_user_code.py").write_text(USER_CODE)
    task = make_task(kafka_bootstrap, topic, unique, len(source))
    task = task.model_copy(
        update={
            "validation": task.validation.model_copy(
                update={"max_event_bytes": MAX_EVENT_BYTES, "model": "hostile_user_code:Model"}
            ),
            "transform": task.transform.model_copy(update={"function": "hostile_user_code:grow"}),
        }
    )
    done = run_worker(task, timeout=300, env=user_code_env(task, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]

    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, unique, 0)))
    assert ckpt.state == "done" and ckpt.committed_offset == len(source)
    assert ckpt.reasons == {"oversized": 2, "malformed_json": 1, "schema": 2}
    assert (ckpt.emitted, ckpt.dead_lettered) == (5, 5)

    sandbox = read_visible(kafka_bootstrap, task.output.sandbox_topic, 5)
    emitted = [0, 1, 2, 5, 9]
    assert [int(r.headers["er-source-offset"]) for r in sandbox] == emitted
    assert [r.value for r in sandbox] == [_sorted(source[i][1]) for i in emitted]

    dead = {
        int(r.headers["er-source-offset"]): r for r in read_visible(kafka_bootstrap, task.output.dead_letter_topic, 5)
    }
    assert sorted(dead) == [3, 4, 6, 7, 8]
    for offset in (3, 8):  # too large to copy: a truncated copy, the size and the hash of the whole value
        rec, value = dead[offset], source[offset][1]
        assert rec.headers["er-reason"] == b"oversized"
        assert rec.headers["er-truncated"] == b"true"
        assert rec.value == value[:COPY_BYTES]
        assert int(rec.headers["er-value-bytes"]) == len(value)
        assert rec.headers["er-value-sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert b"maxEventBytes" in dead[3].headers["er-error"]
    assert b"does not fit" in dead[8].headers["er-error"]
    assert (dead[4].key, dead[4].value) == source[4][:2], "small dead letters keep their bytes"
    assert dead[4].headers["er-reason"] == b"malformed_json"
    assert b"RuntimeError" in dead[6].headers["er-error"] and dead[6].headers["er-reason"] == b"schema"
    assert b"KeyError" in dead[7].headers["er-error"]
    for offset, rec in dead.items():
        assert "er-truncated" in rec.headers or rec.value == source[offset][1]
