"""A seeded reconciliation scenario with a known truth, and the reconcile/promote Job runners.

Source: 3 partitions of order events (datagen, with dups/conflicts/dead letters), plus events
copied into a second partition (cross-partition duplicates, one with other content: the lowest
partition's copy must win). The replay worker fills the sandbox. The destination (4 partitions,
keyed by event id with the Java-compatible murmur2 partitioner) holds what a faulty processor
wrote: inside the window, per truth id, correct (re-serialized with another key order),
missed, wrong, wrong-then-right, or right-then-wrong; extra ids the replay does not produce;
records without a key; and, before the window, old records that must not be counted.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Producer

from datagen.orders import ORDER_SCHEMA, Mix, generate
from devstack import config
from eventreplay.worker.contract.step_tasks import PromoteTask, ReconcileTask
from support.kafka_tools import create_topic, produce, read_topic, watermarks
from support.oracle import replay
from support.worker_run import REDIS_URL, TASK_NAMESPACE, make_task, start_worker

SOURCE_PARTITIONS = 3
DEST_PARTITIONS = 4
SLACK = 600


@dataclass
class Scenario:
    uid: str
    source: str
    sandbox: str
    destination: str
    from_ms: int
    to_ms: int
    truth: dict[str, bytes] = field(default_factory=dict)
    fate: dict[str, str] = field(default_factory=dict)
    expected: Counter[str] = field(default_factory=Counter)
    extra: set[str] = field(default_factory=set)
    """Ids only the existing output holds inside the window (the replay never produces them)."""

    @property
    def delta(self) -> set[str]:
        return {i for i, f in self.fate.items() if f in ("missed", "wrong", "right_then_wrong")}


def _wrong(value: bytes) -> bytes:
    doc = orjson.loads(value)
    doc["amount"] = round(float(doc["amount"]) + 1.25, 2)
    return orjson.dumps(doc)


def _reordered(value: bytes) -> bytes:
    """The same JSON with keys in reverse order and spaces: canonically equal, bytes differ."""
    doc = orjson.loads(value)
    return b"{" + b", ".join(orjson.dumps(k) + b": " + orjson.dumps(doc[k]) for k in reversed(doc)) + b"}"


def _fill_sandbox(
    bootstrap: str, admin: Any, sc: Scenario, per_partition: int, seed: int, *, run_workers: bool
) -> Counter[str]:
    """Seed the source and the truth; with `run_workers`, replay it into the sandbox here (else the
    operator's Jobs will)."""
    create_topic(admin, sc.source, SOURCE_PARTITIONS)
    if run_workers:
        # Created up front: parallel workers racing to create it can see "exists" before its metadata.
        create_topic(admin, sc.sandbox, SOURCE_PARTITIONS)
    parts = [list(generate(per_partition, seed=seed + p, mix=Mix(conflict=0.0))) for p in range(SOURCE_PARTITIONS)]
    ok0 = [r for r in parts[0] if r.kind == "ok"]
    parts[2].extend(ok0[:40])  # identical copies in a higher partition: partition 0 wins
    changed = [r.__class__(r.key, _wrong(r.value or b""), "ok", r.event_id) for r in ok0[40:50]]
    parts[1].extend(changed)  # other content in a higher partition: partition 0's copy still wins
    emitted = 0
    for p, records in enumerate(parts):
        produce(bootstrap, sc.source, records, partition=p)
        truth = replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA)
        emitted += len(truth.emitted)
        for key, value in truth.emitted:
            sc.truth.setdefault(key.decode(), value)
    procs = (
        []
        if not run_workers
        else [
            start_worker(
                make_task(
                    bootstrap, sc.source, sc.uid, len(records), partition=p, schema=ORDER_SCHEMA, sandbox=sc.sandbox
                )
            )
            for p, records in enumerate(parts)
        ]
    )
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return Counter(replayedRecords=emitted, duplicates=emitted - len(sc.truth))


