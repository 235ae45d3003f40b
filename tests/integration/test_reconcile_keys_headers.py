"""Destination ids from a header and the record key compared, on real Kafka and Redis: production
wrote a sink keyed by customer whose records name their event id in a header (`x-event-id`); the
replay (`spec.sink.key: sourceKey`) is reconciled by that header (`eventId.source: header`), first
comparing values only, then with `compareKey`. A record whose value is right but whose key is not
(another key, a null key for a keyed record, an empty key for a null one) is unchanged by value and
changed with the key; promoting that report writes records the next keyed reconciliation finds
unchanged, so the key it compared is the key promotion wrote."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.step_tasks import Canonical, EventIdSource, ReconcileTask
from support.kafka_tools import create_topic, watermarks
from support.reconciliation_scenario import Scenario
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

IDS = 30
ID_HEADER = "x-event-id"
BY_HEADER = EventIdSource(source="header", header=ID_HEADER)
SHAPE = {"key": "sourceKey", "headers": {"deny": []}}
"""The source key, and the source headers kept (as the operator resolves `sink.key: sourceKey`): the
promoted records name their id in the header as production's do."""
Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
"""(key, value, headers) of a record production writes."""


def _event(i: int) -> tuple[str, bytes | None, bytes]:
    """Event i's id, source key (customers; e-19 and e-20 have none) and value."""
    event_id = f"e-{i:02d}"
    key = None if i in (19, 20) else f"customer-{i % 4}".encode()
    return event_id, key, orjson.dumps({"event_id": event_id, "amount": i})


def _production() -> tuple[list[Record], dict[str, set[str]]]:
    """What production wrote into the sink, and which ids count as changed without and with the key."""
    out: list[Record] = []
    for i in range(IDS):
        event_id, key, value = _event(i)
        named = [(ID_HEADER, event_id.encode())]
        if i in (17, 18) or i >= 22:
            continue  # never written: missing
        if 10 <= i <= 13:
            key = b"someone-else"  # the right value under another key
        elif i == 14:
            key = None  # a keyed record written without its key
        elif i == 19:
            key = b""  # an unkeyed record written with an empty key
        elif i in (15, 16):
            value = orjson.dumps({"event_id": event_id, "amount": -i})
        elif i == 21:
            named.append((ID_HEADER, b"decoy"))  # the first header of the name is the id
        out.append((key, value, named))
    out.append((b"customer-1", b'{"event_id": "x-1"}', [(ID_HEADER, b"x-1")]))  # extra
    out.append((b"customer-1", _event(0)[2], []))  # no id header: unidentified
    out.append((b"customer-1", _event(0)[2], [(ID_HEADER, b"")]))  # an empty id: unidentified
    by_value = {"e-15", "e-16"}
    return out, {"value": by_value, "key": by_value | {"e-10", "e-11", "e-12", "e-13", "e-14", "e-19"}}


def _replayed(steps: StepDriver) -> Scenario:
    u = steps.unique
    sc = Scenario(u, f"kh-src-{u}", f"kh-src-{u}-sb", f"kh-dst-{u}", 0, 0)
    for topic in (sc.source, sc.sandbox, sc.destination):
        create_topic(steps.admin, topic, 1)  # one sink partition: a promoted record is its id's last
    producer = Producer({"bootstrap.servers": steps.bootstrap, "enable.idempotence": True})
    for i in range(IDS):
        event_id, key, value = _event(i)
        producer.produce(sc.source, value, key, 0, headers=[(ID_HEADER, event_id.encode())])
    records, _ = _production()
    for key, value, headers in records:
        producer.produce(sc.destination, value, key, 0, headers=headers)
    assert producer.flush(60) == 0
    done = run_worker(make_task(steps.bootstrap, sc.source, u, IDS, sandbox=sc.sandbox, sink=SHAPE))
    assert done.returncode == 0, done.stderr
    return sc


def _reconciled(steps: StepDriver, sc: Scenario, *, key: bool) -> dict[str, Any]:
    """The report over the whole sink, ids read from the header, the key compared or not."""
    ends = [{"partition": 0, "startOffset": 0, "endOffset": watermarks(steps.bootstrap, sc.destination, 1)[0][1]}]
    task = steps.reconcile_task(sc, offsets=ends)
    report = task.report.model_copy(update={"sample_size": 50})
    task = task.model_copy(update={"event_id": BY_HEADER, "canonical": Canonical(key=key), "report": report})
    done = steps.run_job(ReconcileTask.model_validate_json(task.to_json()))
    assert done.returncode == 0, done.stderr
    return dict(orjson.loads(done.stdout))


def test_header_ids_and_the_compared_key(steps: StepDriver) -> None:
    sc = _replayed(steps)
    _, changed = _production()
    missing = {f"e-{i:02d}" for i in range(IDS) if i in (17, 18) or i >= 22}
    for compared in ("value", "key"):
        summary = _reconciled(steps, sc, key=compared == "key")
        report = summary["report"]
        counts, samples = report["counts"], report["samples"]
        assert (set(samples["changed"]), set(samples["missing"]), samples["extra"]) == (
            changed[compared],
            missing,
            ["x-1"],
        ), compared
        assert counts["unchanged"] == IDS - len(changed[compared]) - len(missing), compared
        assert (counts["unidentified"], counts["existingIds"]) == (2, IDS - len(missing) + 1), compared
        assert report["plan"]["eventId"] == {"source": "header", "header": ID_HEADER}
        form = "sorted-key-json+headers+key/v1" if compared == "key" else "sorted-key-json+headers/v1"
        assert report["plan"]["canonical"]["form"] == form

    # The keyed report promoted: its delta lands under the keys it compared with, so nothing differs now.
    promoted = steps.promoted(sc, summary["reportHash"])
    assert promoted["written"] == len(changed["key"]) + len(missing)
    again = _reconciled(steps, sc, key=True)["report"]["counts"]
    assert (again["unchanged"], again["changed"], again["missing"]) == (IDS, 0, 0)
    assert again.get("alreadyPromoted", 0) == 0  # unchanged by content, not by the ledger's say-so
