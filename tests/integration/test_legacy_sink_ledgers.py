"""Chart 0.1.0's sink ledgers carried over into the sink's one ledger (operator/legacy_sink_ledgers.py),
on the stack's real Redis: committed entries copied with HSETNX (what was promoted since the upgrade
wins), open claims not, idempotent, done at the operator's first connection; afterwards a reconciler
sees 0.1.0's corrections as already promoted and a promoter skips them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eventreplay.operator import legacy_sink_ledgers
from eventreplay.operator.checkpoints import CheckpointReader
from eventreplay.worker.contract import sink_keys
from eventreplay.worker.ledger.sink import SinkLedger, promoted_hashes
from support.worker_run import REDIS_URL

pytestmark = pytest.mark.stack

MANY = 2 * legacy_sink_ledgers.BATCH + 17
"""More committed entries than one HSCAN page and one pipeline batch."""


@pytest.fixture
def sink(redis_client: Any, unique: str) -> Iterator[tuple[str, str]]:
    """A (cluster id, topic) of this test alone; its ledgers and pending sets deleted afterwards."""
    cluster, topic = f"c-{unique}", f"out-{unique}"
    yield cluster, topic
    redis_client.delete(sink_keys.legacy_sink_ledger_key(cluster, topic))
    redis_client.delete(*redis_client.scan_iter(match=sink_keys.sink_route(cluster, topic) + ":*"))


def test_committed_entries_of_0_1_0_are_carried_over_once_and_never_over_newer_ones(
    redis_client: Any, sink: tuple[str, str]
) -> None:
    cluster, topic = sink
    legacy, target = sink_keys.legacy_sink_ledger_key(cluster, topic), sink_keys.sink_ledger_key(cluster, topic)
    committed = {f"id-{i}": f"C|h{i}" for i in range(MANY)}
    redis_client.hset(legacy, mapping={**committed, "open": "P|u0:abc|0|5|hx|"})
    redis_client.hset(target, mapping={"id-3": "C|newer", "id-4": "P|u9:def|1|7|hy|h4"})  # since the upgrade

    first = legacy_sink_ledgers.carry_over(redis_client)
    assert first >= MANY - 2
    got = {k.decode(): v.decode() for k, v in redis_client.hgetall(target).items()}
    assert got == {**committed, "id-3": "C|newer", "id-4": "P|u9:def|1|7|hy|h4"}, "HSETNX: newer entries kept"
    assert "open" not in got, "an open claim of 0.1.0 is not carried"
    assert redis_client.hlen(legacy) == MANY + 1, "the legacy ledger is left as it was"

    again = legacy_sink_ledgers.carry_over(redis_client)
    assert {k.decode(): v.decode() for k, v in redis_client.hgetall(target).items()} == got
    assert again <= first - (MANY - 2), "nothing of this sink carried twice"


def test_the_operators_first_connection_carries_them_and_workers_then_skip_them(
    redis_client: Any, sink: tuple[str, str]
) -> None:
    cluster, topic = sink
    redis_client.hset(sink_keys.legacy_sink_ledger_key(cluster, topic), mapping={"a": "C|h1", "b": "C|h2"})
    reader = CheckpointReader()
    try:
        reader.connect(REDIS_URL)
    finally:
        reader.close()
    # The reconciler finds them promoted; a promoter of the same content skips them.
    assert promoted_hashes(redis_client, cluster, topic, ["a", "b", "c"]) == {"a": "h1", "b": "h2"}
    ledger = SinkLedger(redis_client, cluster, topic, "u1:0123456789abcdef", 0)
    assert ledger.claim([("a", 10, "h1"), ("b", 11, "changed"), ("c", 12, "h3")]) == ["S", "W", "W"]