def replayed_again(bootstrap: str, admin: Any, sc: Scenario, ranges: list[tuple[int, int]] | None = None) -> Scenario:
    """Another replay of the source into the same sink: a new uid, and its own sandbox filled by its
    own workers (reconcile and promote read only records carrying their uid). `ranges` gives its
    [start, end) offsets per source partition (default: the whole of each)."""
    uid = unique_id()
    other = dataclasses.replace(sc, uid=uid, sandbox=f"{sc.sandbox}-{uid}")
    create_topic(admin, other.sandbox, SOURCE_PARTITIONS)
    spans = ranges or [(0, high) for _low, high in watermarks(bootstrap, sc.source, SOURCE_PARTITIONS)]
    procs = [
        start_worker(
            make_task(
                bootstrap, sc.source, uid, end, start=start, partition=p, schema=ORDER_SCHEMA, sandbox=other.sandbox
            )
        )
        for p, (start, end) in enumerate(spans)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return other


def build(
    bootstrap: str, admin: Any, unique: str, per_partition: int = 4000, seed: int = 11, *, run_workers: bool = True
) -> Scenario:
    now_ms = int(time.time() * 1000)
    sc = Scenario(
        uid=unique,
        source=f"rc-src-{unique}",
        sandbox=f"rc-src-{unique}-sb",
        destination=f"rc-dst-{unique}",
        from_ms=now_ms - 3 * 3600_000,
        to_ms=now_ms - 2 * 3600_000,
    )
    sc.expected.update(_fill_sandbox(bootstrap, admin, sc, per_partition, seed, run_workers=run_workers))
    create_topic(admin, sc.destination, DEST_PARTITIONS)
    rng = random.Random(seed)
    fates = ["correct"] * 50 + ["missed"] * 15 + ["wrong"] * 15 + ["wrong_then_right"] * 10 + ["right_then_wrong"] * 10
    before: list[tuple[bytes | None, bytes]] = []
    groups: list[list[tuple[bytes | None, bytes]]] = []  # one id's records stay in write order
    for event_id in sorted(sc.truth):
        fate = rng.choice(fates)
        sc.fate[event_id] = fate
        key, right = event_id.encode(), sc.truth[event_id]
        writes = {
            "correct": [_reordered(right)],
            "missed": [],
            "wrong": [_wrong(right)],
            "wrong_then_right": [_wrong(right), right],
            "right_then_wrong": [right, _wrong(right)],
        }[fate]
        groups.append([(key, v) for v in writes])
        if fate == "missed" and rng.random() < 0.3:
            before.append((key, right))  # an old copy outside the window: still missing
    sc.extra = {f"extra-{i:04d}" for i in range(150)}
    for i in range(150):
        groups.append([(f"extra-{i:04d}".encode(), orjson.dumps({"event_id": f"extra-{i:04d}", "amount": i}))])
        before.append((f"old-{i:04d}".encode(), b'{"old": true}'))
    groups.extend([(None, b'{"no": "key"}')] for _ in range(7))
    rng.shuffle(groups)
    inside = [rec for group in groups for rec in group]
    _produce_sink(bootstrap, sc.destination, before, sc.from_ms - 3600_000)
    _produce_sink(bootstrap, sc.destination, inside, sc.from_ms + 1000)
    fate_count = Counter(sc.fate.values())
    sc.expected.update(
        unchanged=fate_count["correct"] + fate_count["wrong_then_right"],
        changed=fate_count["wrong"] + fate_count["right_then_wrong"],
        missing=fate_count["missed"],
        extra=len(sc.extra),
        unidentified=7,
        superseded=fate_count["wrong_then_right"] + fate_count["right_then_wrong"],
        replayedIds=len(sc.truth),
        existingRecords=sum(1 for k, _ in inside if k is not None),
    )
    sc.expected["existingIds"] = sc.expected["unchanged"] + sc.expected["changed"] + 150
    return sc


def _produce_sink(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]], start_ms: int) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 20, "enable.idempotence": True}
    )
    for i, (key, value) in enumerate(records):
        producer.produce(topic, value, key, timestamp=start_ms + i)
        if i % 5000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def production_rewrites(bootstrap: str, sc: Scenario, ids: list[str]) -> dict[str, bytes]:
    """New values for `ids` written into the destination as production would after the report: keyed
    by id, the Java client's partitioner, no `er-*` header. The values by id."""
    values = {i: orjson.dumps({"event_id": i, "amount": -1, "by": "production, after the report"}) for i in ids}
    _produce_sink(bootstrap, sc.destination, [(i.encode(), v) for i, v in values.items()], int(time.time() * 1000))
    return values


def reconcile_task(sc: Scenario, **existing: Any) -> ReconcileTask:
    window = existing or {"timestamps": {"from": sc.from_ms / 1000, "to": sc.to_ms / 1000, "slackSeconds": SLACK}}
    return ReconcileTask.model_validate(
        {
            "replay": {"namespace": TASK_NAMESPACE, "name": f"r-{sc.uid}", "uid": sc.uid},
            "kafka": {"bootstrapServers": config.kafka_bootstrap()},
            "sandboxTopic": sc.sandbox,
            "existing": {"topic": sc.destination, **window},
            "report": {"topic": f"rc-report-{sc.uid}", "redis": {"redisUrl": REDIS_URL, "ttlSeconds": 3600}},
        }
    )


def promote_task(sc: Scenario, report_hash: str, **tuning: Any) -> PromoteTask:
    return PromoteTask.model_validate(
        {
            "replay": {"namespace": TASK_NAMESPACE, "name": f"r-{sc.uid}", "uid": sc.uid},
            "kafka": {"bootstrapServers": config.kafka_bootstrap()},
            "reportHash": report_hash,
            "destinationTopic": sc.destination,
            "redis": {"redisUrl": REDIS_URL, "ttlSeconds": 3600},
            "tuning": tuning,
        }
    )


def _cmd(task: ReconcileTask | PromoteTask) -> tuple[list[str], dict[str, str]]:
    name, env = (
        ("reconcile", "EVENTREPLAY_RECONCILE_TASK")
        if isinstance(task, ReconcileTask)
        else ("promote", "EVENTREPLAY_PROMOTE_TASK")
    )
    return [sys.executable, "-m", "eventreplay.worker", name], {**os.environ, env: task.to_json()}


def run_job(task: ReconcileTask | PromoteTask, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd, env = _cmd(task)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def start_job(task: ReconcileTask | PromoteTask, **extra_env: str) -> subprocess.Popen[str]:
    cmd, env = _cmd(task)
    return subprocess.Popen(cmd, env={**env, **extra_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def last_per_id(bootstrap: str, topic: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for _, rec in read_topic(bootstrap, topic, DEST_PARTITIONS):
        if rec.key is not None and rec.value is not None:
            out[rec.key.decode()] = rec.value
    return out


def unique_id() -> str:
    return uuid.uuid4().hex[:10]
