"""The EventReplay API on the real API server: the CRD installs, examples apply, bad specs are refused."""

from __future__ import annotations

import copy
import shutil
import subprocess
from typing import Any

import pytest

from devstack import config
from eventreplay.operator.kube import MERGE, Kube, KubeError
from eventreplay.operator.status_patch import partition_ops
from support.operator_driver import OperatorDriver, examples, load_example

pytestmark = pytest.mark.stack

GOOD: dict[str, Any] = {
    "source": {"bootstrapServers": config.kafka_bootstrap(), "topic": "orders"},
    "window": {"offsets": {"from": 0, "to": 10}},
    "dedup": {"redis": {"url": config.redis_url()}, "ledger": "orders"},
    "sink": {"topic": "orders-out"},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(GOOD)
    node = spec
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return spec


TS = "2026-11-20T10:00:00Z"
HOURLY_COUNT = {
    "aggregate": {
        "eventTimeField": "ts",
        "windowSeconds": 3600,
        "aggregations": [{"name": "orders", "function": "count"}],
    }
}
"""An aggregate transform: orders per hour."""

BAD_SPECS: list[tuple[str, dict[str, Any], str]] = [
    (
        "two window forms",
        _with("window", {"offsets": {"from": 0, "to": 1}, "relative": {"fromSecondsAgo": 9}}),
        "window: set exactly one of offsets, timestamps or relative",
    ),
    ("no window form", _with("window", {}), "window: set exactly one of offsets, timestamps or relative"),
    (
        "offsets to before from",
        _with("window.offsets", {"from": 10, "to": 5}),
        "window.offsets: to must be greater than from",
    ),
    ("offsets from without to", _with("window.offsets", {"from": 10}), "window.offsets: give both from and to"),
    (
        "offsets and perPartition",
        _with("window.offsets", {"from": 0, "to": 5, "perPartition": [{"partition": 0, "from": 0, "to": 1}]}),
        "give either from/to for all partitions or perPartition",
    ),
    (
        "perPartition reversed",
        _with("window.offsets", {"perPartition": [{"partition": 0, "from": 5, "to": 1}]}),
        "window.offsets.perPartition: to must be greater than from",
    ),
    (
        "timestamp without zone",
        _with("window", {"timestamps": {"from": "2026-11-20T10:00:00", "to": TS}}),
        "must be RFC 3339 with an explicit zone",
    ),
    (
        "timestamps reversed",
        _with("window", {"timestamps": {"from": "2026-11-20T11:00:00Z", "to": TS}}),
        "window.timestamps: to must be after from",
    ),
    (
        "relative reversed",
        _with("window", {"relative": {"fromSecondsAgo": 60, "toSecondsAgo": 600}}),
        "fromSecondsAgo must be greater than toSecondsAgo",
    ),
    ("partition range reversed", _with("source.partitions", ["4-1"]), "a range N-M needs N <= M"),
    ("negative partition", _with("source.partitions", ["-1"]), "should match"),
    (
        "redis url with password",
        _with("dedup.redis", {"url": "redis://:hunter2@redis:6379/0"}),
        "must not carry credentials; use passwordSecretRef",
    ),
    (
        "redis url with query options",
        _with("dedup.redis", {"url": "redis://redis:6379/0?password=hunter2"}),
        "no userinfo, query string or options",
    ),
    (
        "redis url disabling tls checks",
        _with("dedup.redis", {"url": "rediss://redis:6380/0?ssl_cert_reqs=none"}),
        "no userinfo, query string or options",
    ),
    (
        "bootstrap servers and a cluster alias",
        _with("source.cluster", "main"),
        "source: set exactly one of bootstrapServers or cluster",
    ),
    (
        "redis url and an endpoint alias",
        _with("dedup.redis", {"url": "redis://redis:6379/0", "endpoint": "ledger"}),
        "dedup.redis: set exactly one of url or endpoint",
    ),
    ("redis url scheme", _with("dedup.redis", {"url": "http://redis:6379"}), "must start with redis://"),
    ("project without fields", _with("transform", {"function": "project"}), "`project` needs a non-empty fields"),
    (
        "unknown transform",
        _with("transform", {"function": "rm -rf"}),
        "transform.function must be identity, project or module:function",
    ),
    (
        "approval outside Manual",
        _with("promotion", {"policy": "Never", "approvedReportHash": "a" * 16}),
        "approvedReportHash only applies to policy Manual",
    ),
    (
        "automatic without thresholds",
        _with("promotion", {"policy": "Automatic"}),
        "promotion.policy Automatic needs thresholds",
    ),
    (
        "aggregate with skipProcessed",
        _with("transform", HOURLY_COUNT)
        | {"dedup": {"redis": {"url": config.redis_url()}, "ledger": "orders", "mode": "skipProcessed"}},
        "would count only the missed events",
    ),
    (
        "sink headers allow and deny",
        _with("sink", {"topic": "out", "key": "sourceKey", "headers": {"allow": ["a"], "deny": ["b"]}}),
        "headers: set exactly one of allow or deny",
    ),
    ("sink key unknown", _with("sink", {"topic": "out", "key": "customer"}), "spec.sink.key"),
    (
        "aggregate with a source key",
        _with("transform", HOURLY_COUNT) | {"sink": {"topic": "out", "key": "sourceKey"}},
        "an aggregate replay writes window results",
    ),
    (
        "event id header without its name",
        _with("reconciliation", {"eventId": {"source": "header"}}),
        "eventId: header is required with source header, and only then",
    ),
    (
        "event id header name with another source",
        _with("reconciliation", {"eventId": {"source": "key", "header": "x-id"}}),
        "eventId: header is required with source header, and only then",
    ),
    (
        "a record key without a registered transform",
        _with("sink", {"topic": "out", "key": "transform"}),
        "the record comes from a registered transform",
    ),
    (
        "a sink format without its registry",
        _with("sink", {"topic": "out", "format": "avro"}),
        "sink.schemaRegistry is required with format avro or jsonSchema",
    ),
    (
        "a sink subject without a registry format",
        _with("sink", {"topic": "out", "subject": "com.acme.Order"}),
        "sink.subject and sink.schema go with a registry format",
    ),
    ("bad policy", _with("promotion", {"policy": "Sometimes"}), "Unsupported value"),
    ("parallelism zero", _with("worker", {"parallelism": 0}), "should be greater than or equal to 1"),
]


def test_every_example_applies(driver: OperatorDriver, namespace: str) -> None:
    paths = examples()
    assert len(paths) >= 3
    for path in paths:
        created = driver.apply(load_example(path, namespace))
        assert created["metadata"]["uid"], path


def test_ids_from_a_header_and_the_compared_key_are_admitted_as_written(driver: OperatorDriver) -> None:
    by_header = {"eventId": {"source": "header", "header": "x-event-id"}, "compareKey": True}
    created = driver.create("by-header", _with("reconciliation", by_header))
    stored = created["spec"]["reconciliation"]
    assert (stored["eventId"], stored["compareKey"]) == (by_header["eventId"], True)
    plain = driver.create("plain", GOOD)
    assert "compareKey" not in plain["spec"].get("reconciliation", {})  # absent stays absent (false)


@pytest.mark.parametrize(("case", "spec", "message"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_spec_is_refused_with_its_message(
    driver: OperatorDriver, case: str, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(KubeError) as err:
        driver.create("bad", spec)
    assert err.value.status == 422, err.value
    assert message in str(err.value), f"{case}: {err.value}"


def test_long_names_are_refused(driver: OperatorDriver) -> None:
    with pytest.raises(KubeError, match="at most 100 characters"):
        driver.create("x" * 101, GOOD)


# A pinned plan as the operator writes it: once it is in the status, the spec's output settings freeze.
PLAN: dict[str, Any] = {
    "asOf": "2026-11-20T12:00:00.000Z",
    "hash": "a" * 16,
    "inputHash": "b" * 16,
    "topic": "orders",
    "topicPartitions": 1,
    "sandboxTopic": "s",
    "deadLetterTopic": "d",
    "records": 9,
    "partitions": [{"partition": 0, "startOffset": 1, "endOffset": 10, "records": 9}],
}


def test_window_is_immutable_once_planned_and_retry_only_grows(driver: OperatorDriver, namespace: str) -> None:
    driver.create("frozen", {**GOOD, "retry": 2})
    driver.patch_spec("frozen", {"window": {"offsets": {"from": 1, "to": 10}}})  # not planned yet: allowed
    driver.k.patch_replay_status(namespace, "frozen", {"plan": PLAN})
    with pytest.raises(KubeError, match="immutable once the replay is planned"):
        driver.patch_spec("frozen", {"window": {"offsets": {"from": 2, "to": 10}}})
    with pytest.raises(KubeError, match="immutable once the replay is planned"):
        driver.patch_spec("frozen", {"transform": {"function": "mod:fn"}})
    with pytest.raises(KubeError, match="retry can only increase"):
        driver.patch_spec("frozen", {"retry": 1})
    driver.patch_spec("frozen", {"suspend": True, "retry": 3})  # the knobs stay mutable


FROZEN_CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("spec.validation", {"validation": {"maxEventBytes": 1024}}),
    ("spec.dedup.ledger", {"dedup": {"ledger": "other"}}),
    ("spec.dedup.mode", {"dedup": {"mode": "skipProcessed"}}),
    ("spec.sink", {"sink": {"topic": "elsewhere"}}),
    ("spec.reconciliation.slackSeconds", {"reconciliation": {"slackSeconds": 5}}),
    ("spec.reconciliation.eventId", {"reconciliation": {"eventId": {"source": "valueField", "field": "id"}}}),
    ("spec.reconciliation.compareKey", {"reconciliation": {"compareKey": True}}),
]


def test_everything_that_decides_the_output_is_frozen_once_planned(driver: OperatorDriver, namespace: str) -> None:
    driver.create("sealed", GOOD)
    driver.patch_spec("sealed", {"sink": {"topic": "orders-fixed"}})  # not planned yet: allowed
    driver.k.patch_replay_status(namespace, "sealed", {"plan": PLAN})
    for field, change in FROZEN_CHANGES:
        with pytest.raises(KubeError) as refused:
            driver.patch_spec("sealed", change)
        assert refused.value.status == 422, refused.value
        message = str(refused.value)
        assert f"{field} is immutable once the replay is planned" in message, message
        assert "create a new EventReplay" in message
    # Operational settings stay mutable: the approval, the ledger TTL, the workers, suspend.
    driver.patch_spec(
        "sealed",
        {
            "promotion": {"policy": "Manual", "approvedReportHash": "c" * 64},
            "dedup": {"ttlSeconds": 7200},
            "worker": {"parallelism": 2},
            "suspend": True,
        },
    )
    got = driver.k.get_replay(namespace, "sealed")
    assert got is not None and got["spec"]["sink"] == {"topic": "orders-fixed"}
    assert got["spec"]["dedup"]["ttlSeconds"] == 7200 and got["spec"]["dedup"]["ledger"] == "orders"


def test_secret_refs_have_no_namespace_field(driver: OperatorDriver, namespace: str) -> None:
    spec = _with("source.credentialsSecretRef", {"name": "kafka-client", "namespace": "kube-system"})
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays"
    with pytest.raises(KubeError, match="unknown field"):
        driver.k.call("POST", path, driver.manifest("strict", spec), query={"fieldValidation": "Strict"})
    created = driver.k.call("POST", path, driver.manifest("pruned", spec))
    assert created["spec"]["source"]["credentialsSecretRef"] == {"name": "kafka-client", "key": "client.properties"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_explain_shows_descriptions(k: Kube) -> None:
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(config.kubeconfig_path()), "explain", "eventreplays.spec.window.timestamps"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "RFC 3339 with an explicit zone" in out
    assert "Window by record timestamps" in out


def test_status_subresource_ignores_spec_changes(driver: OperatorDriver, namespace: str) -> None:
    driver.create("sub", GOOD)
    path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/sub/status"
    driver.k.call("PATCH", path, {"spec": {"dryRun": True}, "status": {"phase": "Pending"}}, content_type=MERGE)
    got = driver.k.get_replay(namespace, "sub")
    assert got is not None and got["spec"].get("dryRun") is False and got["status"]["phase"] == "Pending"


def test_a_partition_entry_is_patched_in_place_and_a_reshaped_list_refuses_the_patch(
    driver: OperatorDriver, namespace: str
) -> None:
    """The operator's JSON Patch status write on the real API server (status subresource)."""
    driver.create("inplace", GOOD)
    old = {"partitions": [{"partition": p, "state": "Running", "emitted": 0} for p in range(3)]}
    driver.k.patch_replay_status(namespace, "inplace", old)
    new = copy.deepcopy(old)
    new["partitions"][1] = {"partition": 1, "state": "Done", "emitted": 5}
    ops = partition_ops(old, new, {"partitions": new["partitions"]})
    assert ops is not None
    driver.k.json_patch_replay_status(namespace, "inplace", ops)
    got = driver.k.get_replay(namespace, "inplace")
    assert got is not None
    assert [{key: p.get(key) for key in ("partition", "state", "emitted")} for p in got["status"]["partitions"]] == new[
        "partitions"
    ]
    driver.k.patch_replay_status(namespace, "inplace", {"partitions": list(reversed(new["partitions"]))})
    stale = [{"op": "test", "path": "/status/partitions/0/partition", "value": 0}, *ops[1:]]
    with pytest.raises(KubeError):  # index 0 now holds partition 2: the guarded patch is refused whole
        driver.k.json_patch_replay_status(namespace, "inplace", stale)
