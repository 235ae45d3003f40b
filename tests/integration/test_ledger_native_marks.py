"""Native ledger marks (one pipelined HSETNX per event, the script only for ids already marked)
against real Redis: the same verdicts and the same marks as the script alone, TTLs, errors."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest
import redis

from datagen.orders import MESSY
from eventreplay.worker.contract.names import replay_prefix
from eventreplay.worker.ledger import dedup as ledger_module
from eventreplay.worker.ledger.dedup import ReplayLedger, content_hash, id_digest, pack
from support.kafka_tools import seed_orders
from support.worker_run import TASK_NAMESPACE, orders_task, run_worker

pytestmark = pytest.mark.stack

TTL = 3600
Event = tuple[str, bytes, int]


def _ledger(redis_client: Any, unique: str, uid: str, *, hashed: bool = True, ttl: int = TTL) -> ReplayLedger:
    return ReplayLedger(
        redis_client,
        namespace=TASK_NAMESPACE,
        ledger=unique,
        uid=uid,
        partition=0,
        span=20_000,
        mode="withinReplay",
        ttl_seconds=ttl,
        hash_content=hashed,
    )


def _send_native(ledger: ReplayLedger, events: list[Event]) -> int:
    ledger.start_marks()
    commands = [ledger.mark_command(id_digest(i), content_hash(v), o) for i, v, o in events]
    return ledger.send_marks(commands, len(commands))


def _settle(ledger: ReplayLedger, ticket: int, events: list[Event]) -> str:
    """What the worker does with a native batch's verdicts: the script decides each `?`."""
    statuses = list(ledger.receive(ticket))
    asked = [k for k, status in enumerate(statuses) if status == "?"]
    if asked:
        verdicts = ledger.classify(b"".join(pack(*events[k], ledger.hashed) for k in asked))
        for k, verdict in zip(asked, verdicts, strict=True):
            statuses[k] = verdict
    return "".join(statuses)


def _marks(redis_client: Any, unique: str, uid: str) -> dict[bytes, dict[bytes, bytes]]:
    prefix = replay_prefix(TASK_NAMESPACE, unique, uid, 0).encode()
    keys = list(redis_client.scan_iter(match=prefix + b"*", count=1000))
    return {key[len(prefix) :]: redis_client.hgetall(key) for key in keys}


def _stream(rng: random.Random, count: int) -> list[Event]:
    """Ids drawn with repeats, a repeat sometimes with other content (a conflict)."""
    events: list[Event] = []
    for offset in range(count):
        event_id = f"id-{rng.randrange(count // 3)}"
        events.append((event_id, b"v" if rng.random() < 0.9 else b"w%d" % rng.randrange(3), offset))
    return events


@pytest.mark.parametrize("hashed", [True, False])
def test_native_marks_give_the_scripts_verdicts_and_marks(redis_client: Any, unique: str, hashed: bool) -> None:
    rng = random.Random(7)
    events = _stream(rng, 6000)
    batches = [events[i : i + 500] for i in range(0, len(events), 500)]
    scripted = _ledger(redis_client, unique, "script", hashed=hashed)
    expected = "".join(scripted.classify(b"".join(pack(*e, hashed) for e in batch)) for batch in batches)
    assert set(expected) >= ({"N", "D", "C"} if hashed else {"N", "D"})

    native = _ledger(redis_client, unique, "native", hashed=hashed)
    got = ""
    tickets = [_send_native(native, batches[0])]
    for k, batch in enumerate(batches):  # pipelined like the worker: batch k + 1 out before k is read
        if k + 1 < len(batches):
            tickets.append(_send_native(native, batches[k + 1]))
        got += _settle(native, tickets[k], batch)
    assert got == expected
    assert _marks(redis_client, unique, "native") == _marks(redis_client, unique, "script")

    # A retried attempt over the same offsets: every id is marked, the script recognises its own.
    again = _ledger(redis_client, unique, "native", hashed=hashed)
    redone = ""
    for batch in batches:
        redone += _settle(again, _send_native(again, batch), batch)
    assert redone == expected
    assert _marks(redis_client, unique, "native") == _marks(redis_client, unique, "script")


