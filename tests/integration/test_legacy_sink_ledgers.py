"""Chart 0.1.0's sink ledgers carried over into the sink's one ledger (operator/legacy_sink_ledgers.py),
on the stack's real Redis: committed entries copied with HSETNX (what was promoted since the upgrade
wins), open claims not, idempotent; the operator's carry-over before its first Job, which leaves a
marker once no claim is open and scans nothing after; while a 0.1.0 promotion holds claims, the hold
of that sink's promotions, lifted once they commit (their entries carried first). Afterwards a
reconciler sees 0.1.0's corrections as already promoted and a promoter skips them.

The tests that write the marker use a logical database of their own (`MARKER_DB`): in the stack's
shared one it would stop every later carry-over of the tests and operators using it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from eventreplay import installed_version
from eventreplay.operator import legacy_sink_ledgers
from eventreplay.operator.checkpoints import CheckpointReader
from eventreplay.operator.conditions import Want
from eventreplay.operator.kafka import KafkaAccess
from eventreplay.operator.steps.facts import LegacyClaims
from eventreplay.operator.steps.promotion import legacy_hold
from eventreplay.worker.contract import sink_keys
from eventreplay.worker.ledger.sink import SinkLedger, promoted_hashes
from eventreplay.worker.runtime.kafka_io import cluster_id
from support.worker_run import REDIS_URL

pytestmark = pytest.mark.stack

MANY = 2 * legacy_sink_ledgers.BATCH + 17
"""More committed entries than one HSCAN page and one pipeline batch."""
MARKER_DB = 13
MARKER_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{MARKER_DB}"
RECONCILED = Want("Reconciled", "True", "Reconciled")


class ScanCounting(redis.Redis):
    """A client that counts its SCANs of the keyspace."""

    scans = 0

    def scan_iter(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.scans += 1
        return super().scan_iter(*args, **kwargs)


def drop(client: Any, cluster: str, topic: str) -> None:
    client.delete(sink_keys.legacy_sink_ledger_key(cluster, topic))
    client.delete(*client.scan_iter(match=sink_keys.sink_route(cluster, topic) + ":*"))


@pytest.fixture
def sink(redis_client: Any, unique: str) -> Iterator[tuple[str, str]]:
    """A (cluster id, topic) of this test alone; its ledgers and pending sets deleted afterwards."""
    cluster, topic = f"c-{unique}", f"out-{unique}"
    yield cluster, topic
    drop(redis_client, cluster, topic)


@pytest.fixture
def own_db(unique: str) -> Iterator[tuple[ScanCounting, str, str]]:
    """A client of `MARKER_DB`, without the marker, and a sink there; both gone afterwards."""
    client = ScanCounting.from_url(MARKER_URL)
    cluster, topic = f"c-{unique}", f"out-{unique}"
    client.delete(sink_keys.LEGACY_LEDGERS_CARRIED)
    yield client, cluster, topic
    client.delete(sink_keys.LEGACY_LEDGERS_CARRIED)
    drop(client, cluster, topic)
    client.close()


def test_committed_entries_of_0_1_0_are_carried_over_once_and_never_over_newer_ones(
    redis_client: Any, sink: tuple[str, str]
) -> None:
    cluster, topic = sink
    legacy, target = sink_keys.legacy_sink_ledger_key(cluster, topic), sink_keys.sink_ledger_key(cluster, topic)
    committed = {f"id-{i}": f"C|h{i}" for i in range(MANY)}
    redis_client.hset(legacy, mapping={**committed, "open": "P|u0:abc|0|5|hx|"})
    redis_client.hset(target, mapping={"id-3": "C|newer", "id-4": "P|u9:def|1|7|hy|h4"})  # since the upgrade

    first = legacy_sink_ledgers.carry_over(redis_client)
    assert first.carried >= MANY - 2
    assert first.open_claims.get(legacy) == 1, "the open claim counted, with its ledger"
    got = {k.decode(): v.decode() for k, v in redis_client.hgetall(target).items()}
    assert got == {**committed, "id-3": "C|newer", "id-4": "P|u9:def|1|7|hy|h4"}, "HSETNX: newer entries kept"
    assert "open" not in got, "an open claim of 0.1.0 is not carried"
    assert redis_client.hlen(legacy) == MANY + 1, "the legacy ledger is left as it was"

    again = legacy_sink_ledgers.carry_over(redis_client)
    assert {k.decode(): v.decode() for k, v in redis_client.hgetall(target).items()} == got
    assert again.carried <= first.carried - (MANY - 2), "nothing of this sink carried twice"


def test_the_operators_carry_over_comes_first_and_workers_then_skip_them(own_db: tuple[Any, str, str]) -> None:
    client, cluster, topic = own_db
    client.hset(sink_keys.legacy_sink_ledger_key(cluster, topic), mapping={"a": "C|h1", "b": "C|h2"})
    reader = CheckpointReader()
    try:
        assert reader.carry_legacy_sink_ledgers(MARKER_URL) is True, "no claim open: carried for good"
    finally:
        reader.close()
    assert installed_version() in client.get(sink_keys.LEGACY_LEDGERS_CARRIED).decode()
    # The reconciler finds them promoted; a promoter of the same content skips them.
    assert promoted_hashes(client, cluster, topic, ["a", "b", "c"]) == {"a": "h1", "b": "h2"}
    ledger = SinkLedger(client, cluster, topic, "u1:0123456789abcdef", 0)
    assert ledger.claim([("a", 10, "h1"), ("b", 11, "changed"), ("c", 12, "h3")]) == ["S", "W", "W"]


def test_an_open_0_1_0_claim_holds_its_sink_until_committed(own_db: tuple[ScanCounting, str, str]) -> None:
    client, cluster, topic = own_db
    legacy = sink_keys.legacy_sink_ledger_key(cluster, topic)
    client.hset(legacy, mapping={"a": "C|h1", "b": "P|u0:abc|0|5|h2|"})  # a 0.1.0 promotion under way
    reader = CheckpointReader()
    try:
        assert reader.carry_legacy_sink_ledgers(MARKER_URL) is False
        assert not client.exists(sink_keys.LEGACY_LEDGERS_CARRIED), "no marker while a claim is open"
        claims = LegacyClaims(legacy, reader.legacy_sink_claims(MARKER_URL, cluster, topic))
        assert claims.count == 1 and legacy_hold(claims, RECONCILED) is not None, "the sink's promotions wait"
        assert promoted_hashes(client, cluster, topic, ["a", "b"]) == {"a": "h1"}

        client.hset(legacy, "b", "C|h2")  # the 0.1.0 promotion committed
        claims = LegacyClaims(legacy, reader.legacy_sink_claims(MARKER_URL, cluster, topic))
        assert claims.count == 0 and legacy_hold(claims, RECONCILED) is None
        assert promoted_hashes(client, cluster, topic, ["a", "b"]) == {"a": "h1", "b": "h2"}, "carried first"
    finally:
        reader.close()
    assert legacy_sink_ledgers.carry_over_once(client).settled, "the next carry-over finds none open"
    assert client.exists(sink_keys.LEGACY_LEDGERS_CARRIED)


def test_after_the_marker_nothing_is_scanned_or_carried(own_db: tuple[ScanCounting, str, str]) -> None:
    client, cluster, topic = own_db
    first = legacy_sink_ledgers.carry_over_once(client)
    assert (first.skipped, first.settled, client.scans) == (False, True, 1)
    # A legacy ledger written after the marker (a 0.1.0 promotion that started late) is NOT carried:
    # why the marker waits for no open claim, and the upgrade for 0.1.0's promotion Jobs to finish.
    client.hset(sink_keys.legacy_sink_ledger_key(cluster, topic), "late", "C|h9")
    again = legacy_sink_ledgers.carry_over_once(client)
    assert (again.skipped, client.scans) == (True, 1), "the marker: no SCAN"
    assert promoted_hashes(client, cluster, topic, ["late"]) == {}
    client.delete(sink_keys.LEGACY_LEDGERS_CARRIED)  # what docs/operations.md says to do then
    assert legacy_sink_ledgers.carry_over_once(client).carried == 1 and client.scans == 2
    assert promoted_hashes(client, cluster, topic, ["late"]) == {"late": "h9"}


def test_the_operator_names_the_sinks_cluster_as_promoters_do(kafka_admin: Any, kafka_bootstrap: str) -> None:
    # The hold reads the legacy ledger promoters of this cluster would have written: the same name.
    named = KafkaAccess().cluster_id(kafka_bootstrap)
    assert named == cluster_id(kafka_admin, kafka_bootstrap) and named != kafka_bootstrap, "the reported id"
