"""The dedup ledger in Redis: per event id, a content hash, in small listpack-encoded hashes.

Layout (every key of one ledger shares the hash tag `{ledger}`, so one slot holds them):
- production ledger  `er:{<ledger>}:p:<slice hex>:<bucket hex>`  field = id digest (10 bytes),
  value = content hash (8 bytes) or `-` when the writer kept no hash. Written by production
  consumers through `ProductionLedger.mark()` (or `eventreplay-worker ledger mark`); only read by
  replays. Time is cut into slices of ttl/PRODUCTION_SLICES; a slice's buckets share one absolute
  expiry (EXPIREAT end of slice + ttl), which marking never pushes back, so an id lives between
  ttl and ttl + one slice whatever production keeps marking (Redis 7.0 has no per-field HEXPIRE).
  Readers look up the live slices, newest first.
- replay ledger      `er:{<ledger>}:r:<uid>:<partition>:<bucket hex>`  field = id digest,
  value = content hash (8 bytes, empty when hashing is off) + the source offset (8 bytes, big
  endian) that first carried the id. Scoped to one replay and partition: "first offset wins" is
  deterministic, and a retried worker recognises its own earlier mark (same offset) instead of
  taking the event for a duplicate — a crash between marking and committing loses nothing.
Ids are hashed with BLAKE2b: bytes 0-9 are the field, bytes 10-13 pick the bucket. Buckets hold
~48 entries so Redis keeps them as listpacks (~25-35 B per entry, against ~120 B for a string key
with its own TTL); the TTL is per bucket, set on its first write and refreshed by a write once
it has fallen below 90 % (`ttlSeconds` must outlast the replay). Never evicted: the server
must run with maxmemory-policy noeviction.

One batch is one EVAL whose argument is a packed blob (30 bytes per event), so the client does
almost no per-event work; `send()` and `receive()` are split so the worker overlaps the round
trip with preparing the next batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from hashlib import blake2b
from typing import Literal

import redis

from .contract.defaults import DEFAULT_TTL_SECONDS
from .contract.names import ledger_route, production_prefix, production_slice_prefix, replay_prefix

PRODUCTION_BITS = 16
PRODUCTION_SLICES = 4  # slices per TTL: ids outlive the TTL by at most a quarter of it
ENTRIES_PER_BUCKET = 48
NO_HASH = b"-"
RECORD = 30  # 14 bytes id digest + 8 bytes content hash + 8 bytes offset

# Status per event: N new (emit), D duplicate inside the replay, P processed by production with
# the same content, C conflict inside the replay, X conflict with the production ledger.
_SCRIPT = """
local blob, rprefix, rbuckets = ARGV[1], ARGV[2], tonumber(ARGV[3]) + 1
local pprefixes, pbuckets, ttl, hashed = ARGV[4], tonumber(ARGV[5]) + 1, tonumber(ARGV[6]), ARGV[7] == '1'
local floor = ttl * 900  -- milliseconds: refresh a bucket's TTL once it has fallen below 90 %
local sub, byte, fmt, call = string.sub, string.byte, string.format, redis.call
local out, touched = {}, {}
for i = 0, #blob / 30 - 1 do
  local base = i * 30
  local field = sub(blob, base + 1, base + 10)
  local b1, b2, b3, b4 = byte(blob, base + 11, base + 14)
  local bucket = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local h = hashed and sub(blob, base + 15, base + 22) or ''
  local off = sub(blob, base + 23, base + 30)
  local status = false
  if pprefixes ~= '' then
    local pb = fmt('%x', bucket % pbuckets)
    for pprefix in string.gmatch(pprefixes, '%S+') do  -- live slices, newest first
      local pv = call('HGET', pprefix .. pb, field)
      if pv then
        if (not hashed) or pv == '-' or pv == h then status = 'P' else status = 'X' end
        break
      end
    end
  end
  if not status then
    local rk = rprefix .. fmt('%x', bucket % rbuckets)
    -- One command for the common case (a new id); the rest read the mark that is there.
    if call('HSETNX', rk, field, h .. off) == 1 then
      status = 'N'
      touched[rk] = true
    else
      local rv = call('HGET', rk, field)
      local seen = sub(rv, -8)
      if seen == off then
        status = 'N'  -- our own mark from an attempt that did not commit
      elseif struct.unpack('>I8', off) < struct.unpack('>I8', seen) then
        -- numbers, not strings: Lua compares strings with strcoll, which follows Redis's locale
        status = 'N'  -- an attempt got further before crashing: the first offset wins
        call('HSET', rk, field, h .. off)
        touched[rk] = true
      elseif hashed and sub(rv, 1, 8) ~= h then
        status = 'C'
      else
        status = 'D'
      end
    end
  end
  out[i + 1] = status
end
-- PTTL is a read (not written to the AOF): refreshing only below 90 % saves an EXPIRE per write.
for k, _ in pairs(touched) do
  if call('PTTL', k) < floor then call('EXPIRE', k, ttl) end
