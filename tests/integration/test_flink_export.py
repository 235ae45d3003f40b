"""The Flink hand-off, run: the SQL `eventreplay export flink-sql` prints for an applied windowed-aggregate
replay, executed by Flink 2.2 on a local MiniCluster (dev/flink/) against the local Kafka, writes into
that replay's results topic the same records as the replay's combine Job, result for result (key,
value, er-replay-uid header) - on events with every event-time format the worker reads, repeated ids,
late events (some dropped from part of their windows, some from all), and windows straddling each
edge of the replay window."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from datagen.orders import Record
from devstack import config
from eventreplay.operator.kube import KubeError
from support.aggregations import amount_aggregations
from support.cli_run import cli
from support.kafka_tools import Read, create_topic, produce, read_partition, watermarks
from support.operator_driver import OperatorDriver, replay_manifest

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
MINUTE = 60_000
LATE_BY = (5_000, 30_000, 75_000, 100_000)  # lateness 10 s, windows 60 s: kept, partly dropped, dropped


def _flink_classpath() -> str:
    done = subprocess.run([str(ROOT / "dev/flink/fetch.sh")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"dev/flink/fetch.sh failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip()


def _event_time(ms: int, i: int) -> Any:
    """Every form the worker reads, in turn: epoch ms, RFC 3339 UTC, an offset, a space and microseconds."""
    at = datetime.fromtimestamp(ms / 1000, UTC)
    if i % 4 == 0:
        return ms
    if i % 4 == 1:
        return _iso(ms)
    if i % 4 == 2:
        return at.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")
    return at.astimezone(timezone(-timedelta(hours=3, minutes=30))).isoformat(sep=" ", timespec="microseconds")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _partition(base: int, p: int) -> tuple[list[Record], list[int]]:
    """600 orders 3 s apart, a late order after every 25th (by 5 s to 100 s), a repeat after every 40th."""
    records: list[Record] = []
    stamps: list[int] = []
    repeats: list[tuple[int, Record]] = []
    for i in range(600):
        ms = base + i * 3_000 + p * 7 + (i * 13) % 1_000
        events = [(f"{p}-{i}", ms)]
        if i % 25 == 24:
            events.append((f"{p}-{i}-late", ms - LATE_BY[(i // 25) % len(LATE_BY)]))
        for event_id, at in events:
            doc = {"event_id": event_id, "ts": _event_time(at, i), "shop": f"s{(i + p) % 3}", "amount": i % 50}
            doc["buyer"] = f"b{i % 7}"
            record = Record(None, orjson.dumps(doc), "valid", event_id)
            records.append(record)
            stamps.append(ms)  # arrival order: a late order is logged when it arrives
            if i % 40 == 7:
                repeats.append((i + 2, record))
        while repeats and repeats[0][0] == i:
            records.append(repeats.pop(0)[1])
            stamps.append(ms)
    return records, stamps


def _results(bootstrap: str, topic: str, partitions: int, since: list[int]) -> dict[str, tuple[bytes, bytes]]:
    """Result id -> (canonical value, er-replay-uid header) of the records at or after `since` per partition."""
    out: dict[str, tuple[bytes, bytes]] = {}
    for p in range(partitions):
        read: list[Read] = [r for r in read_partition(bootstrap, topic, p) if r.offset >= since[p]]
        for r in read:
            assert r.key is not None and r.value is not None
            value = orjson.dumps(orjson.loads(r.value), option=orjson.OPT_SORT_KEYS)
            assert r.key.decode() not in out, f"result {r.key!r} written twice"
            out[r.key.decode()] = (value, r.headers.get("er-replay-uid", b""))
    return out


def _source(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> tuple[str, str, list[str]]:
    """The source topic (2 partitions of `_partition`'s orders), an empty sink, and the replay window."""
    base = (int(time.time() * 1000) - 30 * 60 * MINUTE) // MINUTE * MINUTE
    topic, sink = f"flink-{unique}", f"flink-out-{unique}"
    create_topic(kafka_admin, topic, 2)
    create_topic(kafka_admin, sink, 1)
    for p in range(2):
        records, stamps = _partition(base, p)
        produce(kafka_bootstrap, topic, records, p, timestamp_ms=stamps)
    return topic, sink, [_iso(base + m * MINUTE) for m in (10, 20)]  # the replay window: minutes 10 to 20


def _export_and_run_flink(tmp_path: Path, applied: dict[str, Any], replay: dict[str, Any]) -> None:
    """`kubectl get eventreplay -o yaml | eventreplay export flink-sql -` (the applied replay, its frozen
    plan and uid), then the job run by Flink on a MiniCluster."""
    applied["metadata"]["uid"] = replay["metadata"]["uid"]
    applied["status"] = replay["status"]
    name = applied["metadata"]["name"]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(applied))
    exported = cli("export", "flink-sql", str(path))
    assert exported.returncode == 0, exported.stderr
    script = tmp_path / f"{name}.sql"
    script.write_text(exported.stdout)
    ran = subprocess.run(
        ["java", "-cp", _flink_classpath(), "RunSql", str(script)], capture_output=True, text=True, timeout=600
    )
    causes = "\n".join(line for line in ran.stderr.splitlines() if line.startswith(("Caused by", "Exception")))
    assert ran.returncode == 0, f"Flink job failed:\n{causes}\n{ran.stderr[-2000:]}"


