"""The `eventreplay` command against the real stack: plan, run (twice), errors, status/watch/approve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from operator_helpers import create_replay, replay_manifest

from datagen.orders import ORDER_SCHEMA, Mix, generate
from devstack import config
from eventreplay.operator.api_status import (
    Condition,
    EventReplayStatus,
    PartitionProgress,
    Plan,
    PlanPartition,
    Progress,
    ReconciliationStatus,
    Totals,
)
from eventreplay.operator.kube import Kube
from support.kafka_tools import create_topic, produce, read_partition, watermarks
from support.oracle import replay

pytestmark = pytest.mark.stack

REDIS_URL = "redis://127.0.0.1:16379/0"
MIX = Mix(dup=0.05, conflict=0.01, malformed=0.01, schema=0.01, missing_id=0.01, tombstone=0.01)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventreplay.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_manifest(tmp_path: Path, name: str, spec: dict[str, Any], namespace: str = "cli-tests") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(replay_manifest(namespace, name, spec)))
    return str(path)


def spec_for(topic: str, window: dict[str, Any], bootstrap: str = "127.0.0.1:19092", **extra: Any) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": bootstrap, "topic": topic},
        "window": window,
        "validation": {"jsonSchema": ORDER_SCHEMA},
        "dedup": {"redis": {"url": REDIS_URL}, "ledger": f"l-{topic}"},
        "sink": {"topic": f"{topic}-out"},
        **extra,
    }


def test_plan_prints_exact_offsets_and_counts(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-plan-{unique}"
    create_topic(kafka_admin, topic, 3)
    base = (int(time.time()) - 3600) * 1000  # recent: retention must not delete the records
    for p, count in enumerate((500, 600, 300)):
        produce(kafka_bootstrap, topic, generate(count, seed=p), partition=p, timestamp_ms=range(base, 10**15, 1000))
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
    assert f"sandbox topic:     eventreplay.cli-tests.plan-{unique}.sandbox" in lines
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
        missing.stderr
        == f"eventreplay: plan refused (TopicNotFound): topic nope-{unique} does not exist on 127.0.0.1:19092\n"
    )
    empty = cli("plan", write_manifest(tmp_path, "empty", spec_for(topic, {"offsets": {"from": 900, "to": 999}})))
    assert empty.returncode == 3 and "(EmptyWindow)" in empty.stderr


def test_run_equals_the_seeded_truth_and_a_rerun_is_a_no_op(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-run-{unique}"
    create_topic(kafka_admin, topic, 3)
    seeded = {p: list(generate(n, seed=100 + p, mix=MIX)) for p, n in enumerate((2000, 2500, 1500))}
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
    assert sandbox == f"eventreplay.cli-tests.{name}.sandbox"
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


def test_an_interrupted_run_resumes_exactly_once(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    topic = f"cli-stop-{unique}"
    create_topic(kafka_admin, topic, 2)
    seeded = {p: list(generate(60_000, seed=200 + p, mix=MIX)) for p in range(2)}
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
        raw = redis_client.get(f"eventreplay:ckpt:{uid}:0")
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
        json.loads(redis_client.get(f"eventreplay:ckpt:{uid}:{p}") or b'{"committedOffset": 0}') for p in range(2)
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


# -- the cluster commands: a real EventReplay, its status written as the operator would -------------


@pytest.fixture
def cluster_env(k: Kube) -> dict[str, str]:
    """The CLI's environment for the local control plane (`k` has installed the CRD)."""
    return {"KUBECONFIG": str(config.kubeconfig_path())}


def _status(report_hash: str | None, ready: str = "False", stalled: str = "False") -> dict[str, Any]:
    now = "2026-11-20T12:00:00Z"
    plan = Plan(
        as_of=now,
        hash="0123456789abcdef",
        input_hash="0123456789abcdef",
        topic="orders",
        topic_partitions=2,
        sandbox_topic="eventreplay.x.sandbox",
        dead_letter_topic="eventreplay.x.dlq",
        records=300,
        partitions=[PlanPartition(partition=p, start_offset=0, end_offset=150, records=150) for p in range(2)],
    )
    status = EventReplayStatus(
        observed_generation=1,
        phase="Replayed" if ready == "True" else "Replaying",
        conditions=[
            Condition(
                type="Ready",
                status=ready,
                reason="Replayed" if ready == "True" else "Replaying",
                last_transition_time=now,
            ),
            Condition(
                type="Stalled",
                status=stalled,
                reason="PartitionsFailed" if stalled == "True" else "Replaying",
                message="partition 1 failed" if stalled == "True" else "",
                last_transition_time=now,
            ),
        ],
        plan=plan,
        partitions=[
            PartitionProgress(
                partition=0, state="Done", committed_offset=150, emitted=140, dead_lettered=10, percent=100
            ),
            PartitionProgress(partition=1, state="Running", committed_offset=75, emitted=70, duplicate=5, percent=50),
        ],
        totals=Totals(
            records=300, read=225, emitted=210, duplicate=5, dead_lettered=10, dead_letter_reasons={"schema": 10}
        ),
        progress=Progress(
            partitions="1/2", partitions_done=1, partitions_total=2, percent=75, events_per_second=25.0, eta="3s"
        ),
        reconciliation=ReconciliationStatus(report_hash=report_hash, changed=3, missing=7, unchanged=200, extra=1)
        if report_hash
        else None,
    )
    return status.to_wire()


