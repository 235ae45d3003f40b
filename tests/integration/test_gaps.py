"""`eventreplay gaps` on the real stack: missing source events grouped into outages, the
recovery manifests plan exactly those ranges, and nothing is written anywhere; an Avro source is
decoded through the stack's schema registry as the replay decodes it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

from datagen.orders import Record
from devstack import config
from eventreplay.worker.contract.names import GAP_FINDER_GROUP_ID
from support.cli_run import cli, spec_for, write_manifest
from support.kafka_tools import create_topic, produce
from support.schema_registry import avro_order, serialized

pytestmark = pytest.mark.stack

PER_PARTITION = 60
# What the "processor" lost, per partition: offsets (= seconds after base) never in the destination.
LOST = {0: [*range(10, 20), 50], 1: list(range(12, 16)), 2: list(range(40, 45))}


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _order(partition: int, i: int) -> Record:
    event_id = f"o-{partition}-{i:03d}"
    return Record(event_id.encode(), orjson.dumps({"event_id": event_id, "amount": i}), "valid", event_id)


def _user_topics(admin: Any) -> set[str]:
    """Topics other than the broker's own (`__consumer_offsets` appears with the first group lookup)."""
    return {t for t in admin.list_topics(timeout=10).topics if not t.startswith("__")}


def _seed(admin: Any, bootstrap: str, source: str, destination: str, base: int) -> None:
    create_topic(admin, source, 3)
    create_topic(admin, destination, 3)
    for p in range(3):
        records = [_order(p, i) for i in range(PER_PARTITION)]
        if p == 1:  # two source records without an id: a replay dead-letters them, nothing can be missing
            records += [Record(None, b'{"note": "no id"}', "no-id", ""), Record(None, b"not json", "bad", "")]
        produce(bootstrap, source, records, partition=p, timestamp_ms=range(base, 10**15, 1000))
        kept = [(i, r) for i, r in enumerate(records[:PER_PARTITION]) if i not in LOST[p]]
        produce(
            bootstrap, destination, [r for _, r in kept], partition=p, timestamp_ms=[base + i * 1000 for i, _ in kept]
        )