def _spec(topic: str, sink: str, asked: list[str], unique: str) -> dict[str, Any]:
    """Hopping minute windows by shop with 10 s allowed lateness and every aggregation, results reconciled only."""
    schema = {"type": "object", "properties": {"amount": {"type": "integer"}, "buyer": {"type": "string"}}}
    aggregations = [*amount_aggregations(), {"name": "buyers", "function": "distinctCount", "field": "buyer"}]
    return {
        "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": topic},
        "window": {"timestamps": {"from": asked[0], "to": asked[1]}},
        "validation": {"jsonSchema": schema},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"flink-{unique}"},
        "sink": {"topic": sink},
        "transform": {
            "aggregate": {
                "eventTimeField": "ts",
                "keyField": "shop",
                "windowSeconds": 60,
                "slideSeconds": 20,
                "allowedLatenessSeconds": 10,
                "aggregations": aggregations,
            }
        },
        "reconciliation": {"existingOffsets": [{"partition": 0, "from": 0, "to": 0}]},
        "promotion": {"policy": "Never"},
    }


def test_the_exported_flink_job_writes_the_replays_results_into_its_results_topic(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, sink, asked = _source(kafka_admin, kafka_bootstrap, unique)
    spec = _spec(topic, sink, asked, unique)
    with driver.running():
        driver.create("hourly", spec)
        done = driver.wait_for_condition("hourly", "Reconciled", timeout=300)
    status = done["status"]
    aggregation, plan = status["aggregation"], status["plan"]
    assert status["totals"]["duplicate"] > 0 and aggregation["late"] > 0  # the events exercise both
    assert plan["readRange"]["from"] < asked[0] and plan["readRange"]["to"] > asked[1]  # whole windows
    results_topic = aggregation["resultsTopic"]
    partitions = len(plan["partitions"])
    before = [high for _, high in watermarks(kafka_bootstrap, results_topic, partitions)]
    replayed = _results(kafka_bootstrap, results_topic, partitions, [0] * partitions)
    assert len(replayed) == aggregation["results"] > 50
    edges = {orjson.loads(v)["windowStart"] for v, _ in replayed.values()}
    assert min(edges) < asked[0]  # a window straddling the start ...
    assert any(orjson.loads(v)["windowEnd"] > asked[1] for v, _ in replayed.values())  # ... and the end

    _export_and_run_flink(tmp_path, replay_manifest(namespace, "hourly", spec), done)
    flink = _results(kafka_bootstrap, results_topic, partitions, before)
    assert flink == replayed


def _external(spec: dict[str, Any], unique: str) -> dict[str, Any]:
    """The same replay with `engine: External` (its own ledger) behind the Manual gate."""
    external = copy.deepcopy(spec)
    external["transform"]["aggregate"]["engine"] = "External"
    external["dedup"]["ledger"] = f"flink-ext-{unique}"
    external["promotion"] = {"policy": "Manual"}
    return external


def _refused(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(KubeError) as refused:
        call()
    assert refused.value.status == 422 and message in str(refused.value), refused.value


def test_an_external_replay_reconciles_and_promotes_flinks_results_as_a_combine_replay_would(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    topic, sink, asked = _source(kafka_admin, kafka_bootstrap, unique)
    combined, external = _spec(topic, sink, asked, unique), _external(_spec(topic, sink, asked, unique), unique)
    signalled = copy.deepcopy(combined)
    signalled["reconciliation"]["externalResults"] = {"complete": True}
    _refused(lambda: driver.create("signalled", signalled), "hand-off signal of transform.aggregate.engine External")
    with driver.running():
        driver.create("combined", combined)
        driver.create("external", external)

        def awaiting(replay: dict[str, Any]) -> bool:
            return driver.condition(replay, "Reconciled").get("reason") == "AwaitingExternalResults"

        waiting = driver.wait_for_replay("external", awaiting, "AwaitingExternalResults", timeout=300)
        assert "eventreplay export flink-sql -" in driver.condition(waiting, "Ready")["message"]
        assert not [j for j in driver.jobs(waiting) if j["metadata"]["name"].endswith("-combine")]
        _refused(
            lambda: driver.patch_spec("external", {"transform": {"aggregate": {"engine": "Combine"}}}),
            "immutable once the replay is planned",
        )
        _export_and_run_flink(tmp_path, replay_manifest(namespace, "external", external), waiting)
        driver.patch_spec("external", {"reconciliation": {"externalResults": {"complete": True}}})
        ext = driver.wait_for_condition("external", "Reconciled", timeout=300)["status"]
        comb = driver.wait_for_condition("combined", "Reconciled", timeout=300)["status"]
        counts = ("unchanged", "changed", "missing", "extra", "replayedIds", "existingIds", "duplicates")
        assert [ext["reconciliation"][c] for c in counts] == [comb["reconciliation"][c] for c in counts]
        ea, ca = ext["aggregation"], comb["aggregation"]
        assert ea["engine"] == "External" and ea["records"] == ea["results"] == ca["results"]  # each once
        assert ea["windows"] == ca["windows"]
        partitions = len(comb["plan"]["partitions"])
        flink = _results(kafka_bootstrap, ea["resultsTopic"], partitions, [0] * partitions)
        replayed = _results(kafka_bootstrap, ca["resultsTopic"], partitions, [0] * partitions)
        assert {k: v for k, (v, _) in flink.items()} == {k: v for k, (v, _) in replayed.items()}
        assert {uid for _, uid in flink.values()} == {waiting["metadata"]["uid"].encode()}

        report = ext["reconciliation"]["reportHash"]
        driver.patch_spec("external", {"promotion": {"approvedReportHash": report}})
        done = driver.wait_for_condition("external", "Promoted", timeout=300)
        promoted = done["status"]["promotion"]
        assert promoted["reportHash"] == report
        assert promoted["written"] == ext["reconciliation"]["missing"] + ext["reconciliation"]["changed"] > 0
        assert len([j for j in driver.jobs(done) if "-promote-" in j["metadata"]["name"]]) == 1
    written = read_partition(kafka_bootstrap, sink, 0)
    assert len(written) == promoted["written"]  # the delta, once
    assert {r.key.decode() for r in written if r.key} == set(flink)  # nothing was in the sink: every result
