"""The sink's promotion ledger: which (event id, content) every promotion into one sink
already wrote, so no replay - whatever its name, window or timing - writes a correction twice.

One Redis hash per sink (Kafka cluster id + topic: `sink_keys.sink_ledger_key`), whoever promotes, no TTL.
An id is `C|hash` once a promotion's Kafka transaction that wrote it committed, or
`P|owner|partition|offset|hash|previous` while the writing transaction is open. A claim is
atomic per batch (a script): it refuses the whole batch when another promotion holds a pending
claim on one of its ids (that promotion may still commit: the caller retries later), skips ids
whose committed content equals the record's, and claims the rest. The owner (replay uid +
report hash) re-claims its own pending ids on retry; after a commit, and when it restarts, it
marks its claims below the committed sandbox offset as committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from ..contract import sink_keys
from ..contract.exit_codes import RetriableFailure
from ..contract.step_tasks import PromoteTask

_CLAIM = """
local owner, part = ARGV[1], ARGV[2]
local n = (#ARGV - 2) / 3
local cur = {}
for i = 1, n do
  local id = ARGV[3 * i]
  local v = redis.call('HGET', KEYS[1], id)
  cur[i] = v
  if v and string.sub(v, 1, 2) == 'P|' and string.match(v, '^P|([^|]*)|') ~= owner then
    return {'B', id, string.match(v, '^P|([^|]*)|')}
  end
end
local out = {}
for i = 1, n do
  local id, off, h = ARGV[3 * i], ARGV[3 * i + 1], ARGV[3 * i + 2]
  local v = cur[i]
  if v == 'C|' .. h then
    out[i] = 'S'
  else
    local prev = ''
    if v and string.sub(v, 1, 2) == 'C|' then prev = string.sub(v, 3)
    elseif v then prev = string.match(v, '|([^|]*)$') end
    redis.call('HSET', KEYS[1], id, 'P|' .. owner .. '|' .. part .. '|' .. off .. '|' .. h .. '|' .. prev)
    redis.call('SADD', KEYS[2], id)
    out[i] = 'W'
  end
end
return out
"""

# ARGV: owner, partition, below, ids...; no ids = every pending id of this owner and partition.
_SETTLE = """
local owner, part, below, commit = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local ids = {}
if #ARGV > 4 then for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
else ids = redis.call('SMEMBERS', KEYS[2]) end
local settled = 0
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[1], id)
  local o, p, off, h, prev
  if v then o, p, off, h, prev = string.match(v, '^P|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$') end
  if o == owner and p == part then
    if commit and tonumber(off) < below then
      redis.call('HSET', KEYS[1], id, 'C|' .. h)
      redis.call('SREM', KEYS[2], id)
      settled = settled + 1
    elseif not commit then
      if prev ~= '' then redis.call('HSET', KEYS[1], id, 'C|' .. prev) else redis.call('HDEL', KEYS[1], id) end
      redis.call('SREM', KEYS[2], id)
      settled = settled + 1
    end
  else
    redis.call('SREM', KEYS[2], id)
  end
end
return settled
"""


class Busy(Exception):
    """Another promotion (`holder`: its `owner_of`) holds an uncommitted claim on `event_id`."""

    def __init__(self, event_id: str, holder: str = "") -> None:
        super().__init__(event_id)
        self.event_id = event_id
        self.holder = holder

    @property
    def replay_uid(self) -> str:
        """The uid of the replay whose promotion holds the claim."""
        return self.holder.split(":", 1)[0]


class SinkLedger:
    """One promotion's (`owner`'s) view of a sink's ledger, for one sandbox partition."""

    def __init__(self, client: redis.Redis, cluster: str, topic: str, owner: str, partition: int) -> None:
        self.keys = [
            sink_keys.sink_ledger_key(cluster, topic),
            sink_keys.sink_pending_key(cluster, topic, owner, partition),
        ]
        self.owner, self.partition = owner, str(partition)
        self._claim = client.register_script(_CLAIM)
        self._settle = client.register_script(_SETTLE)

    @classmethod
    def of_promotion(cls, client: redis.Redis, cluster: str, task: PromoteTask, partition: int) -> SinkLedger:
        """The ledger a promotion task claims in from one sandbox partition: its sink's (`cluster` as
        `kafka_io.cluster_id` names it), whichever replay, namespace or project promotes."""
        return cls(client, cluster, task.sink_topic, owner_of(task.replay.uid, task.report_hash), partition)

    def claim(self, entries: Sequence[tuple[str, int, str]]) -> list[str]:
        """Per (id, sandbox offset, content hash): 'W' claimed (write it) or 'S' already promoted with
        this content (skip it). Raises Busy (nothing claimed) when another promotion holds one."""
        if not entries:
            return []
        args: list[str | int] = [self.owner, self.partition]
        for event_id, offset, content in entries:
            args += [event_id, offset, content]
        got = self._run(self._claim, args, "claiming")
        out = [x.decode() if isinstance(x, bytes) else str(x) for x in got]
        if out and out[0] == "B" and len(out) in (2, 3):
            raise Busy(out[1], out[2] if len(out) == 3 else "")
        return out

    def commit(self, below: int, ids: Sequence[str] = ()) -> int:
        """Mark this owner's claims (all pending ones when `ids` is empty) below `below` committed."""
        return int(self._run(self._settle, [self.owner, self.partition, below, 1, *ids], "committing"))

    def release(self, ids: Sequence[str]) -> int:
        """Give back claims whose transaction will not commit (restores the previous content)."""
        if not ids:
            return 0
        return int(self._run(self._settle, [self.owner, self.partition, 0, 0, *ids], "releasing"))

    def _run(self, script: Any, args: list[str | int], what: str) -> Any:
        try:
            return script(keys=self.keys, args=args)
        except redis.RedisError as err:
            raise RetriableFailure(f"Redis (sink promotion ledger, {what}): {err}") from err


def promoted_hashes(client: redis.Redis, cluster: str, topic: str, ids: Sequence[str]) -> dict[str, str]:
    """The committed content hash (hex) of each of `ids` already promoted into the sink, by any replay."""
    if not ids:
        return {}
    values: list[bytes | None] = client.hmget(sink_keys.sink_ledger_key(cluster, topic), list(ids))  # type: ignore[assignment]
    out = {}
    for event_id, raw in zip(ids, values, strict=True):
        if raw is not None and raw.startswith(b"C|"):
            out[event_id] = raw[2:].decode()
    return out


def owner_of(uid: str, report_hash: str) -> str:
    """One promotion: a replay's promotion of one report."""
    return f"{uid}:{report_hash[:16]}"
