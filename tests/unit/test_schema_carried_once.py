"""The inline JSON Schema carried once (issue #25): one content-addressed, immutable ConfigMap per
replay, mounted read-only by the partition Jobs, whose tasks name the file and its digest only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from operator_fakes import FakeKube, World, replay
from operator_fixtures import env_of, operator_config, plan, spec

from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import build_job
from eventreplay.operator.schema_config_map import SCHEMA_DIR, config_map
from eventreplay.worker.contract.environment import TASK_ENV
from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.contract.schema_file import SCHEMA_KEY, digest, encode, load
from eventreplay.worker.contract.tasks import SchemaFile, Task, Validation
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import Rejected

OWNER = Owner(namespace="payments", name="orders", uid="uid-1")
BIG = {
    "type": "object",
    "required": ["event_id"],
    "properties": {"event_id": {"type": "string"}, **{f"f{i}": {"type": "integer"} for i in range(2200)}},
}


def _job(schema: dict[str, Any] | None) -> dict[str, Any]:
    p = plan([(0, 10, 20), (1, 0, 5)])
    s = spec(validation={"jsonSchema": schema} if schema else {})
    return build_job(s, p, p.partitions[0], OWNER, operator_config())


def test_a_jobs_env_carries_the_schemas_digest_and_path_not_the_schema() -> None:
    assert len(encode(BIG)) > 50_000
    job = _job(BIG)
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert len(json.dumps(env)) < 4_000
    task = Task.model_validate_json(env_of(job)[TASK_ENV]["value"])
    assert task.validation.json_schema is None
    assert task.validation.json_schema_file == SchemaFile(path=f"{SCHEMA_DIR}/{SCHEMA_KEY}", sha256=digest(encode(BIG)))


def test_the_job_mounts_the_replays_config_map_read_only() -> None:
    pod = _job(BIG)["spec"]["template"]["spec"]
    body = config_map(spec(validation={"jsonSchema": BIG}), OWNER)
    assert body is not None
    schema_volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert schema_volume["configMap"]["name"] == body["metadata"]["name"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == schema_volume["name"])
    assert mount == {"name": schema_volume["name"], "mountPath": SCHEMA_DIR, "readOnly": True}


def test_without_an_inline_schema_nothing_is_mounted_or_created() -> None:
    pod = _job(None)["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert config_map(spec(), OWNER) is None


def test_the_config_map_is_immutable_owned_and_named_by_its_content() -> None:
    body = config_map(spec(validation={"jsonSchema": BIG}), OWNER)
    other = config_map(spec(validation={"jsonSchema": {"type": "object"}}), OWNER)
    assert body is not None and other is not None
    assert body["immutable"] is True
    assert json.loads(body["data"][SCHEMA_KEY]) == BIG
    assert [ref["uid"] for ref in body["metadata"]["ownerReferences"]] == [OWNER.uid]
    assert digest(encode(BIG))[:12] in body["metadata"]["name"]
    assert body["metadata"]["name"] != other["metadata"]["name"]
    long = config_map(spec(validation={"jsonSchema": BIG}), Owner("payments", "o" * 80, "uid-1"))
    assert long is not None and len(long["metadata"]["name"]) <= 63


def test_one_config_map_per_replay_created_with_its_jobs() -> None:
    world = World(kube=FakeKube(replay(validation={"jsonSchema": BIG})))
    world.sync()
    world.sync()
    assert len(world.kube.jobs) == 2
    assert list(world.kube.config_maps) == [config_map_name(world)]


def config_map_name(world: World) -> str:
    volumes = next(iter(world.kube.jobs.values()))["spec"]["template"]["spec"]["volumes"]
    return str(next(v["configMap"]["name"] for v in volumes if "configMap" in v))


def _file(tmp_path: Path, schema: dict[str, Any]) -> SchemaFile:
    path = tmp_path / SCHEMA_KEY
    path.write_bytes(encode(schema))
    return SchemaFile(path=str(path), sha256=digest(encode(schema)))


def test_the_worker_validates_with_the_mounted_file(tmp_path: Path) -> None:
    small = {"type": "object", "properties": {"event_id": {"type": "string"}, "f1": {"type": "integer"}}}
    validator = Validator(Validation(json_schema_file=_file(tmp_path, small)), datetime(2026, 11, 20, tzinfo=UTC))
    assert validator.check(b'{"event_id": "a", "f1": 2}', 0)[0] == "a"
    verdict = validator.check(b'{"event_id": "a", "f1": "two"}', 0)
    assert isinstance(verdict, Rejected) and verdict.reason == "schema"


def test_an_altered_or_missing_file_fails_permanently_with_the_reason(tmp_path: Path) -> None:
    ref = _file(tmp_path, BIG)
    Path(ref.path).write_bytes(encode({"type": "object"}))
    with pytest.raises(PermanentFailure, match="not the planned"):
        load(ref)
    with pytest.raises(PermanentFailure, match="cannot be read"):
        load(SchemaFile(path=str(tmp_path / "gone.json"), sha256=ref.sha256))


def test_a_task_carries_the_schema_one_way_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exclusive"):
        Validation(json_schema=BIG, json_schema_file=_file(tmp_path, BIG))
