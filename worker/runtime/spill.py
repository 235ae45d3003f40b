"""Redis layout of reconciliation: the per-id working set, the delta, the extra ids, and the summary report.

One reconciliation run (a random `run` id, so a re-run never mixes with a crashed or older one;
both expire by TTL) spills into bucketed hashes sharing the hash tag `{<namespace>:rc:<uid>}` (`names.spill_prefix`):
- `er:{<ns>:rc:<uid>}:<run>:s:<bucket hex>`  replayed side. field = event id, value = per-id hash
  (16 B) + sandbox partition (4 B) + sandbox offset (8 B) of the copy that wins (HSETNX while
  reading partitions in ascending order, offsets ascending: lowest partition, then lowest
  offset wins; the worker writes sandbox p in source-offset order, so this is the source rule).
- `er:{<ns>:rc:<uid>}:<run>:e:<bucket hex>`  existing side. field = event id, value = per-id hash of
  the LAST record in (partition, offset) order (HSET while reading in that order). Deleted
  once compared.
- `er:{<ns>:rc:<uid>}:<run>:d:<bucket hex>`  the delta. field = event id, value = `changed` | `missing`.
- `er:{<ns>:rc:<uid>}:<run>:x:<bucket hex>`  the extra ids (existing only), value = `extra`; apart from
  the delta because promotion asks the delta alone. Deleted once published to the report topic.
- `er:{<ns>:rc:<uid>}:<run>:started`  written first, checked before the summary is stored: gone means
  Redis lost the working set meanwhile (`report_invariants.py`; `names.spill_marker_key`).
Buckets are the top `bits` of BLAKE2b-128(id) (`canonical.bucket_of`), ~48 entries each so
Redis keeps them as listpacks; every write refreshes the bucket's TTL.

Summary: `eventreplay:<namespace>:report:<uid>` (`names.report_key`) = `summaries.ReportSummary` as JSON (TTL =
report ttlSeconds): {"reportHash", "report": {plan, counts, replayedChecksum, existingChecksum,
samples, deltaByPartition}, "run", "bucketBits", "reportTopic", "completedAt"}
`reportHash` = SHA-256 of the canonical JSON of "report" (nothing run-specific is hashed, so a
re-run over the same data gives the same hash). Written last: its presence means complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from ..contract.names import Tenant, report_key, spill_marker_key, spill_prefix, spill_route
from ..contract.summaries import ReportSummary

# ARGV: ttl, mode ("first": keep the first value, "last": overwrite), prefix, then triples
# (bucket hex, field, value). Returns how many fields already existed (duplicates / superseded).
_SPILL = """
local ttl, first, prefix = tonumber(ARGV[1]), ARGV[2] == 'first', ARGV[3]
local existed, touched = 0, {}
for i = 4, #ARGV, 3 do
  local key = prefix .. ARGV[i]
  local added
  if first then added = redis.call('HSETNX', key, ARGV[i + 1], ARGV[i + 2])
  else added = redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2]) end
  if added == 0 then existed = existed + 1 end
  touched[key] = true
