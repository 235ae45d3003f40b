"""CPU seconds spent by each party of a run: a process (and its threads), Redis, the broker.

On a machine that runs the worker, Redis and the broker, their CPU per event (not the wall
time, which the other tenants of a shared machine stretch) is the figure to compare.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis

TICK = os.sysconf("SC_CLK_TCK")
STACK_DIR = Path(os.environ.get("EVENTREPLAY_STACK_DIR") or Path(__file__).resolve().parent.parent / ".stack")
KAFKA_PID = STACK_DIR / "run" / "kafka.pid"


def cpu_seconds(stat: Path) -> float:
    """User + system CPU of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def services_cpu(redis_url: str) -> dict[str, float]:
    """CPU seconds so far of redis-server and, when the local stack runs it, the Kafka broker."""
    out: dict[str, float] = {}
    redis_pid = redis.Redis.from_url(redis_url).info("server")["process_id"]
    out["redis-server"] = cpu_seconds(Path(f"/proc/{redis_pid}/stat"))
    if KAFKA_PID.exists():
        out["kafka broker"] = cpu_seconds(Path(f"/proc/{KAFKA_PID.read_text().strip()}/stat"))
    return out
