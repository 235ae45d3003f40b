"""The poison breaker on the real stack: a mostly-invalid partition stops early, a clean one
finishes, and the failure names the reason (the same worker code the operator's Jobs run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datagen.orders import Record, generate
from support.cli_run import cli, spec_for, write_manifest
from support.kafka_tools import create_topic, produce, read_partition

pytestmark = pytest.mark.stack

COUNT = 5000


def test_a_poisoned_partition_stops_early_and_says_why(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"poison-{unique}"
    create_topic(kafka_admin, topic, 2)
    # Partition 0: nine in ten records are not JSON (a wrong topic, say); partition 1: clean orders.
    valid = list(generate(COUNT, seed=7))
    poisoned = [rec if i % 10 == 0 else Record(None, b"\x00garbage", "bad", "") for i, rec in enumerate(valid)]
    produce(kafka_bootstrap, topic, poisoned, partition=0)
    produce(kafka_bootstrap, topic, list(generate(COUNT, seed=8)), partition=1)
    spec = spec_for(topic, {"offsets": {"from": 0, "to": COUNT}}, worker={"parallelism": 2, "batchSize": 100})
    spec["validation"]["poisonBreaker"] = {"maxInvalidRatio": 0.5, "minRecords": 300}
    spec["worker"]["backoffLimit"] = 0

    done = cli("run", write_manifest(tmp_path, f"poison-{unique}", spec), "-o", "json")
    assert done.returncode == 1, done.stderr
    assert "1 of 2 partitions failed (partition 0: " in done.stderr
    assert "PoisonRatioExceeded: " in done.stderr and "first reasons: malformed_json " in done.stderr
    summary = json.loads(done.stdout)
    by_partition = {p["partition"]: p for p in summary["partitions"]}
    assert by_partition[1]["state"] == "done" and by_partition[1]["committedOffset"] == COUNT
    # Partition 0 stopped at the first judgement (300 records), far from the end; its open
    # transaction was aborted, so what the dead-letter topic shows is exactly what was committed.
    stopped = by_partition[0]
    assert stopped["state"] == "failed" and "PoisonRatioExceeded" in stopped["message"]
    assert stopped["committedOffset"] < COUNT // 2
    dead_letters = read_partition(kafka_bootstrap, summary["deadLetterTopic"], 0)
    assert len(dead_letters) == stopped.get("deadLettered", 0) < COUNT // 2
    sandbox = read_partition(kafka_bootstrap, summary["sandboxTopic"], 0)
    assert len(sandbox) == stopped.get("emitted", 0)