def test_gaps_finds_outages_and_writes_nothing(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    source, destination = f"gaps-src-{unique}", f"gaps-dst-{unique}"
    base = (int(time.time()) - 3600) * 1000  # recent: retention must not delete the records
    _seed(kafka_admin, kafka_bootstrap, source, destination, base)
    spec = spec_for(source, {"timestamps": {"from": _iso(base), "to": _iso(base + 100_000)}})
    spec["sink"]["topic"] = destination
    path = write_manifest(tmp_path, f"gaps-{unique}", spec)
    topics_before = _user_topics(kafka_admin)

    done = cli("gaps", path, "--join-seconds", "5", "-o", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["counts"] == {
        "destinationRecords": 3 * PER_PARTITION - 20,
        "missing": 20,
        "sourceRecords": 3 * PER_PARTITION + 2,
        "sourceWithoutId": 2,
    }
    assert result["missingIds"] == 20
    assert [(g["partition"], g["firstOffset"], g["lastOffset"], g["missing"]) for g in result["gaps"]] == [
        (0, 10, 19, 10),
        (0, 50, 50, 1),
        (1, 12, 15, 4),
        (2, 40, 44, 5),
    ]
    first = result["gaps"][0]
    assert (first["firstTime"], first["lastTime"]) == (_iso(base + 10_000), _iso(base + 19_000))
    assert first["sampleIds"] == [f"o-0-{i:03d}" for i in range(10, 15)]
    # Join 5 s: partitions 0 and 1 fail together at 10-19 s; partition 2 at 40-44 s; 0 again at 50 s.
    assert [(w["from"], w["to"], w["missing"], w["partitions"]) for w in result["outages"]] == [
        (
            _iso(base + 10_000),
            _iso(base + 19_001),
            14,
            [{"partition": 0, "from": 10, "to": 20}, {"partition": 1, "from": 12, "to": 16}],
        ),
        (_iso(base + 40_000), _iso(base + 44_001), 5, [{"partition": 2, "from": 40, "to": 45}]),
        (_iso(base + 50_000), _iso(base + 50_001), 1, [{"partition": 0, "from": 50, "to": 51}]),
    ]

    text = cli("gaps", path, "--join-seconds", "5")
    assert text.returncode == 0, text.stderr
    assert "20 missing (20 ids) in 4 gaps, 3 outages" in text.stdout
    assert "outage 1: " in text.stdout and "0:[10,20), 1:[12,16)" in text.stdout

    # Each recovery manifest is a valid EventReplay that plans exactly its outage.
    shown = cli("gaps", path, "--join-seconds", "5", "-o", "manifests")
    assert shown.returncode == 0, shown.stderr
    manifests = list(yaml.safe_load_all(shown.stdout))
    assert [m["metadata"]["name"] for m in manifests] == [f"gaps-{unique}-gap-{i}" for i in (1, 2, 3)]
    for manifest, window in zip(manifests, result["outages"], strict=True):
        assert manifest["spec"]["reconciliation"]["existingTimestamps"] == {"from": window["from"], "to": window["to"]}
        assert manifest["spec"]["sink"] == {"topic": destination}
        file = tmp_path / f"{manifest['metadata']['name']}.yaml"
        file.write_text(yaml.safe_dump(manifest))
        planned = cli("plan", str(file), "-o", "json")
        assert planned.returncode == 0, planned.stderr
        parts = json.loads(planned.stdout)["plan"]["partitions"]
        assert [(p["partition"], p["startOffset"], p["endOffset"]) for p in parts] == [
            (r["partition"], r["from"], r["to"]) for r in window["partitions"]
        ]

    # Read-only: no topic created, no group with committed offsets.
    assert _user_topics(kafka_admin) == topics_before
    groups = kafka_admin.list_consumer_groups(request_timeout=10).result()
    assert GAP_FINDER_GROUP_ID not in {g.group_id for g in groups.valid}


def test_gaps_with_nothing_missing_and_an_unreachable_broker(
    kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    source = f"gaps-full-{unique}"
    create_topic(kafka_admin, source, 1)
    records = [_order(0, i) for i in range(30)]
    produce(kafka_bootstrap, source, records)
    create_topic(kafka_admin, f"{source}-out", 1)
    produce(kafka_bootstrap, f"{source}-out", records)
    path = write_manifest(tmp_path, f"full-{unique}", spec_for(source, {"offsets": {"from": 0, "to": 30}}))
    done = cli("gaps", path)
    assert done.returncode == 0, done.stderr
    assert "30 source records, 30 destination records" in done.stdout
    assert "0 missing (0 ids) in 0 gaps, 0 outages" in done.stdout
    assert cli("gaps", path, "-o", "manifests").stdout == ""

    down = write_manifest(
        tmp_path, "down", spec_for(source, {"offsets": {"from": 0, "to": 30}}, bootstrap="127.0.0.1:1")
    )
    refused = cli("gaps", down, "--timeout", "2")
    assert refused.returncode == 5, refused.stderr
    assert refused.stderr.startswith("eventreplay: cannot reach Kafka at 127.0.0.1:1")


def test_gaps_reads_the_ids_of_an_avro_source_from_its_decoded_values(
    registry: SchemaRegistryClient, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    source, destination = f"gaps-avro-{unique}", f"gaps-avro-dst-{unique}"
    create_topic(kafka_admin, source, 1)
    create_topic(kafka_admin, destination, 1)
    meta = {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [{"name": "ref", "type": "string"}]}}
    orders = [{"id": f"o-{i}", "amount": i, "meta": {"ref": f"ref-{i}"}, "note": None} for i in range(10)]
    wire = serialized(AvroSerializer(registry, json.dumps(avro_order(meta))), source, orders)
    base = (int(time.time()) - 3600) * 1000
    undecodable = Record(None, wire[0][:7], "truncated", "")  # a replay dead-letters it: never missing
    produce(
        kafka_bootstrap,
        source,
        [*(Record(None, v, "ok", "") for v in wire), undecodable],
        timestamp_ms=range(base, 10**15, 1000),
    )
    kept = [f"ref-{i}".encode() for i in range(10) if i not in (3, 4)]
    produce(kafka_bootstrap, destination, [Record(k, b"{}", "ok", "") for k in kept], timestamp_ms=[base] * len(kept))
    spec = spec_for(source, {"offsets": {"perPartition": [{"partition": 0, "from": 0, "to": 11}]}})
    spec["source"] |= {"format": "avro", "schemaRegistry": {"url": config.registry_url()}}
    spec["validation"] = {"eventIdField": "meta.ref"}
    spec["sink"]["topic"] = destination
    path = write_manifest(tmp_path, f"gaps-avro-{unique}", spec)

    done = cli("gaps", path, "-o", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["counts"] == {
        "destinationRecords": 8,
        "missing": 2,
        "sourceRecords": 11,
        "sourceUndecodable": 1,
    }
    assert [(g["firstOffset"], g["lastOffset"], g["sampleIds"]) for g in result["gaps"]] == [(3, 4, ["ref-3", "ref-4"])]
