"""Hostile specs against the real worker, Kafka and Redis, with no policy in front (the most permissive
install): user code the image does not register never runs, and a schema `$ref` never leaves the
worker. Each fails the partition permanently with its reason, having written nothing.

Before: `transform.function: logging.config:dictConfig` configured logging from each event (a
FileHandler, or any callable through `()`), and a `$ref` made the worker GET any URL, without a
timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.tasks import Task
from support.kafka_tools import create_topic, produce, read_partition
from support.listener import Listener
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack


def _seed(kafka_admin: Any, bootstrap: str, topic: str, marker: Path) -> int:
    """One event that is also a logging config: run by dictConfig, it creates `marker`."""
    attack = {
        "event_id": "e0",
        "version": 1,
        "handlers": {"h": {"class": "logging.FileHandler", "filename": str(marker)}},
        "root": {"handlers": ["h"]},
    }
    create_topic(kafka_admin, topic, 1)
    produce(bootstrap, topic, [Record(b"e0", orjson.dumps(attack), "", "e0")])
    return 1


def _nothing_written(kafka_admin: Any, bootstrap: str, task: Task) -> bool:
    topics = kafka_admin.list_topics(timeout=10).topics
    outputs = (task.output.sandbox_topic, task.output.dead_letter_topic)
    return all(t not in topics or read_partition(bootstrap, t) == [] for t in outputs)


CODE = [
    ("transform", "logging.config:dictConfig"),
    ("transform", "subprocess:Popen"),
    ("transform", "os:system"),
    ("model", "logging.config:dictConfig"),
]


@pytest.mark.parametrize(("field", "name"), CODE, ids=[f"{f}={n}" for f, n in CODE])
def test_unregistered_user_code_fails_permanently_and_never_runs(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path, *, field: str, name: str
) -> None:
    marker = tmp_path / "dictconfig-ran.log"
    topic = f"hostile-code-{unique}"
    end = _seed(kafka_admin, kafka_bootstrap, topic, marker)
    task = make_task(kafka_bootstrap, topic, unique, end)
    if field == "transform":
        task = task.model_copy(update={"transform": task.transform.model_copy(update={"function": name})})
    else:
        task = task.model_copy(update={"validation": task.validation.model_copy(update={"model": name})})
    done = run_worker(task, timeout=120)
    assert done.returncode == EXIT_PERMANENT, done.stderr[-3000:]
    assert f"{name!r}: not registered in this worker image" in done.stderr, done.stderr
    assert not marker.exists(), "the event's logging config ran"
    assert _nothing_written(kafka_admin, kafka_bootstrap, task)


def test_a_schema_ref_to_a_listener_gets_no_bytes(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path, listener: Listener
) -> None:
    topic = f"hostile-ref-{unique}"
    end = _seed(kafka_admin, kafka_bootstrap, topic, tmp_path / "unused.log")
    url = f"http://{listener.address}/schema.json"
    schema = {"type": "object", "properties": {"event_id": {"$ref": url}}}
    task = make_task(kafka_bootstrap, topic, unique, end, schema=schema)
    done = run_worker(task, timeout=120)
    assert done.returncode == EXIT_PERMANENT, done.stderr[-3000:]
    assert f"$ref {url!r} points outside the schema" in done.stderr, done.stderr
    assert (listener.connections, listener.received) == (0, b"")
    assert _nothing_written(kafka_admin, kafka_bootstrap, task)
