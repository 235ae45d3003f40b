"""The operator process's log and Events (issue #28): every message printed once, JSON lines with
`--log-format json`, and Events posted by `eventreplay-operator` (not kopf)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from support.kafka_tools import seed_partitions
from support.operator_driver import OperatorDriver
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack
# Logged once per operator process (kopf's start-up activities) and once per replay (its creation).
ONCE = ("Initial authentication has been initiated.", "Activity 'configure' succeeded.", "Creation is processed:")


def dry_run(topic: str) -> dict[str, Any]:
    window = {"offsets": {"from": 0, "to": 5}}
    return stack_replay(topic, ledger=f"logs-{topic}", sink_topic=f"{topic}-out", window=window, dryRun=True)


def planned_with_event(driver: OperatorDriver, name: str) -> dict[str, Any]:
    """The replay once planned and its Planned Event posted (Events follow the status write)."""
    replay = driver.wait_for_condition(name, "Planned", timeout=60)
    driver.wait_for_event(replay, "Planned")
    return replay


def occurrences(log: str, fragment: str) -> int:
    return sum(fragment in line for line in log.splitlines())


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_each_message_is_printed_once_and_events_come_from_the_operator(
    driver: OperatorDriver, log_format: str, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"logs-{log_format}-{unique}"
    seed_partitions(kafka_admin, kafka_bootstrap, topic, (10,))
    with driver.running(args=("--log-format", log_format)) as op:
        driver.create("logged", dry_run(topic))
        replay = planned_with_event(driver, "logged")
        for event in driver.events(replay):
            assert event["source"]["component"] == "eventreplay-operator", event
            assert event["reportingComponent"] == "eventreplay-operator", event
            assert event["metadata"]["name"].startswith("eventreplay-"), event
    log = op.log_path.read_text()
    counts = {fragment: occurrences(log, fragment) for fragment in ONCE}
    assert counts == dict.fromkeys(ONCE, 1), f"{counts}\n{op.log()}"
    if log_format == "json":
        lines = [line for line in log.splitlines() if line.strip()]
        stray = [line for line in lines if not line.startswith("{")]
        assert not stray, f"lines that are not JSON: {stray[:5]}"
        records = [orjson.loads(line) for line in lines]
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
        created = [r for r in records if r["message"].startswith("Creation is processed:")]
        assert [(r["namespace"], r["name"]) for r in created] == [(driver.namespace, "logged")]
        # Every record is one line: no message of the run appears in two lines.
        repeated = [m for m, n in Counter((r["time"], r["logger"], r["message"]) for r in records).items() if n > 1]
        assert not repeated, repeated
