"""The `eventreplay` command against the real stack, local commands: plan, run (twice), resume, errors.

The cluster commands (status, watch, approve) are in test_cli_cluster.py.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from datagen.orders import MESSY, ORDER_SCHEMA, generate
from devstack import config
from eventreplay.worker.contract.names import ReplayTopics, checkpoint_key
from support.cli_run import CLI_NAMESPACE, cli, spec_for, write_manifest
from support.kafka_tools import create_topic, produce, read_partition, seed_partitions, watermarks
from support.oracle import replay

pytestmark = pytest.mark.stack


def test_plan_prints_exact_offsets_and_counts(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-plan-{unique}"
    base = (int(time.time()) - 3600) * 1000  # recent: retention must not delete the records
    seed_partitions(kafka_admin, kafka_bootstrap, topic, (500, 600, 300), timestamp_ms=range(base, 10**15, 1000))
    start, end = base + 100_000, base + 400_000
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))  # noqa: E731
    path = write_manifest(
        tmp_path, f"plan-{unique}", spec_for(topic, {"timestamps": {"from": iso(start), "to": iso(end)}})
    )

    done = cli("plan", path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("plan ") and f"topic {topic} (3 of 3 partitions) as of " in lines[0]
    assert lines[1:6] == [
        "PARTITION  START  END  COUNT",
        "        0    100  400    300",
        "        1    100  400    300",
        "        2    100  300    200",
        "    total                800",
    ]
    sandbox_line = next(line for line in lines if line.startswith("sandbox topic:"))
    # Named for a new local uid: eventreplay.<ns>.<name>.<short uid>.sandbox
    assert re.fullmatch(
        rf"sandbox topic: +eventreplay\.cli-tests\.plan-{unique}\.[0-9a-f]{{16}}\.sandbox", sandbox_line
    )
    assert "note: partitions 2: the window ends after the last record: resolved to the end offset" in lines

    as_json = cli("plan", path, "--output", "json")
    assert as_json.returncode == 0, as_json.stderr
    plan = json.loads(as_json.stdout)["plan"]
    assert [(p["partition"], p["startOffset"], p["endOffset"], p["records"]) for p in plan["partitions"]] == [
        (0, 100, 400, 300),
        (1, 100, 400, 300),
        (2, 100, 300, 200),
    ]
    assert plan["records"] == 800 and len(plan["hash"]) == 16 and plan["asOf"].endswith("Z")

    missing = cli(
        "plan", write_manifest(tmp_path, "missing", spec_for(f"nope-{unique}", {"offsets": {"from": 0, "to": 5}}))
    )
    assert missing.returncode == 3
    assert (
        missing.stderr == "eventreplay: plan refused (TopicNotFound): "
        f"topic nope-{unique} does not exist on {config.kafka_bootstrap()}\n"
    )
    empty = cli("plan", write_manifest(tmp_path, "empty", spec_for(topic, {"offsets": {"from": 900, "to": 999}})))
    assert empty.returncode == 3 and "(EmptyWindow)" in empty.stderr


def test_run_equals_the_seeded_truth_and_a_rerun_is_a_no_op(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-run-{unique}"
    create_topic(kafka_admin, topic, 3)
    seeded = {p: list(generate(n, seed=100 + p, mix=MESSY)) for p, n in enumerate((2000, 2500, 1500))}
    for p, records in seeded.items():
        produce(kafka_bootstrap, topic, records, partition=p)
    truth = {p: replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA) for p, records in seeded.items()}
    name = f"run-{unique}"
    spec = spec_for(topic, {"offsets": {"from": 0, "to": 1_000_000}}, worker={"parallelism": 2, "batchSize": 300})
    path = write_manifest(tmp_path, name, spec)

    first = cli("run", path, "--output", "json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["uid"].startswith("local-") and summary["failed"] == []
    totals = summary["totals"]
    assert totals["read"] == 6000
    assert totals["emitted"] == sum(len(t.emitted) for t in truth.values())
    assert totals["duplicate"] == sum(t.duplicate for t in truth.values())
    assert totals["processed"] == 0
    assert totals["deadLettered"] == sum(t.dead_lettered for t in truth.values())
    reasons: dict[str, int] = {}
    for t in truth.values():
        for reason, count in t.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert totals["deadLetterReasons"] == dict(sorted(reasons.items()))
    assert {p["partition"]: p["digest"] for p in summary["partitions"]} == {p: t.digest for p, t in truth.items()}
    sandbox = summary["sandboxTopic"]
    assert sandbox == ReplayTopics.of("cli-tests", name, summary["uid"]).sandbox
    for p, t in truth.items():
        assert [(r.key, r.value) for r in read_partition(kafka_bootstrap, sandbox, p)] == t.emitted
        assert len(read_partition(kafka_bootstrap, summary["deadLetterTopic"], p)) == t.dead_lettered
    before = watermarks(kafka_bootstrap, sandbox, 3)

    again = cli("run", path)  # text output this time: the same replay resumes and finds nothing to do
    assert again.returncode == 0, again.stderr
    assert f"resuming the frozen plan {summary['planHash']}" in again.stdout
    assert f"uid {summary['uid']}" in again.stdout
    for p, t in truth.items():
        assert f"  {p}: {t.digest}" in again.stdout
    assert "dead letters: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) in again.stdout
    assert watermarks(kafka_bootstrap, sandbox, 3) == before, "a re-run wrote nothing to the sandbox"

    # --fresh: a new local uid, hence new topics holding exactly the new run's output; the old ones untouched.
    fresh = cli("run", path, "--fresh", "--output", "json")
    assert fresh.returncode == 0, fresh.stderr
    renewed = json.loads(fresh.stdout)
    assert renewed["uid"] != summary["uid"] and renewed["sandboxTopic"] != sandbox
    assert renewed["sandboxTopic"] == ReplayTopics.of("cli-tests", name, renewed["uid"]).sandbox
    for p, t in truth.items():
        assert [(r.key, r.value) for r in read_partition(kafka_bootstrap, renewed["sandboxTopic"], p)] == t.emitted
    assert watermarks(kafka_bootstrap, sandbox, 3) == before


def test_an_interrupted_run_resumes_exactly_once(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-stop-{unique}"
    create_topic(kafka_admin, topic, 2)
    seeded = {p: list(generate(60_000, seed=200 + p, mix=MESSY)) for p in range(2)}
    for p, records in seeded.items():
        produce(kafka_bootstrap, topic, records, partition=p)
    truth = {p: replay(list(enumerate(r.value for r in records)), ORDER_SCHEMA) for p, records in seeded.items()}
    spec = spec_for(topic, {"offsets": {"from": 0, "to": 60_000}}, worker={"batchSize": 100})
    path = write_manifest(tmp_path, f"stop-{unique}", spec)

    proc = subprocess.Popen(
        [sys.executable, "-m", "eventreplay.cli", "run", path, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    uid = proc.stdout.readline().split(" uid ")[1].split(":")[0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # stop it once a transaction is committed, well before the end
        raw = redis_client.get(checkpoint_key(CLI_NAMESPACE, uid, 0))
        if raw and json.loads(raw)["committedOffset"] > 0:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no transaction committed within 120 s")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"re-run the same command to resume (uid {uid})" in err
    stopped = [
        json.loads(redis_client.get(checkpoint_key(CLI_NAMESPACE, uid, p)) or b'{"committedOffset": 0}')
        for p in range(2)
    ]
    assert stopped[0]["committedOffset"] > 0, "something was committed before the stop"
    assert any(s["committedOffset"] < 60_000 for s in stopped), "stopped before the end"

    resumed = cli("run", path, "--output", "json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["uid"] == uid
    for part in summary["partitions"]:
        expected = truth[part["partition"]]
        assert (part["emitted"], part["duplicate"], part["digest"]) == (
            len(expected.emitted),
            expected.duplicate,
            expected.digest,
        )
        got = read_partition(kafka_bootstrap, summary["sandboxTopic"], part["partition"])
        assert [(r.key, r.value) for r in got] == expected.emitted, "no duplicate, no loss across the stop"


def test_a_bad_manifest_names_the_field(tmp_path: Path) -> None:
    window = {"timestamps": {"from": "yesterday", "to": "2026-11-20T11:00:00Z"}}
    bad = cli("run", write_manifest(tmp_path, "bad", spec_for("t", window, worker={"parallelism": 0})))
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        f"eventreplay: manifest {tmp_path / 'bad.yaml'} is invalid:",
        "  spec.window.timestamps.from: 'yesterday' is not RFC 3339 with an explicit zone (e.g. 2026-11-20T10:00:00Z)",
        "  spec.worker.parallelism: Input should be greater than or equal to 1 (got 0)",
    ]


def test_unreachable_kafka_and_redis_give_one_line(tmp_path: Path, local_stack: Any) -> None:
    window = {"offsets": {"from": 0, "to": 5}}
    no_kafka = write_manifest(tmp_path, "nokafka", spec_for("t", window, bootstrap="127.0.0.1:1"))
    started = time.monotonic()
    done = cli("plan", no_kafka, "--timeout", "3")
    assert done.returncode == 5
    assert (
        done.stderr
        == "eventreplay: cannot reach Kafka at 127.0.0.1:1: Failed to get metadata: Local: Broker transport failure\n"
    )
    assert time.monotonic() - started < 30
    assert cli("run", no_kafka, "--timeout", "3").returncode == 5

    no_redis = spec_for("t", window)
    no_redis["dedup"]["redis"]["url"] = "redis://127.0.0.1:1/0"
    done = cli("run", write_manifest(tmp_path, "noredis", no_redis))
    assert done.returncode == 5
    assert done.stderr.startswith("eventreplay: cannot reach Redis at 127.0.0.1:1/0: ")
    assert len(done.stderr.splitlines()) == 1


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("eventreplay")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "exit codes:" in done.stdout and "EVENTREPLAY_REDIS_PASSWORD" in done.stdout
