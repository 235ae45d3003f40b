"""An inline schema carried once, on the real API server, operator and node harness (issue #25):
a ~60 KB schema lands in exactly one ConfigMap the replay owns; every partition Job mounts it and
its env stays small; the workers validate with it (a record violating it is dead-lettered).

Before: the schema was copied into the task env of every Job and pod (a 300 KB schema gave pods
that never started; at 100 partitions x backoffLimit 50, ~3.6 GB of etcd objects per replay).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from datagen.orders import ORDER_SCHEMA
from eventreplay.operator.job_names import LABEL_PARTITION, LABEL_UID
from eventreplay.worker.contract.environment import TASK_ENV
from support.kafka_tools import key_values
from support.operator_driver import OperatorDriver
from support.orders_replay import PARTITIONS, seed, spec

pytestmark = pytest.mark.stack

# The orders schema padded to ~60 KB: the same verdicts as ORDER_SCHEMA, which the oracle applies.
SCHEMA = {**ORDER_SCHEMA, "description": "x" * 60_000}


def _config_maps(driver: OperatorDriver, replay: dict[str, Any]) -> list[dict[str, Any]]:
    meta = replay["metadata"]
    query = {"labelSelector": f"{LABEL_UID}={meta['uid']}"}
    out = driver.k.call("GET", f"/api/v1/namespaces/{meta['namespace']}/configmaps", query=query)
    return list(out.get("items") or [])


def test_a_60_kb_schema_is_one_config_map_mounted_by_every_job_and_validates(
    driver: OperatorDriver, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"orders-{unique}"
    truth = seed(kafka_admin, kafka_bootstrap, topic, 200)
    body = spec(topic, unique, validation={"eventIdField": "event_id", "jsonSchema": SCHEMA})
    with driver.running():
        driver.create("schema-once", body)
        got = driver.wait_for_condition("schema-once", "Replayed")
        # Read while the replay exists: the block's end deletes it, and its ConfigMap and Jobs with it.
        [cm] = _config_maps(driver, got)
        assert cm["immutable"] is True
        assert [ref["uid"] for ref in cm["metadata"]["ownerReferences"]] == [got["metadata"]["uid"]]
        assert json.loads(next(iter(cm["data"].values()))) == SCHEMA

        # The partition Jobs validate (and mount the schema); a step Job (reconciliation) may be there too.
        jobs = [j for j in driver.jobs(got) if LABEL_PARTITION in j["metadata"]["labels"]]
        assert len(jobs) == PARTITIONS
        for job in jobs:
            pod = job["spec"]["template"]["spec"]
            [container] = pod["containers"]
            assert len(json.dumps(container["env"])) < 4_000, job["metadata"]["name"]
            task = json.loads(next(e["value"] for e in container["env"] if e["name"] == TASK_ENV))
            assert "jsonSchema" not in task["validation"]
            assert task["validation"]["jsonSchemaFile"]["path"].startswith("/")
            [volume] = [v for v in pod["volumes"] if "configMap" in v]
            assert volume["configMap"]["name"] == cm["metadata"]["name"]
            assert {"name": volume["name"], "mountPath": task["validation"]["jsonSchemaFile"]["path"].rsplit("/", 1)[0],
                    "readOnly": True} in container["volumeMounts"]  # fmt: skip

    totals = got["status"]["totals"]
    schema_violations = sum(t.reasons.get("schema", 0) for t in truth.values())
    assert schema_violations > 0
    assert totals["deadLetterReasons"].get("schema", 0) == schema_violations
    dead_letter = got["status"]["plan"]["deadLetterTopic"]
    dead = sum(len(key_values(kafka_bootstrap, dead_letter, p)) for p in range(PARTITIONS))
    assert dead == totals["deadLettered"] == sum(t.dead_lettered for t in truth.values())
