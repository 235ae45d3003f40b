"""Build worker tasks and run the worker as a real process (as a Job would)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datagen.orders import ORDER_SCHEMA, Record
from devstack import config
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from eventreplay.worker.contract.tasks import Task
from support.plugins import register

REDIS_URL = config.redis_url()
TASK_NAMESPACE = "tests"
"""The namespace of every task these helpers build: the tenant of the Redis keys their workers write."""


def make_task(
    bootstrap: str,
    topic: str,
    uid: str,
    end: int,
    *,
    start: int = 0,
    partition: int = 0,
    schema: dict[str, Any] | None = None,
    mode: str = "withinReplay",
    ledger: str | None = None,
    sandbox: str | None = None,
    redis_url: str = REDIS_URL,
    sink: dict[str, Any] | None = None,
    **tuning: Any,
) -> Task:
    return Task.model_validate(
        {
            "replay": {"namespace": TASK_NAMESPACE, "name": f"r-{uid}", "uid": uid},
            "kafka": {"bootstrapServers": bootstrap},
            "source": {"topic": topic, "partition": partition, "startOffset": start, "endOffset": end},
            "asOf": "2026-11-21T00:00:00Z",
            "validation": {"jsonSchema": schema} if schema else {},
            "dedup": {"redisUrl": redis_url, "ledger": ledger or f"l-{uid}", "mode": mode},
            "output": {
                "sandboxTopic": sandbox or f"{topic}-sb-{uid}",
                "deadLetterTopic": f"{topic}-dlq-{uid}",
            },
            "sink": sink or {},
            "tuning": tuning,
        }
    )


def orders_task(bootstrap: str, topic: str, uid: str, records: Sequence[Record], **tuning: Any) -> Task:
    """The task replaying every record of partition 0 with the orders schema."""
    return make_task(bootstrap, topic, uid, len(records), schema=ORDER_SCHEMA, **tuning)


def worker_env(task: Task) -> dict[str, str]:
    return {**os.environ, "EVENTREPLAY_TASK": task.to_json()}


def user_code_env(task: Task, directory: Path) -> dict[str, str]:
    """The worker's env with `directory` first on its PYTHONPATH, and the task's transform and model
    (user code a test wrote there) registered in it as an installed plugin would register them."""
    transform = task.transform.function
    register(
        directory,
        transforms=[transform] if ":" in transform else [],
        models=[task.validation.model] if task.validation.model else [],
    )
    path = [str(directory), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**worker_env(task), "PYTHONPATH": os.pathsep.join(path)}


def run_worker(task: Task, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventreplay.worker", "run"],
        env=env or worker_env(task),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_worker(task: Task, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eventreplay.worker", "run"],
        env=env or worker_env(task),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def mirrored_checkpoint(redis_client: Any, uid: str) -> Checkpoint | None:
    """Partition 0's progress mirror in Redis; None before its first commit."""
    raw = redis_client.get(checkpoint_key(TASK_NAMESPACE, uid, 0))
    return None if raw is None else Checkpoint.from_json(raw)


def committed_progress(redis_client: Any, uid: str) -> int:
    """The committed offset partition 0's mirror shows; -1 before its first commit."""
    mirror = mirrored_checkpoint(redis_client, uid)
    return -1 if mirror is None else mirror.committed_offset