def test_an_attempt_that_got_further_loses_to_the_earlier_offset(redis_client: Any, unique: str) -> None:
    ledger = _ledger(redis_client, unique, "u")
    assert _settle(ledger, _send_native(ledger, [("c", b"1", 20)]), [("c", b"1", 20)]) == "N"
    # The retry reaches offset 15 first (its mark then carries 15), then 20 is the duplicate.
    retry = _ledger(redis_client, unique, "u")
    batch = [("c", b"1", 15), ("x", b"1", 16), ("c", b"1", 20)]
    assert _settle(retry, _send_native(retry, batch), batch) == "NND"


def test_each_bucket_gets_its_ttl_once_an_epoch(redis_client: Any, unique: str) -> None:
    ledger = _ledger(redis_client, unique, "u")
    events = [(f"id-{n}", b"v", n) for n in range(2000)]
    assert _settle(ledger, _send_native(ledger, events), events) == "N" * 2000
    marks = _marks(redis_client, unique, "u")
    prefix = replay_prefix(TASK_NAMESPACE, unique, "u", 0).encode()
    assert len(marks) > 100
    assert all(0.99 * TTL * 1000 < redis_client.pttl(prefix + b) <= TTL * 1000 for b in marks)

    # Within the epoch a bucket is armed once: one aged by hand stays as it is ...
    aged = prefix + next(iter(marks))
    redis_client.pexpire(aged, TTL * 500)
    more = [(f"more-{n}", b"v", 5000 + n) for n in range(4000)]
    _settle(ledger, _send_native(ledger, more), more)
    assert redis_client.pttl(aged) <= TTL * 500
    # ... and once a tenth of the TTL has passed, the next write arms it again.
    ledger._epoch = time.monotonic() - TTL / ledger_module.EPOCHS_PER_TTL - 1
    last = [(f"last-{n}", b"v", 10_000 + n) for n in range(4000)]
    _settle(ledger, _send_native(ledger, last), last)
    assert redis_client.pttl(aged) > TTL * 990
    assert all(redis_client.pttl(prefix + b) > 0 for b in _marks(redis_client, unique, "u"))


def test_an_error_reply_fails_the_batch_and_the_connection_is_not_reused(redis_client: Any, unique: str) -> None:
    ledger = _ledger(redis_client, unique, "u")
    events = [(f"id-{n}", b"v", n) for n in range(50)]
    digest = id_digest(events[10][0])
    bucket = int.from_bytes(digest[10:14], "big") & ledger.bucket_mask
    redis_client.set(replay_prefix(TASK_NAMESPACE, unique, "u", 0) + f"{bucket:x}", "not a hash")  # HSETNX: WRONGTYPE
    ticket = _send_native(ledger, events)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        ledger.receive(ticket)
    with pytest.raises(redis.ConnectionError, match="unusable"):
        _send_native(ledger, events)


def test_a_worker_leaves_the_marks_the_script_alone_leaves(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    """The worker's inlined native marks against a run that uses only the script (skipProcessed
    with an empty production ledger gives the same verdicts): same output, byte-identical marks."""
    topic = f"orders-{unique}"
    records = seed_orders(kafka_admin, kafka_bootstrap, topic, 3000, seed=5, mix=MESSY)
    summaries, marks = [], []
    for uid, mode in ((f"n{unique}", "withinReplay"), (f"s{unique}", "skipProcessed")):
        task = orders_task(kafka_bootstrap, topic, uid, records, batch_size=250, mode=mode, ledger=unique)
        done = run_worker(task)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        summaries.append({k: summary[k] for k in ("emitted", "duplicate", "processed", "deadLettered", "digest")})
        marks.append(_marks(redis_client, unique, uid))
    assert summaries[0] == summaries[1]
    assert summaries[0]["duplicate"] > 0
    assert sum(len(fields) for fields in marks[0].values()) > 2000
    assert marks[0] == marks[1]