end
return table.concat(out)
"""

Mode = Literal["skipProcessed", "withinReplay"]


def id_digest(event_id: str) -> bytes:
    return blake2b(event_id.encode(), digest_size=16).digest()


def content_hash(value: bytes) -> bytes:
    return blake2b(value, digest_size=8).digest()


def slice_seconds(ttl_seconds: int) -> int:
    return max(1, ttl_seconds // PRODUCTION_SLICES)


def live_slices(ledger: str, ttl_seconds: int, now: float) -> list[str]:
    """Prefixes of the production slices that may still hold ids, newest first."""
    width = slice_seconds(ttl_seconds)
    newest = int(now) // width
    oldest = (int(now) - ttl_seconds) // width
    slices = [production_slice_prefix(ledger, g) for g in range(newest, oldest - 1, -1)]
    # The unsliced layout of before (one bucket level, `production_prefix`): no longer written,
    # still read until its keys expire, so marks made before an upgrade are not forgotten.
    return [*slices, production_prefix(ledger)]


def bucket_count(entries: int) -> int:
    """Power of two so that buckets hold about ENTRIES_PER_BUCKET entries (listpack-sized)."""
    want = max(1, entries // ENTRIES_PER_BUCKET)
    return 1 << min(24, (want - 1).bit_length())


def pack(event_id: str, value: bytes, offset: int, hashed: bool = True) -> bytes:
    """One event's 30-byte record in a batch blob."""
    return b"".join(
        (
            blake2b(event_id.encode(), digest_size=16).digest()[:14],
            blake2b(value, digest_size=8).digest() if hashed else bytes(8),
            offset.to_bytes(8, "big"),
        )
    )


class ReplayLedger:
    """What one worker uses: classify batches of events, one scripted round trip each."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ledger: str,
        uid: str,
        partition: int,
        span: int,
        mode: Mode,
        ttl_seconds: int,
        hash_content: bool,
        production_ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._production_ttl = production_ttl_seconds if mode == "skipProcessed" else 0
        self._args = [
            replay_prefix(ledger, uid, partition),
            str(bucket_count(span) - 1),
            "",  # the live production slices, filled per batch (a replay can outlive a slice)
            str((1 << PRODUCTION_BITS) - 1),
            str(ttl_seconds),
            "1" if hash_content else "0",
        ]
        self._route = ledger_route(ledger)  # declares the slot; every key shares its hash tag
        self.hashed = hash_content
        self._conn: redis.connection.Connection | None = None
        self._sha: str | None = None
        self._pending = 0

    def send(self, blob: bytes) -> None:
        """Start classifying a batch (30-byte records from `pack`); `receive()` returns the result."""
        if self._conn is None:
            self._conn = self._client.connection_pool.get_connection()
        if self._sha is None:
            self._sha = self._client.script_load(_SCRIPT)
        if self._production_ttl:
            self._args[2] = " ".join(live_slices(self._ledger, self._production_ttl, time.time()))
        self._conn.send_command("EVALSHA", self._sha, 1, self._route, blob, *self._args)  # type: ignore[no-untyped-call]
        self._pending += 1

    def receive(self) -> str:
        """Statuses (one character per event) of the oldest batch sent."""
        assert self._conn is not None and self._pending > 0
        self._pending -= 1
        reply = self._conn.read_response()  # raises ResponseError for an error reply
        return reply.decode() if isinstance(reply, bytes) else str(reply)

    def classify(self, blob: bytes) -> str:
        self.send(blob)
        return self.receive()


class ProductionLedger:
    """The public API for production consumers: mark the events they processed.

    `skipProcessed` replays skip exactly the ids marked here with the same content hash (the
    hash of the Kafka value bytes), and dead-letter ids marked with another hash as conflicts.
    Mark only after your own output is durable: a crash in between must leave the event
    unmarked (it will be replayed), never marked and lost.

        ledger = ProductionLedger(redis.Redis.from_url(url), "orders")
        ledger.mark([(event["event_id"], message.value()) for ...])
    """

    def __init__(self, client: redis.Redis, ledger: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._client = client
        self._ledger = ledger
        self._ttl = ttl_seconds

    @staticmethod
    def _slot(event_id: str) -> tuple[str, bytes]:
        digest = id_digest(event_id)
        bucket = int.from_bytes(digest[10:14], "big") & ((1 << PRODUCTION_BITS) - 1)
        return f"{bucket:x}", digest[:10]

    def mark(self, events: Iterable[tuple[str, bytes | None]], batch: int = 1000) -> int:
        """Mark (event id, raw value bytes, or None to keep no hash) as processed. Returns the count."""
        count = 0
        pipe = self._client.pipeline(transaction=False)
        touched: set[str] = set()
        prefix = self._current_slice()
        for event_id, value in events:
            bucket, field = self._slot(event_id)
            key = prefix + bucket
            pipe.hset(key, field, NO_HASH if value is None else content_hash(value))
            touched.add(key)
            count += 1
            if count % batch == 0:
                self._flush(pipe, touched)
                prefix = self._current_slice()
        self._flush(pipe, touched)
        return count

    def _current_slice(self) -> str:
        width = slice_seconds(self._ttl)
        self._generation = int(time.time()) // width
        self._expires_at = (self._generation + 1) * width + self._ttl
        return production_slice_prefix(self._ledger, self._generation)

    def _flush(self, pipe: redis.client.Pipeline, touched: set[str]) -> None:
        # One EXPIREAT per bucket written; the same instant for the whole slice, so steady
        # marking never postpones it (a re-armed relative TTL would keep every id forever).
        for key in touched:
            pipe.expireat(key, self._expires_at)
        pipe.execute()
        touched.clear()

    def contains(self, event_id: str) -> bool:
        bucket, field = self._slot(event_id)
        pipe = self._client.pipeline(transaction=False)
        for prefix in live_slices(self._ledger, self._ttl, time.time()):
            pipe.hexists(prefix + bucket, field)
        return any(pipe.execute())
