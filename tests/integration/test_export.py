"""`eventreplay export flink-sql` against the real broker: the exported job reads exactly the
offsets the replay would (planned from Kafka), and a per-event replay has nothing to export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support.cli_run import cli, spec_for, write_manifest
from support.kafka_tools import seed_partitions

pytestmark = pytest.mark.stack


def test_export_flink_sql_uses_the_planned_offsets(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"export-{unique}"
    seed_partitions(kafka_admin, kafka_bootstrap, topic, (40, 25))
    aggregate = {"eventTimeField": "ts", "windowSeconds": 60, "aggregations": [{"name": "n", "function": "count"}]}
    spec = spec_for(topic, {"offsets": {"from": 5, "to": 1000}}, transform={"aggregate": aggregate})
    done = cli("export", "flink-sql", write_manifest(tmp_path, f"export-{unique}", spec))
    assert done.returncode == 0, done.stderr
    assert "'scan.startup.specific-offsets' = 'partition:0,offset:5;partition:1,offset:5'" in done.stdout
    assert "'scan.bounded.specific-offsets' = 'partition:0,offset:40;partition:1,offset:25'" in done.stdout
    # Into the replay's results topic (named for the plan's uid), as the combine Job writes, not the sink.
    results = rf"'topic' = 'eventreplay\.cli-tests\.export-{unique}\.[0-9a-f]{{16}}\.results'"
    assert re.search(results, done.stdout) and "INSERT INTO replay_results" in done.stdout

    plain = cli(
        "export", "flink-sql", write_manifest(tmp_path, "plain", spec_for(topic, {"offsets": {"from": 0, "to": 9}}))
    )
    assert plain.returncode == 1
    assert plain.stderr == (
        "eventreplay: export flink-sql: spec.transform.aggregate is not set (only windowed recompute exports)\n"
    )
