"""The combine Job on the real stack: run again, it writes nothing more; results that differ from
what is already in the results topic fail it permanently (never a second copy)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from eventreplay.worker.contract.combine_task import Aggregate, CombineTask
from eventreplay.worker.contract.environment import COMBINE_TASK_ENV
from eventreplay.worker.contract.step_tasks import RedisTarget
from eventreplay.worker.contract.tasks import KafkaConnection, ReplayIdentity
from support.kafka_tools import create_topic, produce, read_topic
from support.worker_run import REDIS_URL

pytestmark = pytest.mark.stack


def _combine(task: CombineTask) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, COMBINE_TASK_ENV: task.to_json()}
    return subprocess.run(
        [sys.executable, "-m", "eventreplay.worker", "combine"], env=env, capture_output=True, text=True, timeout=300
    )


def test_combine_is_written_once_and_refuses_other_results(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> None:
    sandbox, results = f"combine-sb-{unique}", f"combine-res-{unique}"
    create_topic(kafka_admin, sandbox, 2)
    for p in range(2):
        events = [{"ts": 60_000 * (i // 10) + i, "k": f"k{i % 3}", "v": i} for i in range(100)]
        produce(kafka_bootstrap, sandbox, [Record(None, orjson.dumps(e), "valid", "") for e in events], partition=p)
    aggregate = Aggregate.model_validate(
        {
            "eventTimeField": "ts",
            "keyField": "k",
            "windowSeconds": 60,
            "aggregations": [{"name": "n", "function": "count"}],
        }
    )
    task = CombineTask(
        replay=ReplayIdentity(namespace="t", name="c", uid=f"u-{unique}"),
        kafka=KafkaConnection(bootstrap_servers=kafka_bootstrap),
        sandbox_topic=sandbox,
        results_topic=results,
        aggregate=aggregate,
        redis=RedisTarget(redis_url=REDIS_URL),
    )
    first = _combine(task)
    assert first.returncode == 0, first.stderr
    summary = orjson.loads(first.stdout)
    assert summary["rewritten"] is True and summary["results"] == 10 * 3  # 10 minutes x 3 keys
    written = read_topic(kafka_bootstrap, results, 2)
    assert sum(orjson.loads(r.value)["n"] for _, r in written) == 200

    again = _combine(task)
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["rewritten"] is False
    assert orjson.loads(again.stdout)["digest"] == summary["digest"]
    assert read_topic(kafka_bootstrap, results, 2) == written  # nothing written twice

    other = task.model_copy(update={"aggregate": aggregate.model_copy(update={"window_seconds": 120})})
    refused = _combine(other)
    assert refused.returncode == 10, refused.stderr
    assert "already holds 30 other results" in refused.stderr
    assert read_topic(kafka_bootstrap, results, 2) == written
