"""Carrying the sink promotion ledgers of chart 0.1.0 over into today's, so a sink keeps ONE ledger.

0.1.0 kept a sink's ledger at `er:{dst:<cluster id>:<topic>}:promoted`; every promotion since, of
a replay planned before the upgrade or after, uses `ers:{<cluster id>:<topic>}:promoted`
(`sink_keys.sink_ledger_key`). Were the old one left behind, a correction 0.1.0 promoted would not be
`alreadyPromoted` for a later replay, which would promote it a second time. So the operator copies
every committed entry (`C|<content hash>`) of each legacy ledger into the new key with HSETNX, the
first time it connects to a Redis (`checkpoints.CheckpointReader`), before it can create any Job
that reads or writes a sink ledger there.

HSETNX: an id the new ledger already holds (promoted or claimed since the upgrade) is newer than
the legacy entry and is kept, so the copy is idempotent and safe to repeat at every start. Open
claims (`P|...`) are not copied: their promotion either committed them (then a later start finds
them `C|`) or not (then the destination does not hold them). The legacy keys are left as they are
(`RENAME` cannot cross hash slots, and a promotion Job of 0.1.0 still running writes them).
"""

from __future__ import annotations

import redis

from eventreplay.worker.contract.sink_keys import LEGACY_SINK_LEDGERS, sink_ledger_of_legacy

COMMITTED = b"C|"
"""The prefix of a committed entry (`worker/ledger/sink.py`), the same in both layouts."""
BATCH = 1000


def carry_over(client: redis.Redis) -> int:
    """Copy the committed entries of every legacy sink ledger in this Redis into the sink's ledger;
    how many entries were new there. RedisError propagates (the caller retries on its next pass)."""
    carried = 0
    for raw in client.scan_iter(match=LEGACY_SINK_LEDGERS, count=BATCH, _type="HASH"):
        legacy = raw.decode() if isinstance(raw, bytes) else str(raw)
        carried += _carry_one(client, legacy, sink_ledger_of_legacy(legacy))
    return carried


def _carry_one(client: redis.Redis, legacy: str, target: str) -> int:
    carried = 0
    pending: list[tuple[bytes, bytes]] = []
    for event_id, value in client.hscan_iter(legacy, count=BATCH):
        if value.startswith(COMMITTED):
            pending.append((event_id, value))
        if len(pending) >= BATCH:
            carried += _hsetnx(client, target, pending)
            pending = []
    return carried + _hsetnx(client, target, pending)


def _hsetnx(client: redis.Redis, target: str, entries: list[tuple[bytes, bytes]]) -> int:
    if not entries:
        return 0
    pipe = client.pipeline(transaction=False)
    for event_id, value in entries:
        pipe.hsetnx(target, event_id, value)
    return sum(int(done) for done in pipe.execute())
