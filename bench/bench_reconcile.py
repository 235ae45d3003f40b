"""Reconciliation at scale: wall time, peak RSS of the Job process and Redis bytes per id.

Seeds a sandbox (3 partitions) and a destination window (3 partitions, 10% of ids changed,
10% missing, 2% extra) with N ids each, runs `python -m eventreplay.worker reconcile` as a
process and samples its peak RSS (VmHWM). Run at two sizes to see RSS stay flat:

    .venv/bin/python bench/bench_reconcile.py --ids 100000 --ids 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from eventreplay.worker.contract.headers import REPLAY_UID_HEADER
from eventreplay.worker.contract.names import report_key, spill_route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
from devstack import config

BOOTSTRAP = config.kafka_bootstrap()
REDIS_URL = config.redis_url()


def _produce(topic: str, rows: list[tuple[int, bytes, bytes]], headers: list[tuple[str, bytes]] | None = None) -> None:
    producer = Producer(
        {"bootstrap.servers": BOOTSTRAP, "linger.ms": 50, "batch.size": 1_000_000, "compression.type": "lz4"}
    )
    for i, (partition, key, value) in enumerate(rows):
        while True:
            try:
                producer.produce(topic, value, key, partition, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0


def seed(ids: int, tag: str) -> tuple[str, str]:
    sandbox, dest = f"bench-rc-sb-{tag}", f"bench-rc-dst-{tag}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(sandbox, 3, 1), NewTopic(dest, 3, 1)]).values():
        f.result()
    rng = random.Random(ids)
    sb_rows, dst_rows = [], []
    for i in range(ids):
        event_id = f"{uuid.UUID(int=rng.getrandbits(128))}"
        doc = {"event_id": event_id, "amount": i % 1000, "currency": "EUR", "pad": "x" * 220}
        value = orjson.dumps(doc)
        sb_rows.append((i % 3, event_id.encode(), value))
        roll = rng.random()
        if roll < 0.1:
            continue  # missing
        if roll < 0.2:
            doc["amount"] += 1  # changed
        dst_rows.append((i % 3, event_id.encode(), orjson.dumps(doc)))
    for i in range(ids // 50):
        dst_rows.append((i % 3, f"extra-{i}".encode(), b'{"extra": true}'))
    _produce(sandbox, sb_rows, [(REPLAY_UID_HEADER, f"bench-{tag}".encode())])  # as replay workers write it
    _produce(dest, dst_rows)
    return sandbox, dest


def run(ids: int) -> None:
    tag = uuid.uuid4().hex[:8]
    t0 = time.monotonic()
    sandbox, dest = seed(ids, tag)
    seeded = time.monotonic() - t0
    task = {
        "replay": {"namespace": "bench", "name": "rc", "uid": f"bench-{tag}"},
        "kafka": {"bootstrapServers": BOOTSTRAP},
        "sandboxTopic": sandbox,
        "existing": {
            "topic": dest,
            "timestamps": {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "slackSeconds": 0},
        },
        "report": {"topic": f"bench-rc-report-{tag}", "redis": {"redisUrl": REDIS_URL, "ttlSeconds": 3600}},
    }
    client = redis.Redis.from_url(REDIS_URL)
    before = int(client.info("memory")["used_memory"])
    env = {**os.environ, "EVENTREPLAY_RECONCILE_TASK": orjson.dumps(task).decode(), "EVENTREPLAY_LOG_LEVEL": "WARNING"}
    t1 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventreplay.worker", "reconcile"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_kb = 0
    while proc.poll() is None:
        # VmHWM of the child itself (ru_maxrss of children would count the fork before exec).
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        time.sleep(0.2)
    out, err = proc.communicate()
    wall = time.monotonic() - t1
    assert proc.returncode == 0, err
    after = int(client.info("memory")["used_memory"])
    rss_mb = peak_kb / 1024
    counts = orjson.loads(out)["report"]["counts"]
    print(
        f"ids={ids:>9,} seed={seeded:6.1f}s reconcile={wall:6.1f}s ({ids / wall:,.0f} ids/s) "
        f"peak_rss={rss_mb:6.1f}MB redis_kept={(after - before) / ids:5.1f}B/id "
        f"counts=unchanged:{counts['unchanged']} changed:{counts['changed']} missing:{counts['missing']} "
        f"extra:{counts['extra']}"
    )
    cleanup(tag)


def cleanup(tag: str) -> None:
    """Drop what one run made: its Redis working set and report, its topics."""
    client = redis.Redis.from_url(REDIS_URL)
    uid = f"bench-{tag}"
    keys = [*client.scan_iter(match=f"{spill_route('bench', uid)}:*", count=5000), report_key("bench", uid)]
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.delete_topics([f"bench-rc-sb-{tag}", f"bench-rc-dst-{tag}", f"bench-rc-report-{tag}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, action="append", help="ids per side (repeatable)")
    for ids in parser.parse_args().ids or [100_000]:
        run(ids)


if __name__ == "__main__":
    main()
