"""The dedup ledger in Redis: per event id, a content hash, in small listpack-encoded hashes.

Layout (every key of one ledger shares the hash tag `{<namespace>:<ledger>}`, so one slot holds them):
- production ledger  `er:{<ns>:<ledger>}:p:<slice hex>:<bucket hex>`  field = id digest (10 bytes),
  value = content hash (8 bytes) or `-` when the writer kept no hash. Written by production
  consumers through `ProductionLedger.mark()` (or `eventreplay-worker ledger mark`); only read by
  replays. Time is cut into slices of ttl/PRODUCTION_SLICES; a slice's buckets share one absolute
  expiry (EXPIREAT end of slice + ttl), which marking never pushes back, so an id lives between
  ttl and ttl + one slice whatever production keeps marking (Redis 7.0 has no per-field HEXPIRE).
  Readers look up the live slices, newest first.
- replay ledger      `er:{<ns>:<ledger>}:r:<uid>:<partition>:<bucket hex>`  field = id digest,
  value = content hash (8 bytes, empty when hashing is off) + the source offset (8 bytes, big
  endian) that first carried the id. Scoped to one replay and partition: "first offset wins" is
  deterministic, and a retried worker recognises its own earlier mark (same offset) instead of
  taking the event for a duplicate — a crash between marking and committing loses nothing.
Ids are hashed with BLAKE2b: bytes 0-9 are the field, bytes 10-13 pick the bucket. Buckets hold
~48 entries so Redis keeps them as listpacks (~25-35 B per entry, against ~120 B for a string key
with its own TTL); the TTL is per bucket, set on its first write and refreshed by a write once
it has fallen below 90 % (`ttlSeconds` must outlast the replay). Never evicted: the server
must run with maxmemory-policy noeviction.

Two ways to classify a batch, with the same verdicts:
- the script (`send`, `classify`): one EVALSHA whose argument is a packed blob (30 bytes per
  event), every verdict; `skipProcessed` replays use it for every batch (production comes first);
- native marks (`send_marks`, `withinReplay` replays): one pipelined HSETNX per event, the
  script's own first step without the script (1.4 µs of Redis per event against 2.7,
  `bench/bench_ledger.py`). A reply of 1 is the verdict N; a 0 (the id is marked already: a
  repeat, or an earlier attempt's mark) is `?`, and the caller sends those events through the
  script, which reads the mark and decides. Native
  writes only create absent marks and the script only rewrites present ones, so their order
  between pipelined batches cannot change a verdict. TTLs: each bucket gets one EXPIRE on its
  first native write of an epoch (a tenth of the TTL), so a bucket written in the last epoch
  holds at least 90 % of its TTL, as the script's refresh keeps it.
`send*()` return a ticket and `receive(ticket)` its verdicts, so the worker overlaps the round
trip with preparing the next batch (`ledger_wire.py` keeps the replies in order).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from hashlib import blake2b
from typing import Literal

import redis

from ..contract.defaults import DEFAULT_TTL_SECONDS
from ..contract.names import (
    Tenant,
    check_tenant,
    ledger_route,
    production_prefix,
    production_slice_prefix,
    replay_prefix,
)
from ..runtime.canonical import id_digest
from . import script as ledger_script
from .wire import FLAG_REPLY, LedgerWire

CONFLICTS = {
    "C": "same id with other content earlier in this replay",
    "X": "same id with other content in the production ledger",
}
"""The verdicts that make a record a `conflict` dead letter, and why, in words."""
PRODUCTION_BITS = 16
PRODUCTION_SLICES = 4  # slices per TTL: ids outlive the TTL by at most a quarter of it
ENTRIES_PER_BUCKET = 48
NO_HASH = b"-"
RECORD = 30  # 14 bytes id digest + 8 bytes content hash + 8 bytes offset
EPOCHS_PER_TTL = 10  # native marks re-arm a bucket's TTL once per tenth of it: >= 90 % left
MAX_KEY_PIECES = 1 << 17  # bucket heads kept between epochs (a bound on memory, not on buckets)
_VERDICT = bytes.maketrans(b"10", b"N?")
# A native mark's tail after its HSETNX head: field (id digest[:10]), value (content hash + offset).
MARK_FORMAT = {True: b"%s$10\r\n%s\r\n$16\r\n%s%s\r\n", False: b"%s$10\r\n%s\r\n$8\r\n%s\r\n"}

Mode = Literal["skipProcessed", "withinReplay"]


def content_hash(value: bytes) -> bytes:
    return blake2b(value, digest_size=8).digest()


def slice_seconds(ttl_seconds: int) -> int:
    return max(1, ttl_seconds // PRODUCTION_SLICES)


def live_slices(namespace: Tenant, ledger: str, ttl_seconds: int, now: float) -> list[str]:
    """Prefixes of the production slices that may still hold ids, newest first."""
    width = slice_seconds(ttl_seconds)
    newest = int(now) // width
    oldest = (int(now) - ttl_seconds) // width
    slices = [production_slice_prefix(namespace, ledger, g) for g in range(newest, oldest - 1, -1)]
    # The unsliced layout of before (one bucket level, `production_prefix`): no longer written,
    # still read until its keys expire, so marks made before an upgrade are not forgotten.
    return [*slices, production_prefix(namespace, ledger)]


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
    """What one worker uses: classify batches of events, one pipelined round trip each."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: Tenant,
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
        self._tenant, self._ledger = namespace, ledger
        self._production_ttl = production_ttl_seconds if mode == "skipProcessed" else 0
        self._prefix = replay_prefix(namespace, ledger, uid, partition)
        self.bucket_mask = bucket_count(span) - 1
        self._ttl = ttl_seconds
        self._args = [
            self._prefix,
            str(self.bucket_mask),
            "",  # the live production slices, filled per batch (a replay can outlive a slice)
            str((1 << PRODUCTION_BITS) - 1),
            str(ttl_seconds),
            "1" if hash_content else "0",
        ]
        self._route = ledger_route(namespace, ledger)  # declares the slot; every key shares its hash tag
        self.hashed = hash_content
        # withinReplay has no production lookup before the mark: native HSETNX gives verdict N.
        self.native = mode == "withinReplay"
        self.key_pieces: dict[int, bytes] = {}  # bucket -> its HSETNX head; present = EXPIREd this epoch
        self._fresh: list[bytes] = []  # keys written natively for the first time this epoch
        self._epoch = time.monotonic()
        self._wire: LedgerWire | None = None
        self._sha: str | None = None
        self._marks: dict[int, int] = {}  # ticket of a batch of native marks -> how many

    def _connection(self) -> LedgerWire:
        if self._wire is None:
            self._wire = LedgerWire(self._client.connection_pool.get_connection())
        return self._wire

    def send(self, blob: bytes) -> int:
        """Start classifying a batch (30-byte records from `pack`); `receive(ticket)` returns the result."""
        wire = self._connection()
        if self._sha is None:
            self._sha = self._client.script_load(ledger_script.SCRIPT)
        if self._production_ttl:
            self._args[2] = " ".join(live_slices(self._tenant, self._ledger, self._production_ttl, time.time()))
        return wire.request(wire.pack("EVALSHA", self._sha, 1, self._route, blob, *self._args), "bulk")

    def classify(self, blob: bytes) -> str:
        """The script's verdicts for a blob, now (batches still pending keep their turn)."""
        return self.receive(self.send(blob))

    # -- native marks ------------------------------------------------------------------------------
    def start_marks(self) -> dict[int, bytes]:
        """Before building a batch of native marks: the bucket heads known this epoch."""
        if time.monotonic() - self._epoch > self._ttl / EPOCHS_PER_TTL or len(self.key_pieces) > MAX_KEY_PIECES:
            self.key_pieces.clear()  # every bucket written from now on is EXPIREd again
            self._epoch = time.monotonic()
        return self.key_pieces

    def key_piece(self, bucket: int) -> bytes:
        """The RESP head of HSETNX on `bucket` (`*4 HSETNX <key>`); the bucket's EXPIRE is due."""
        key = b"%s%x" % (self._prefix.encode(), bucket)
        piece = self.key_pieces[bucket] = b"*4\r\n$6\r\nHSETNX\r\n$%d\r\n%s\r\n" % (len(key), key)
        self._fresh.append(key)
        return piece

    def mark_command(self, digest: bytes, content: bytes, offset: int) -> bytes:
        """One event's HSETNX (what `ReplayBatches._screen` builds inline): field, hash + offset."""
        bucket = int.from_bytes(digest[10:14], "big") & self.bucket_mask
        piece = self.key_pieces.get(bucket) or self.key_piece(bucket)
        tail = (content, offset.to_bytes(8, "big")) if self.hashed else (offset.to_bytes(8, "big"),)
        return MARK_FORMAT[self.hashed] % (piece, digest[:10], *tail)

    def send_marks(self, commands: list[bytes], count: int) -> int:
        """Send `count` HSETNX (from `mark_command`), then the EXPIRE of each bucket they opened."""
        ttl = b"%d" % self._ttl
        for key in self._fresh:
            commands.append(b"*3\r\n$6\r\nEXPIRE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(ttl), ttl))
        flags = count + len(self._fresh)
        self._fresh = []
        ticket = self._connection().request(b"".join(commands), "flags", flags)
        self._marks[ticket] = count
        return ticket

    def receive(self, ticket: int) -> str:
        """Verdicts (one character per event) of a batch sent; from native marks, `?` = ask the script."""
        reply = self._connection().take(ticket)  # raises ResponseError for an error reply
        marks = self._marks.pop(ticket, None)
        if marks is None:
            return reply.decode()
        return reply[1 : marks * FLAG_REPLY : FLAG_REPLY].translate(_VERDICT).decode()


class ProductionLedger:
    """The public API for production consumers: mark the events they processed.

    The ledger is named within the namespace of the replays that read it (`namespace`, their
    tenant in Redis: a Redis ACL user of that namespace may write it, no other).
    `skipProcessed` replays skip exactly the ids marked here with the same content hash (the
    hash of the Kafka value bytes), and dead-letter ids marked with another hash as conflicts.
    Mark only after your own output is durable: a crash in between must leave the event
    unmarked (it will be replayed), never marked and lost.

        ledger = ProductionLedger(redis.Redis.from_url(url), "orders", namespace="shop")
        ledger.mark([(event["event_id"], message.value()) for ...])
    """

    def __init__(
        self, client: redis.Redis, ledger: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, *, namespace: str
    ) -> None:
        self._client = client
        self._namespace, self._ledger = check_tenant(namespace), ledger
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
        return production_slice_prefix(self._namespace, self._ledger, self._generation)

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
        for prefix in live_slices(self._namespace, self._ledger, self._ttl, time.time()):
            pipe.hexists(prefix + bucket, field)
        return any(pipe.execute())
