"""A replay interrupted by a fault on the real stack, and what it is compared with: an undisturbed
run of the same range (digest, counts, sandbox and dead-letter bytes).

A slow user transform keeps the replay running long enough (~12 s) to be interrupted after its
first commit. Faults: a component stopped and started (`bounce`), SIGKILLed and restarted
(`crash`), or Redis flushed (`flush_redis`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from datagen.orders import MESSY, ORDER_SCHEMA
from devstack import stack
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key, replay_group_id
from eventreplay.worker.contract.tasks import Task
from support.fault_log import FAILED_LOUDLY, IDENTICAL, lost_and_doubled, record
from support.kafka_tools import read_partition, seed_orders
from support.worker_run import TASK_NAMESPACE, make_task, mirrored_checkpoint, run_worker, start_worker, user_code_env

RECORDS = 6000
SLOW_TRANSFORM = """
import time


def slow(doc):
    time.sleep(0.002)  # ~12 s for the range: time to stop and start a component mid-replay
    return doc
"""

Outputs = tuple[list[Any], list[Any]]


def slow_task(bootstrap: str, topic: str, uid: str) -> Task:
    task = make_task(bootstrap, topic, uid, RECORDS, schema=ORDER_SCHEMA, batch_size=200, transaction_max_records=500)
    return task.model_copy(update={"transform": task.transform.model_copy(update={"function": "slow_code:slow"})})


def outputs(bootstrap: str, task: Task) -> Outputs:
    """(key, value, source offset, reason) of every committed sandbox and dead-letter record."""

    def records(topic: str) -> list[Any]:
        read = read_partition(bootstrap, topic)
        return [(r.key, r.value, r.headers.get("er-source-offset"), r.headers.get("er-reason")) for r in read]

    return records(task.output.sandbox_topic), records(task.output.dead_letter_topic)


def below(out: Outputs, offset: int) -> Outputs:
    """The part of a run's outputs that comes from source offsets below `offset`."""
    sandbox, dead = out
    return [r for r in sandbox if int(r[2]) < offset], [r for r in dead if int(r[2]) < offset]


def judge(fault: str, returncode: int, got: Outputs, clean: CleanRun, committed: int) -> str:
    """Record and return the outcome: `identical` (done, the undisturbed run's output), `failed
    loudly` (non-zero exit, the undisturbed output up to the committed offset) or `output differs`."""
    expected = clean.outputs if returncode == 0 else below(clean.outputs, committed)
    lost, doubled = lost_and_doubled(_tagged(expected), _tagged(got))
    outcome = "output differs" if got != expected else IDENTICAL if returncode == 0 else FAILED_LOUDLY
    record(fault, outcome, lost, doubled)
    return outcome


def _tagged(out: Outputs) -> list[Any]:
    sandbox, dead = out
    return [("sandbox", *r) for r in sandbox] + [("dead-letter", *r) for r in dead]


def counts(ckpt: Checkpoint) -> tuple[Any, ...]:
    return (ckpt.state, ckpt.committed_offset, ckpt.emitted, ckpt.duplicate, ckpt.dead_lettered, ckpt.reasons)


@dataclass(frozen=True)
class CleanRun:
    """The seeded source topic and an undisturbed replay of it (read before any fault)."""

    topic: str
    checkpoint: Checkpoint
    outputs: Outputs


def clean_run(kafka_admin: AdminClient, bootstrap: str, redis_client: Any, unique: str, tmp_path: Path) -> CleanRun:
    (tmp_path / "slow_code.py").write_text(SLOW_TRANSFORM)
    topic = f"outage-{unique}"
    seed_orders(kafka_admin, bootstrap, topic, RECORDS, seed=3, mix=MESSY)
    clean = slow_task(bootstrap, topic, f"{unique}c")
    done = run_worker(clean, timeout=300, env=user_code_env(clean, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(clean.replay.namespace, clean.replay.uid, 0)))
    return CleanRun(topic, ckpt, outputs(bootstrap, clean))


def start_slow(task: Task, tmp_path: Path) -> subprocess.Popen[str]:
    return start_worker(task, env=user_code_env(task, tmp_path))


def wait_committed(redis_client: Any, uid: str, proc: subprocess.Popen[str]) -> None:
    """Until the worker's first transaction is committed (its mirror shows it), mid-range."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = redis_client.get(checkpoint_key(TASK_NAMESPACE, uid, 0))
        if raw and 0 < Checkpoint.from_json(raw).committed_offset < RECORDS:
            return
        assert proc.poll() is None, "the replay ended before the outage"
        time.sleep(0.1)
    raise AssertionError("no transaction committed within 60 s")


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> str:
    """The worker's stderr once it exited (killed if it outlives `timeout`)."""
    try:
        _, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return stderr


def committed_offset(kafka_admin: AdminClient, task: Task) -> int:
    """The replay group's committed source offset (Kafka's truth; -1001 when none)."""
    group = replay_group_id(task.replay.uid)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(task.source.topic, task.source.partition)])
    result = kafka_admin.list_consumer_group_offsets([request])[group].result()
    return int(result.topic_partitions[0].offset)


@dataclass(frozen=True)
class FaultyRun:
    """A replay of the clean run's range that suffered a fault, judged (`judge`) and recorded."""

    clean: CleanRun
    returncode: int
    stderr: str
    outcome: str
    committed: int
    """The replay group's committed source offset once the worker exited."""
    mirror: Checkpoint | None


# replay_through with the test's Kafka, Redis, uid and folder bound: (fault, outage) -> FaultyRun.
FaultReplay = Callable[[str, Callable[[], None]], "FaultyRun"]


def replay_through(
    fault: str,
    outage: Callable[[], None],
    kafka_admin: AdminClient,
    bootstrap: str,
    redis_client: Any,
    *,
    unique: str,
    tmp_path: Path,
) -> FaultyRun:
    """An undisturbed run, then the same range replayed again with `outage()` after its first commit."""
    clean = clean_run(kafka_admin, bootstrap, redis_client, unique, tmp_path)
    task = slow_task(bootstrap, clean.topic, unique)
    proc = start_slow(task, tmp_path)
    wait_committed(redis_client, unique, proc)
    outage()
    stderr = finish(proc)
    returncode = proc.returncode if proc.returncode is not None else -1
    committed = committed_offset(kafka_admin, task)
    outcome = judge(fault, returncode, outputs(bootstrap, task), clean, committed)
    mirror = mirrored_checkpoint(redis_client, unique)
    return FaultyRun(clean, returncode, stderr, outcome, committed, mirror)


def bounce(component: str, seconds: float) -> Callable[[], None]:
    """Stop a stack component (SIGTERM: a clean shutdown), wait, start it again."""

    def outage() -> None:
        stack.down([component], verbose=False)
        time.sleep(seconds)
        stack.up([component], verbose=False)

    return outage


def crash(component: str, seconds: float) -> Callable[[], None]:
    """SIGKILL a stack component (Redis: its AOF is fsynced every second, so it may come back
    without its last writes), wait, start it again."""

    def outage() -> None:
        comp = {c.name: c for c in stack.components()}[component]
        pid = comp.pid()
        assert pid is not None, f"{component} is not running"
        os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        time.sleep(seconds)
        stack.up([component], verbose=False)

    return outage


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if this process started it
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def flush_redis(redis_client: Any) -> Callable[[], None]:
    def outage() -> None:
        redis_client.flushall()

    return outage