def test_status_approve_and_watch_against_a_real_resource(
    k: Kube, cluster_env: dict[str, str], namespace: str, unique: str
) -> None:
    spec = spec_for("orders", {"offsets": {"from": 0, "to": 150}}, promotion={"policy": "Manual"})
    create_replay(k, replay_manifest(namespace, "manual", spec))
    create_replay(k, replay_manifest(namespace, "never", {**spec, "promotion": {"policy": "Never"}}))

    fresh = cli("status", "manual", "-n", namespace, env=cluster_env)
    assert fresh.returncode == 0, fresh.stderr
    assert "no conditions yet" in fresh.stdout
    refused = cli("approve", "manual", "-n", namespace, env=cluster_env)
    assert refused.returncode == 6
    assert "has no reconciliation report yet" in refused.stderr

    k.patch_replay_status(namespace, "manual", _status("aaaabbbbccccdddd"))
    shown = cli("status", "manual", "-n", namespace, env=cluster_env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"EventReplay {namespace}/manual   phase Replaying" in out
    assert "Ready      False   Replaying" in out
    assert "1  [" in out and "50%  75/150" in out and "Running  emitted 70, duplicate 5" in out
    assert "0  [" in out and "100%  150/150  Done" in out
    assert "overall: 1/2 partitions done, 75%, 25.0 events/s, ETA 3s" in out
    assert "  reportHash: aaaabbbbccccdddd" in out and "  missing: 7" in out
    assert "approval: awaiting approval of report aaaabbbbccccdddd" in out

    wrong = cli("approve", "manual", "-n", namespace, "--report-hash", "ffffeeeeddddcccc", env=cluster_env)
    assert wrong.returncode == 6 and "is aaaabbbbccccdddd, not ffffeeeeddddcccc" in wrong.stderr
    approved = cli("approve", "manual", "-n", namespace, env=cluster_env)
    assert approved.returncode == 0, approved.stderr
    assert k.get_replay(namespace, "manual")["spec"]["promotion"]["approvedReportHash"] == "aaaabbbbccccdddd"
    assert "already approved" in cli("approve", "manual", "-n", namespace, env=cluster_env).stdout

    k.patch_replay_status(namespace, "never", _status("aaaabbbbccccdddd"))
    never = cli("approve", "never", "-n", namespace, env=cluster_env)
    assert never.returncode == 6
    assert (
        never.stderr == f"eventreplay: {namespace}/never has promotion policy Never: approval only applies to Manual\n"
    )

    missing = cli("status", f"absent-{unique}", "-n", namespace, env=cluster_env)
    assert missing.returncode == 4
    assert missing.stderr == f"eventreplay: EventReplay {namespace}/absent-{unique} not found\n"

    # approve changed the spec: watch waits until the status observed that generation (kstatus).
    generation = k.get_replay(namespace, "manual")["metadata"]["generation"]
    assert generation == 2
    k.patch_replay_status(namespace, "manual", {"conditions": _status(None, ready="True")["conditions"]})
    assert cli("watch", "manual", "-n", namespace, "--timeout", "2", env=cluster_env).returncode == 1
    k.patch_replay_status(namespace, "manual", {"observedGeneration": generation})
    ready = cli("watch", "manual", "-n", namespace, "--interval", "0.2", env=cluster_env, timeout=60)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.rstrip().endswith(f"{namespace}/manual is Ready")
    k.patch_replay_status(namespace, "never", {"conditions": _status(None, stalled="True")["conditions"]})
    stalled = cli("watch", "never", "-n", namespace, "--interval", "0.2", env=cluster_env, timeout=60)
    assert stalled.returncode == 1
    assert "partition 1 failed" in stalled.stdout and stalled.stdout.rstrip().endswith("is Stalled")


def test_an_unreachable_cluster_gives_one_line(cluster_env: dict[str, str], tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(Path(cluster_env["KUBECONFIG"]).read_text())
    for entry in kubeconfig["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    done = cli("status", "anything", "-n", "default", env={"KUBECONFIG": str(path)}, timeout=120)
    assert done.returncode == 5
    assert done.stderr.startswith("eventreplay: cannot reach the Kubernetes API at https://127.0.0.1:1: ")
    assert len(done.stderr.splitlines()) == 1


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("eventreplay")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "exit codes:" in done.stdout and "EVENTREPLAY_REDIS_PASSWORD" in done.stdout
