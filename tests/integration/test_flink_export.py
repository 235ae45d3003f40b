"""The Flink hand-off, run: the SQL `eventreplay export flink-sql` prints for a windowed-aggregate
replay, executed by Flink 2.2 on a local MiniCluster (dev/flink/) against the local Kafka, gives the
same window results as the replay's combine Job (on data where both are deterministic: no repeated
ids, no late events; the SQL's comments say where they differ)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from datagen.orders import Record
from devstack import config
from support.aggregations import amount_aggregations
from support.cli_run import cli, write_manifest
from support.kafka_tools import create_topic, produce, read_topic
from support.operator_driver import OperatorDriver

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
BASE = 1_800_000_000_000


def _flink_classpath() -> str:
    done = subprocess.run([str(ROOT / "dev/flink/fetch.sh")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"dev/flink/fetch.sh failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip()


def test_the_exported_flink_job_gives_the_replays_window_results(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, sink = f"flink-{unique}", f"flink-out-{unique}"
    create_topic(kafka_admin, topic, 2)
    create_topic(kafka_admin, sink, 1)
    for p in range(2):
        events = [
            {"event_id": f"{p}-{i}", "at": BASE + i * 700 + p, "shop": f"s{(i * 7 + p) % 4}", "amount": i % 50}
            for i in range(400)
        ]
        produce(kafka_bootstrap, topic, [Record(None, orjson.dumps(e), "valid", e["event_id"]) for e in events], p)
    schema = {"type": "object", "properties": {"at": {"type": "integer"}, "amount": {"type": "integer"}}}
    spec = {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
        "window": {"offsets": {"from": 0, "to": 400}},
        "validation": {"jsonSchema": schema},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"flink-{unique}"},
        "sink": {"topic": sink},
        "transform": {
            "aggregate": {
                "eventTimeField": "at",
                "keyField": "shop",
                "windowSeconds": 60,
                "slideSeconds": 20,
                "aggregations": amount_aggregations(),
            }
        },
        "reconciliation": {"existingOffsets": [{"partition": 0, "from": 0, "to": 0}]},
        "promotion": {"policy": "Never"},
    }
    manifest = driver.manifest("hourly", spec)
    with driver.running():
        driver.apply(manifest)
        done = driver.wait_for_condition("hourly", "Reconciled", timeout=300)
    replayed = {
        r.key.decode(): orjson.loads(r.value)
        for _, r in read_topic(kafka_bootstrap, done["status"]["aggregation"]["resultsTopic"], 2)
    }
    assert len(replayed) > 50

    exported = cli("export", "flink-sql", write_manifest(tmp_path, "hourly", spec, namespace=namespace))
    assert exported.returncode == 0, exported.stderr
    script = tmp_path / "job.sql"
    script.write_text(exported.stdout)
    ran = subprocess.run(
        ["java", "-cp", _flink_classpath(), "RunSql", str(script)], capture_output=True, text=True, timeout=600
    )
    assert ran.returncode == 0, f"Flink job failed:\n{ran.stdout[-2000:]}\n{ran.stderr[-4000:]}"
    flink: dict[str, Any] = {}
    for _, r in read_topic(kafka_bootstrap, sink, 1):
        flink[r.key.decode()] = orjson.loads(r.value)  # upsert: the last value of a key is its result
    assert flink == replayed
