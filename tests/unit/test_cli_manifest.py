"""`eventreplay` manifest loading: every problem names its field path and says why."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from eventreplay.cli import manifest
from eventreplay.cli.__main__ import main
from eventreplay.cli.errors import EXIT_USAGE, CliError

SPEC: dict[str, Any] = {
    "source": {"bootstrapServers": "127.0.0.1:19092", "topic": "orders"},
    "window": {"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}},
    "dedup": {"redis": {"url": "redis://127.0.0.1:16379/0"}, "ledger": "orders"},
    "sink": {"topic": "orders-out"},
}


def doc(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": meta or {"name": "orders-replay", "namespace": "payments"},
        "spec": copy.deepcopy(SPEC) if spec is None else spec,
    }


def problems(d: dict[str, Any]) -> list[str]:
    with pytest.raises(CliError) as caught:
        manifest.from_documents("m.yaml", [d])
    assert caught.value.code == EXIT_USAGE
    head, *lines = caught.value.message.splitlines()
    assert head == "manifest m.yaml is invalid:"
    return [line.strip() for line in lines]


def spec_with(**changes: Any) -> dict[str, Any]:
    s = copy.deepcopy(SPEC)
    s.update(changes)
    return s


def test_a_valid_manifest_loads_with_its_namespace() -> None:
    found = manifest.from_documents("m.yaml", [doc()])
    assert (found.namespace, found.name, found.spec.source.topic) == ("payments", "orders-replay", "orders")
    assert manifest.from_documents("m.yaml", [doc(name="x")]).namespace == "default"


def test_a_bad_timestamp_names_the_field_not_just_the_window() -> None:
    window = {"timestamps": {"from": "2026-11-20 10:00", "to": "2026-11-20T11:00:00Z"}}
    assert problems(doc(spec_with(window=window))) == [
        "spec.window.timestamps.from: '2026-11-20 10:00' is not RFC 3339 with an explicit zone "
        "(e.g. 2026-11-20T10:00:00Z)"
    ]


def test_cross_field_rules_name_the_object_once() -> None:
    window = {"timestamps": {"from": "2026-11-20T12:00:00Z", "to": "2026-11-20T11:00:00Z"}}
    assert problems(doc(spec_with(window=window))) == ["spec.window.timestamps: to must be after from"]
    both = {"offsets": {"from": 1, "to": 5}, "relative": {"fromSecondsAgo": 60}}
    assert problems(doc(spec_with(window=both))) == ["spec.window: set exactly one of offsets, timestamps or relative"]


def test_every_problem_is_listed_with_its_path() -> None:
    s = spec_with(worker={"parallelism": 5000, "paralelism": 3}, source={"topic": "bad topic!"})
    del s["dedup"]
    found = problems(doc(s))
    assert "spec.dedup: required field missing" in found
    assert "spec.worker.parallelism: Input should be less than or equal to 1000 (got 5000)" in found
    assert "spec.worker.paralelism: unknown field" in found
    assert "spec.source.bootstrapServers: required field missing" in found
    assert any(p.startswith("spec.source.topic: String should match pattern") for p in found)


def test_list_items_are_indexed() -> None:
    s = spec_with(source={"bootstrapServers": "k:9092", "topic": "t", "partitions": ["0", "x"]})
    assert problems(doc(s)) == [
        "spec.source.partitions[1]: String should match pattern '^[0-9]{1,6}(-[0-9]{1,6})?$' (got 'x')"
    ]


def test_header_problems() -> None:
    bad = doc()
    bad["apiVersion"] = "eventreplay.io/v1"
    bad["metadata"] = {"name": "Orders_Replay", "namespace": "Pay ments"}
    found = problems(bad)
    assert found[0] == "apiVersion: must be eventreplay.io/v1alpha1 (got 'eventreplay.io/v1')"
    assert found[1].startswith("metadata.name: 'Orders_Replay' must be lower-case")
    assert found[2] == "metadata.namespace: 'Pay ments' is not a valid namespace name"
    assert problems({**doc(), "metadata": {}, "spec": None}) == [
        "metadata.name: required",
        "spec: required (a mapping)",
    ]


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"manifest .*missing.yaml: No such file"):
        manifest.load(str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: EventReplay\nspec: {source: [\n")
    with pytest.raises(CliError, match=r"not valid YAML: line \d+, column \d+"):
        manifest.load(str(broken))
    with pytest.raises(CliError, match=r"no EventReplay in it \(found: ConfigMap\)"):
        manifest.from_documents("m.yaml", [{"kind": "ConfigMap"}])
    with pytest.raises(CliError, match="2 EventReplays in one file"):
        manifest.from_documents("m.yaml", [doc(), doc()])


def test_the_command_exits_2_with_the_field_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    path = tmp_path / "m.yaml"
    dedup = {"redis": {"url": "redis://r:6379/0"}, "ledger": "l", "mode": "sometimes"}
    path.write_text(yaml.safe_dump(doc(spec_with(dedup=dedup))))
    assert main(["plan", str(path)]) == EXIT_USAGE  # refused before any connection is tried
    err = capsys.readouterr().err
    assert err == (
        f"eventreplay: manifest {path} is invalid:\n"
        "  spec.dedup.mode: Input should be 'withinReplay' or 'skipProcessed' (got 'sometimes')\n"
    )


@pytest.mark.parametrize(
    "override",
    [{"source": {"cluster": "main", "topic": "orders"}}, {"dedup": {"redis": {"endpoint": "ledger"}, "ledger": "o"}}],
    ids=["cluster", "redis endpoint"],
)
def test_the_cli_refuses_an_alias_it_cannot_resolve(override: dict[str, Any]) -> None:
    from eventreplay.cli.planning import plan, redis_client
    from eventreplay.operator.api.v1alpha1 import EventReplay

    found = manifest.Manifest(path="r.yaml", replay=EventReplay.model_validate(doc(spec_with(**override))))
    with pytest.raises(CliError, match="alias in the operator's replay policy") as err:
        plan(found, access=None)  # type: ignore[arg-type]  # refused before any Kafka access
    assert err.value.code == EXIT_USAGE
    with pytest.raises(CliError, match="alias in the operator's replay policy"):
        redis_client(found.spec)
