"""Carrying the sink promotion ledgers of chart 0.1.0 over into today's, so a sink keeps ONE ledger.

0.1.0 kept a sink's ledger at `er:{dst:<cluster id>:<topic>}:promoted`; every promotion since, of
a replay planned before the upgrade or after, uses `ers:{<cluster id>:<topic>}:promoted`
(`sink_keys.sink_ledger_key`). Were the old one left behind, a correction 0.1.0 promoted would not be
`alreadyPromoted` for a later replay, which would promote it a second time. So the operator copies
every committed entry (`C|<content hash>`) of each legacy ledger into the new key with HSETNX
(`carry_over_once`, run by `checkpoints.CheckpointReader.carry_legacy_sink_ledgers` before the
operator creates a Job that reads or writes a sink ledger in that Redis).

HSETNX: an id the new ledger already holds (promoted or claimed since the upgrade) is newer than
the legacy entry and is kept, so the copy is idempotent and safe to repeat. Open claims (`P|...`)
are not copied: they belong to a 0.1.0 promotion Job still running, which commits them into the
legacy ledger. While there are any, no marker is written (the carry-over runs again) and the
operator holds new promotions of that sink (`open_legacy_claims`, which also carries that sink's
ledger over just before the hold lifts). Once a carry-over finds no open claim anywhere it writes
`sink_keys.LEGACY_LEDGERS_CARRIED`, and every later one reads that key and scans nothing: a legacy
ledger written after that (a 0.1.0 Job still starting then) is never carried, which is why the
upgrade lets 0.1.0's promotion Jobs finish first (docs/operations.md "Upgrades").
The legacy keys are left as they are (`RENAME` cannot cross hash slots).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import redis

from eventreplay import installed_version
from eventreplay.worker.contract.sink_keys import (
    LEGACY_LEDGERS_CARRIED,
    LEGACY_SINK_LEDGERS,
    legacy_sink_ledger_key,
    sink_ledger_key,
    sink_ledger_of_legacy,
)

COMMITTED = b"C|"
"""The prefix of a committed entry (`worker/ledger/sink.py`), the same in both layouts."""
CLAIMED = b"P|"
"""The prefix of an open claim: its promotion's transaction has not committed (yet)."""
BATCH = 1000


class LedgerCarried(NamedTuple):
    """One legacy ledger carried over: entries new in the sink's ledger, open claims left behind."""

    carried: int
    open_claims: int


@dataclass(frozen=True)
class CarryOver:
    """What one carry-over did in a Redis."""

    carried: int = 0
    """Committed entries that were new in the sinks' ledgers."""
    open_claims: dict[str, int] = field(default_factory=dict)
    """Legacy ledgers holding open claims: key -> how many."""
    skipped: bool = False
    """The marker was there: nothing was scanned."""

    @property
    def settled(self) -> bool:
        """Every legacy ledger is carried for good (the marker is, or now was, written)."""
        return not self.open_claims


def carry_over_once(client: redis.Redis) -> CarryOver:
    """`carry_over` unless the marker says it was done; the marker written when no legacy ledger
    holds an open claim. RedisError propagates (the caller retries on its next pass)."""
    if client.exists(LEGACY_LEDGERS_CARRIED):
        return CarryOver(skipped=True)
    done = carry_over(client)
    if done.settled:
        client.set(LEGACY_LEDGERS_CARRIED, marker_value())
    return done


def marker_value(now: datetime | None = None) -> str:
    """When, and by which operator, the legacy sink ledgers were carried over for good."""
    at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{at} eventreplay-operator {installed_version()}"


def carry_over(client: redis.Redis) -> CarryOver:
    """Copy the committed entries of every legacy sink ledger in this Redis (a SCAN of the keyspace)
    into the sink's ledger, and count the open claims each holds."""
    carried, open_claims = 0, {}
    for raw in client.scan_iter(match=LEGACY_SINK_LEDGERS, count=BATCH, _type="HASH"):
        legacy = raw.decode() if isinstance(raw, bytes) else str(raw)
        one = _carry_one(client, legacy, sink_ledger_of_legacy(legacy))
        carried += one.carried
        if one.open_claims:
            open_claims[legacy] = one.open_claims
    return CarryOver(carried, open_claims)


def open_legacy_claims(client: redis.Redis, cluster: str, topic: str) -> int:
    """The open claims in one sink's legacy ledger (0 when it has none or no such ledger), its
    committed entries carried over first: what a 0.1.0 promotion committed since the last carry-over
    is in the sink's ledger before the next promotion of that sink starts."""
    return _carry_one(client, legacy_sink_ledger_key(cluster, topic), sink_ledger_key(cluster, topic)).open_claims


def _carry_one(client: redis.Redis, legacy: str, target: str) -> LedgerCarried:
    carried, claims = 0, 0
    pending: list[tuple[bytes, bytes]] = []
    for event_id, value in client.hscan_iter(legacy, count=BATCH):
        if value.startswith(COMMITTED):
            pending.append((event_id, value))
        elif value.startswith(CLAIMED):
            claims += 1
        if len(pending) >= BATCH:
            carried += _hsetnx(client, target, pending)
            pending = []
    return LedgerCarried(carried + _hsetnx(client, target, pending), claims)


def _hsetnx(client: redis.Redis, target: str, entries: list[tuple[bytes, bytes]]) -> int:
    if not entries:
        return 0
    pipe = client.pipeline(transaction=False)
    for event_id, value in entries:
        pipe.hsetnx(target, event_id, value)
    return sum(int(done) for done in pipe.execute())
