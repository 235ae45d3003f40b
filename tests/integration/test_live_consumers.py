"""A replay never touches the source's live consumer groups: while `eventreplay run` replays the
topic, a real group keeps its members (no rebalance), its committed offsets and its lag."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition

from eventreplay.worker.contract.names import replay_group_id
from support.cli_run import cli, spec_for, write_manifest
from support.kafka_tools import seed_partitions

pytestmark = pytest.mark.stack

PARTITIONS = 3


class LiveMember(threading.Thread):
    """One member of the live group: joins, commits once at `commit_at` records per partition, then
    keeps polling (so it stays a member) without committing again."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000,
                "partition.assignment.strategy": "range",
            }
        )
        self.topic, self.assignments, self.stop, self.ready = topic, 0, threading.Event(), threading.Event()
        self.error: Exception | None = None

    def _assigned(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        self.assignments += 1

    def run(self) -> None:
        try:
            self.consumer.subscribe([self.topic], on_assign=self._assigned)
            while not self.stop.is_set():
                msg = self.consumer.poll(0.2)
                if msg is not None and msg.error() is None and not self.ready.is_set() and msg.offset() == 99:
                    # The live position: offset 100 of this partition, committed once.
                    self.consumer.commit(offsets=[TopicPartition(self.topic, msg.partition(), 100)], asynchronous=False)
                if self.consumer.assignment():
                    committed = self.consumer.committed(self.consumer.assignment(), timeout=10)
                    if all(tp.offset == 100 for tp in committed):
                        self.ready.set()
        except Exception as err:  # noqa: BLE001 - reported by the test
            self.error = err
        finally:
            self.consumer.close()


def _group_state(admin: Any, group: str) -> tuple[str, list[tuple[str, list[int]]]]:
    described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    members = sorted(
        (m.member_id, sorted(tp.partition for tp in m.assignment.topic_partitions)) for m in described.members
    )
    return str(described.state), members


def _committed(admin: Any, group: str, topic: str) -> dict[int, int]:
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(PARTITIONS)])]
    answer = admin.list_consumer_group_offsets(request, request_timeout=10)[group].result()
    return {tp.partition: tp.offset for tp in answer.topic_partitions}


def test_a_replay_leaves_live_consumer_groups_untouched(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, group = f"live-{unique}", f"live-consumers-{unique}"
    seed_partitions(kafka_admin, kafka_bootstrap, topic, [3000] * PARTITIONS)
    members = [LiveMember(kafka_bootstrap, group, topic) for _ in range(2)]
    for member in members:
        member.start()
    deadline = time.monotonic() + 90
    while not all(m.ready.is_set() for m in members) and time.monotonic() < deadline:
        assert all(m.error is None for m in members), [m.error for m in members]
        time.sleep(0.2)
    assert all(m.ready.is_set() for m in members), "the live group never settled"
    time.sleep(1)
    state_before, members_before = _group_state(kafka_admin, group)
    assert state_before.endswith("STABLE") and len(members_before) == 2
    assert _committed(kafka_admin, group, topic) == dict.fromkeys(range(PARTITIONS), 100)
    assignments_before = [m.assignments for m in members]

    spec = spec_for(topic, {"offsets": {"from": 0, "to": 3000}}, worker={"parallelism": 3, "batchSize": 500})
    done = cli("run", write_manifest(tmp_path, f"live-{unique}", spec), "-o", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["totals"]["read"] == 3 * 3000

    # The live group: same members, no rebalance, same committed offsets.
    assert _group_state(kafka_admin, group) == (state_before, members_before)
    assert [m.assignments for m in members] == assignments_before
    assert _committed(kafka_admin, group, topic) == dict.fromkeys(range(PARTITIONS), 100)
    # The replay used its own group only, and it committed the range end of every partition.
    assert _committed(kafka_admin, replay_group_id(summary["uid"]), topic) == dict.fromkeys(range(PARTITIONS), 3000)
    for member in members:
        member.stop.set()
    for member in members:
        member.join(timeout=30)
        assert member.error is None