end
for k, _ in pairs(touched) do redis.call('EXPIRE', k, ttl) end
return existed
"""

# Promotion verdict per sandbox record. ARGV: replayed prefix, delta prefix, then triples
# (bucket hex, event id, partition+offset 12 B). W write (delta winner), I identical (not in
# the delta), D duplicate (another copy wins), U unknown (the working set lost it: refuse).
_VERDICT = """
local sp, dp, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV, 3 do
  local v = redis.call('HGET', sp .. ARGV[i], ARGV[i + 1])
  local status
  if not v then status = 'U'
  elseif string.sub(v, 17, 28) ~= ARGV[i + 2] then status = 'D'
  elseif redis.call('HEXISTS', dp .. ARGV[i], ARGV[i + 1]) == 1 then status = 'W'
  else status = 'I' end
  out[#out + 1] = status
end
return table.concat(out)
"""


def coords(partition: int, offset: int) -> bytes:
    return partition.to_bytes(4, "big") + offset.to_bytes(8, "big")


class Spill:
    """One run's working set: batched scripted writes (one round trip per batch), bucket reads."""

    def __init__(self, client: redis.Redis, tenant: Tenant, uid: str, run: str, ttl: int) -> None:
        self.client, self.tenant, self.uid, self.run, self.ttl = client, tenant, uid, run, ttl
        self._route = spill_route(tenant, uid)  # declares the slot; every key shares its hash tag
        self._spill = client.register_script(_SPILL)

    def start(self) -> int:
        """Mark the run begun (before any spill): `kept()` says whether Redis still has it. Then
        drop what earlier runs of this replay left that the stored report does not use (a killed
        or superseded run's working set would otherwise sit in Redis until its TTL); a run still
        going there fails its invariants (its marker is gone) instead of storing a report.
        Returns how many keys were dropped."""
        self.client.set(spill_marker_key(self.tenant, self.uid, self.run), b"1", ex=self.ttl)
        stored = load_summary(self.client, self.tenant, self.uid)
        keep = {self.run, stored.run if stored is not None else ""}
        prefix = self._route + ":"
        dropped, batch = 0, []
        for raw in self.client.scan_iter(match=prefix + "*", count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key[len(prefix) :].split(":", 1)[0] not in keep:
                batch.append(key)
            if len(batch) >= 500:
                dropped += int(self.client.unlink(*batch))
                batch = []
        if batch:
            dropped += int(self.client.unlink(*batch))
        return dropped

    def kept(self) -> bool:
        return bool(self.client.exists(spill_marker_key(self.tenant, self.uid, self.run)))

    def write(self, side: str, mode: str, triples: Sequence[tuple[str, str, bytes]]) -> int:
        """Write (bucket hex, id, value) triples to one side; returns how many ids already existed."""
        if not triples:
            return 0
        args: list[Any] = [self.ttl, mode, spill_prefix(self.tenant, self.uid, self.run, side)]
        for triple in triples:
            args.extend(triple)
        return int(self._spill(keys=[self._route], args=args))

    def read_buckets(self, first: int, count: int) -> list[tuple[dict[bytes, bytes], dict[bytes, bytes]]]:
        """(replayed, existing) hashes of buckets [first, first + count); existing ones are deleted."""
        pipe = self.client.pipeline(transaction=False)
        sp, ep = (spill_prefix(self.tenant, self.uid, self.run, side) for side in "se")
        for bucket in range(first, first + count):
            pipe.hgetall(f"{sp}{bucket:x}")
            pipe.hgetall(f"{ep}{bucket:x}")
            pipe.expire(f"{sp}{bucket:x}", self.ttl)  # promotion reads it: keep it as long as the report
            pipe.delete(f"{ep}{bucket:x}")
        replies = pipe.execute()
        return [(replies[i], replies[i + 1]) for i in range(0, len(replies), 4)]

    def write_listed(self, entries: Sequence[tuple[int, str, str]]) -> None:
        """(bucket, id, class) of the ids the report topic lists: changed and missing to the delta,
        extra to their own buckets."""
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        prefixes = {side: spill_prefix(self.tenant, self.uid, self.run, side) for side in "dx"}
        touched: set[str] = set()
        for bucket, event_id, cls in entries:
            key = f"{prefixes['x' if cls == 'extra' else 'd']}{bucket:x}"
            pipe.hset(key, event_id, cls)
            touched.add(key)
        for key in touched:
            pipe.expire(key, self.ttl)
        pipe.execute()

    def listed_buckets(self, first: int, count: int) -> list[dict[bytes, bytes]]:
        """id -> class of buckets [first, first + count), delta and extra ids; extra ones are deleted
        (nothing reads them after the report topic has them)."""
        pipe = self.client.pipeline(transaction=False)
        dp, xp = (spill_prefix(self.tenant, self.uid, self.run, side) for side in "dx")
        for bucket in range(first, first + count):
            pipe.hgetall(f"{dp}{bucket:x}")
            pipe.hgetall(f"{xp}{bucket:x}")
            pipe.delete(f"{xp}{bucket:x}")
        replies = pipe.execute()
        return [replies[i] | replies[i + 1] for i in range(0, len(replies), 3)]


class Verdicts:
    """What promotion asks per sandbox record: one scripted round trip per batch."""

    def __init__(self, client: redis.Redis, tenant: Tenant, uid: str, run: str) -> None:
        self._script = client.register_script(_VERDICT)
        self._route = spill_route(tenant, uid)
        self._prefixes = [spill_prefix(tenant, uid, run, "s"), spill_prefix(tenant, uid, run, "d")]

    def classify(self, triples: Sequence[tuple[str, str, bytes]]) -> str:
        if not triples:
            return ""
        args: list[Any] = list(self._prefixes)
        for triple in triples:
            args.extend(triple)
        reply = self._script(keys=[self._route], args=args)
        return reply.decode() if isinstance(reply, bytes) else str(reply)


def load_summary(client: redis.Redis, tenant: Tenant, uid: str) -> ReportSummary | None:
    """The stored reconciliation summary (`Reconciler` stores it), None when there is none."""
    raw = client.get(report_key(tenant, uid))
    return None if raw is None else ReportSummary.from_json(raw)
