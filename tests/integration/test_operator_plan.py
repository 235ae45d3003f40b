"""Planning on the real stack: exact dry-run plans, and impossible plans that stall with no Job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import TopicPartition

from devstack import config
from eventreplay.worker.contract.names import ReplayTopics
from support.cli_run import cli, write_manifest
from support.kafka_tools import create_topic
from support.operator_driver import OperatorDriver

pytestmark = pytest.mark.stack
PER_PARTITION = 20
STEP_MS = 1000


def seed(admin: Any, bootstrap: str, topic: str, base_ms: int) -> None:
    """3 partitions x 20 records; record i of each partition has timestamp base + i s."""
    from confluent_kafka import Producer

    create_topic(admin, topic, partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for p in range(3):
        for i in range(PER_PARTITION):
            value = orjson.dumps({"event_id": f"{p}-{i}", "amount": i})
            producer.produce(topic, key=f"{p}-{i}".encode(), value=value, partition=p, timestamp=base_ms + i * STEP_MS)
    assert producer.flush(30) == 0


def spec(topic: str, window: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
        "window": window,
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"plan-{topic}"},
        "sink": {"topic": f"{topic}-out"},
        **extra,
    }


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def planned(driver: OperatorDriver, name: str) -> dict[str, Any]:
    return driver.wait_for(
        lambda: (
            (r := driver.get(name)).get("status", {}).get("plan")
            and driver.condition(r, "Ready").get("status") == "True"
            and r
        ),
        60,
        f"plan of {name}",
    )


def test_dry_run_plans_are_exact(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"plan-{unique}"
    base = int(time.time() * 1000) - 3600_000
    seed(kafka_admin, kafka_bootstrap, topic, base)
    with driver.running():
        driver.create("by-offset", spec(topic, {"offsets": {"from": 3, "to": 15}}, dryRun=True))
        window = {"timestamps": {"from": iso(base + 5 * STEP_MS), "to": iso(base + 12 * STEP_MS)}}
        driver.create("by-time", spec(topic, window, dryRun=True))
        window = {"timestamps": {"from": iso(base + 18 * STEP_MS), "to": iso(base + 3600_000 * 2)}}
        driver.create("past-end", spec(topic, window, dryRun=True))
        per = {"offsets": {"perPartition": [{"partition": 1, "from": 0, "to": 7}]}}
        driver.create("one-partition", spec(topic, per, dryRun=True))

        def ranges(name: str) -> list[tuple[int, int, int, int]]:
            plan = planned(driver, name)["status"]["plan"]
            return [(p["partition"], p["startOffset"], p["endOffset"], p["records"]) for p in plan["partitions"]]

        assert ranges("by-offset") == [(0, 3, 15, 12), (1, 3, 15, 12), (2, 3, 15, 12)]
        assert ranges("by-time") == [(0, 5, 12, 7), (1, 5, 12, 7), (2, 5, 12, 7)]
        assert ranges("past-end") == [(0, 18, 20, 2), (1, 18, 20, 2), (2, 18, 20, 2)]
        assert ranges("one-partition") == [(1, 0, 7, 7)]
        past = driver.get("past-end")
        assert past["status"]["plan"]["notes"] == [
            "partitions 0-2: the window ends after the last record: resolved to the end offset"
        ]
        dry = driver.get("by-offset")
        assert dry["status"]["phase"] == "Planned"
        assert dry["status"]["plan"]["records"] == 36
        topics = ReplayTopics.of(namespace, "by-offset", dry["metadata"]["uid"])
        assert dry["status"]["plan"]["sandboxTopic"] == topics.sandbox
        assert dry["status"]["plan"]["reportTopic"] == topics.report
        assert dry["status"]["plan"]["replayUid"] == dry["metadata"]["uid"]
        assert driver.condition(dry, "Planned")["status"] == "True"
        assert driver.condition(dry, "Reconciling")["status"] == "False"
        time.sleep(6)  # a timer tick later: still no Job for a dry run
        for name in ("by-offset", "by-time", "past-end", "one-partition"):
            assert driver.jobs(driver.get(name)) == []
        assert any(e["reason"] == "Planned" for e in driver.events(dry))


def stalled(driver: OperatorDriver, name: str) -> dict[str, Any]:
    return driver.wait_for(
        lambda: driver.condition(r := driver.get(name), "Stalled").get("status") == "True" and r, 60, f"{name} stalled"
    )


def test_impossible_plans_stall_with_the_reason_and_no_job(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"gone-{unique}"
    seed(kafka_admin, kafka_bootstrap, topic, int(time.time() * 1000) - 3600_000)
    # Raise the log start offset of partition 1 to 10, as retention would.
    futures = kafka_admin.delete_records([TopicPartition(topic, 1, 10)], operation_timeout=30)
    for future in futures.values():
        future.result()
    with driver.running():
        driver.create("expired", spec(topic, {"offsets": {"from": 5, "to": 15}}))
        driver.create("missing", spec(f"nope-{unique}", {"offsets": {"from": 0, "to": 5}}))
        bad_partition = spec(topic, {"offsets": {"from": 0, "to": 5}})
        bad_partition["source"]["partitions"] = ["2-4"]
        driver.create("no-partition", bad_partition)
        driver.create("empty", spec(topic, {"offsets": {"from": 50, "to": 60}}))
        expected = {
            "expired": ("RetentionExpired", "partition 1: start offset 5 is below the log start offset 10"),
            "missing": ("TopicNotFound", f"topic nope-{unique} does not exist"),
            "no-partition": ("PartitionOutOfRange", "partitions 3-4 do not exist"),
            "empty": ("EmptyWindow", "the window selects no record"),
        }
        for name, (reason, message) in expected.items():
            replay = stalled(driver, name)
            cond = driver.condition(replay, "Stalled")
            assert cond["reason"] == reason, (name, cond)
            assert message in cond["message"], (name, cond)
            assert driver.condition(replay, "Planned")["status"] == "False"
            assert driver.condition(replay, "Ready")["status"] == "False"
            assert replay["status"]["phase"] == "Stalled"
            assert "plan" not in replay["status"]
        time.sleep(6)
        for name in expected:
            replay = driver.get(name)
            assert driver.jobs(replay) == [], name
            assert any(e["reason"] == expected[name][0] and e["type"] == "Warning" for e in driver.events(replay))


def test_a_window_about_to_leave_retention_is_planned_with_a_warning(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"plan-retention-{unique}"
    # Records from 90 minutes ago on a topic keeping 2 hours: gone in ~30 min, inside the 1 h margin.
    base = int(time.time() * 1000) - 90 * 60_000
    create_topic(kafka_admin, topic, 1, config={"retention.ms": str(2 * 3600_000)})
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(10):
        producer.produce(topic, orjson.dumps({"event_id": f"e-{i}"}), partition=0, timestamp=base + i * STEP_MS)
    assert producer.flush(30) == 0
    window = {"timestamps": {"from": iso(base), "to": iso(base + 60_000)}}
    manifest = driver.manifest("soon-gone", spec(topic, window, dryRun=True))
    with driver.running():
        driver.apply(manifest)
        replay = planned(driver, "soon-gone")
        notes = [n for n in replay["status"]["plan"]["notes"] if n.startswith("retention risk")]
        assert len(notes) == 1 and notes[0].startswith(f"retention risk: {topic} keeps records 2h0m (retention.ms)")
        assert "retention risk: " in driver.condition(replay, "Planned")["message"]
        warned = driver.wait_for(
            lambda: [e for e in driver.events(driver.get("soon-gone")) if e["reason"] == "RetentionRisk"],
            30,
            "RetentionRisk event",
        )
        assert warned[0]["type"] == "Warning"
    # The CLI plans the same way and prints the note.
    shown = cli("plan", write_manifest(tmp_path, "soon-gone", manifest["spec"], namespace=namespace))
    assert shown.returncode == 0, shown.stderr
    assert f"note: retention risk: {topic} keeps records 2h0m" in shown.stdout
