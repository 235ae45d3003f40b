"""The dedup ledger in Redis: per event id, a content hash, in small listpack-encoded hashes.

Layout (all keys of one ledger share the hash tag `{ledger}`, so a script touches one slot):
- production ledger  `er:{<ledger>}:p:<bucket>`  field = id digest, value = content hash
  (8 bytes) or `-` when the writer recorded no hash. Written by production consumers through
  `ProductionLedger.mark()` (or `eventreplay-worker ledger mark`); read-only to replays.
- replay ledger      `er:{<ledger>}:r:<uid>:<partition>:<bucket>`  field = id digest,
  value = content hash + the source offset that first carried the id. Scoped to one replay
  and one partition, so "first offset wins" is deterministic, and a retried worker recognises
  its own earlier mark (same offset) instead of mistaking the event for a duplicate.
Ids are hashed (BLAKE2b-128): 4 bytes pick the bucket, 10 more are the field (80 bits inside a
bucket of ~50 entries: no realistic collision). Buckets hold ~48 entries so Redis keeps them as
listpacks (~25 B per entry instead of ~120 B for a string key with a TTL); the TTL is per bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any, Literal

import redis

PRODUCTION_BUCKETS = 1 << 16
ENTRIES_PER_BUCKET = 48
NO_HASH = b"-"

# One round trip per batch. Status per event: N new (emit), D duplicate inside the replay,
# P processed by production (same content), C conflict inside the replay, X conflict with production.
_SCRIPT = """
local ttl = tonumber(ARGV[1])
local skip = ARGV[2] == 's'
local hl = tonumber(ARGV[3])
local n = (#ARGV - 3) / 3
local out = {}
local touched = {}
for i = 1, n do
  local f, h, off = ARGV[1 + 3 * i], ARGV[2 + 3 * i], ARGV[3 + 3 * i]
  local status = false
  if skip then
    local pv = redis.call('HGET', KEYS[n + i], f)
    if pv then
      if hl == 0 or pv == '-' or pv == h then status = 'P' else status = 'X' end
    end
  end
  if not status then
    local rk = KEYS[i]
    local rv = redis.call('HGET', rk, f)
    if not rv then
      redis.call('HSET', rk, f, h .. off)
      touched[rk] = true
      status = 'N'
    else
      local seen, now = tonumber(string.sub(rv, hl + 1)), tonumber(off)
      if seen == now then
        status = 'N'
      elseif now < seen then
        redis.call('HSET', rk, f, h .. off)
        touched[rk] = true
        status = 'N'
      elseif hl > 0 and string.sub(rv, 1, hl) ~= h then
        status = 'C'
      else
        status = 'D'
      end
    end
  end
  out[i] = status
end
for k, _ in pairs(touched) do redis.call('EXPIRE', k, ttl) end
return table.concat(out)
"""

Status = Literal["N", "D", "P", "C", "X"]


def id_digest(event_id: str) -> bytes:
    return blake2b(event_id.encode(), digest_size=16).digest()


def content_hash(value: bytes) -> bytes:
    return blake2b(value, digest_size=8).digest()


def bucket_count(entries: int) -> int:
    """Power of two so that buckets hold about ENTRIES_PER_BUCKET entries (listpack-sized)."""
    want = max(1, entries // ENTRIES_PER_BUCKET)
    return 1 << min(20, (want - 1).bit_length())


def production_prefix(ledger: str) -> str:
    return f"er:{{{ledger}}}:p:"


def replay_prefix(ledger: str, uid: str, partition: int) -> str:
    return f"er:{{{ledger}}}:r:{uid}:{partition}:"


@dataclass
class Candidate:
    event_id: str
    value: bytes
    offset: int


class ReplayLedger:
    """What one worker uses: classify a batch of candidates in one scripted round trip."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ledger: str,
        uid: str,
        partition: int,
        span: int,
        mode: Literal["skipProcessed", "withinReplay"],
        ttl_seconds: int,
        hash_content: bool,
    ) -> None:
        self._client = client
        self._script = client.register_script(_SCRIPT)
        self._replay_prefix = replay_prefix(ledger, uid, partition)
        self._replay_mask = bucket_count(span) - 1
        self._production = production_prefix(ledger)
        self._skip = mode == "skipProcessed"
        self._ttl = str(ttl_seconds)
        self._hash = hash_content

    def classify(self, batch: Sequence[Candidate]) -> str:
        """One status character per candidate, in order."""
        if not batch:
            return ""
        keys: list[str] = []
        prod_keys: list[str] = []
        args: list[Any] = [self._ttl, "s" if self._skip else "w", "8" if self._hash else "0"]
        for cand in batch:
            digest = id_digest(cand.event_id)
            bucket = int.from_bytes(digest[:4], "big")
            keys.append(f"{self._replay_prefix}{bucket & self._replay_mask:x}")
            if self._skip:
                prod_keys.append(f"{self._production}{bucket & (PRODUCTION_BUCKETS - 1):x}")
            args.append(digest[4:14])
            args.append(content_hash(cand.value) if self._hash else b"")
            args.append(cand.offset)
        result = self._script(keys=keys + prod_keys, args=args)
        return result.decode() if isinstance(result, bytes) else str(result)


class ProductionLedger:
    """The public API for production consumers: mark the events they processed.

    `skipProcessed` replays skip exactly the ids marked here with the same content hash, and
    quarantine ids marked with another hash as conflicts. Mark after your own output is
    durable (never before): a crash in between must leave the event unmarked, not lost.

        ledger = ProductionLedger(redis.Redis.from_url(url), "orders")
        ledger.mark([(event["event_id"], raw_value_bytes) for ...])
    """

    def __init__(self, client: redis.Redis, ledger: str, ttl_seconds: int = 7 * 24 * 3600) -> None:
        self._client = client
        self._prefix = production_prefix(ledger)
        self._ttl = ttl_seconds

    def _slot(self, event_id: str) -> tuple[str, bytes]:
        digest = id_digest(event_id)
        bucket = int.from_bytes(digest[:4], "big") & (PRODUCTION_BUCKETS - 1)
        return f"{self._prefix}{bucket:x}", digest[4:14]

    def mark(self, events: Iterable[tuple[str, bytes | None]], batch: int = 1000) -> int:
        """Mark (event id, raw value bytes or None for "no hash") as processed. Returns the count."""
        count = 0
        pipe = self._client.pipeline(transaction=False)
        for event_id, value in events:
            key, field = self._slot(event_id)
            pipe.hset(key, field, NO_HASH if value is None else content_hash(value))
            pipe.expire(key, self._ttl)
            count += 1
            if count % batch == 0:
                pipe.execute()
        pipe.execute()
        return count

    def contains(self, event_id: str) -> bool:
        key, field = self._slot(event_id)
        return bool(self._client.hexists(key, field))
