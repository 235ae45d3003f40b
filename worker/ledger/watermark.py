"""The replay ledger's watermark: proof, before each commit and on resume, that Redis still holds
every ledger mark the committed output relies on.

The ledger (`ledger.py`) keeps a repeated id out of the sandbox. If Redis loses marks (FLUSHALL, a
restart without the last second of its AOF, a failover, a TTL that ran out during a long pause), a
worker going on after that takes later copies of forgotten ids for new ones and emits them again:
a silent double. redis-py reconnects transparently, so nothing else notices.

`names.ledger_watermark_key` holds the source offset up to which this partition's marks are
written: set at a fresh start, raised after a transaction's last ledger verdict and before its
commit. Redis applies, persists and replicates writes in order, so a watermark that survived
proves the marks written before it did too.
- before a commit: the watermark must still be at the transaction's start offset or beyond; if not,
  marks went missing during the transaction, which is not committed (retriable: the resume decides);
- on resume at a committed offset past the start: the watermark must be at that offset or beyond;
  if not, the partition fails permanently, saying why (a retry would resume against the same hole).
A checkpoint of a worker from before the watermark (`Checkpoint.watermarked` unset) sets it instead.
"""

from __future__ import annotations

import logging

import redis

from ..contract.checkpoints import Checkpoint
from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.names import ledger_watermark_key
from ..contract.settings import redis_location
from ..contract.tasks import Task

log = logging.getLogger("eventreplay.worker")

# KEYS[1] the watermark; ARGV: the offset it must have reached, the new offset, the TTL. Raises it
# (never lowers it: a fenced zombie may still run its last transaction) and returns {1}, or {0, held}.
_RAISE = """
local held = redis.call('GET', KEYS[1])
if not held or tonumber(held) < tonumber(ARGV[1]) then return {0, held or ''} end
local new = math.max(tonumber(held), tonumber(ARGV[2]))
redis.call('SET', KEYS[1], string.format('%d', new), 'EX', ARGV[3])
return {1}
"""


class LedgerWatermark:
    def __init__(self, client: redis.Redis, task: Task) -> None:
        self._client = client
        self._key = ledger_watermark_key(
            task.replay.key_tenant, task.dedup.ledger, task.replay.uid, task.source.partition
        )
        self._ttl = task.dedup.ttl_seconds
        self._where = f"{task.source.topic}/{task.source.partition}"
        self._redis = redis_location(task.dedup.redis_url)
        self._raise = client.register_script(_RAISE)

    def open(self, ckpt: Checkpoint) -> None:
        """At start or resume: set the watermark (nothing committed yet, or an older worker's
        checkpoint), or prove that the ledger still reaches the committed offset."""
        try:
            if ckpt.committed_offset == ckpt.start_offset or not ckpt.watermarked:
                # Nothing committed: the ledger holds at most an aborted attempt's marks, which
                # carry their offsets (ledger.py), so it is exactly as good as empty.
                if ckpt.committed_offset != ckpt.start_offset:
                    log.warning("%s: a checkpoint without a ledger watermark (older worker): setting it", self._where)
                self._client.set(self._key, ckpt.committed_offset, ex=self._ttl)
                ckpt.watermarked = True
                return
            held = self._client.get(self._key)
        except redis.RedisError as err:
            raise RetriableFailure(f"dedup ledger watermark in Redis at {self._redis}: {err}") from err
        if held is None or int(held) < ckpt.committed_offset:
            raise PermanentFailure(
                f"the dedup ledger of {self._where} in Redis at {self._redis} lost marks: its watermark is "
                f"{'gone' if held is None else int(held)}, the committed output reaches offset "
                f"{ckpt.committed_offset} (Redis flushed, restarted without its last writes, failed over, or "
                "the ledger's ttlSeconds ran out); resuming would emit forgotten ids again. Replay the range "
                "as a new EventReplay (a new name gets a fresh ledger)"
            )

    def advance(self, start: int, end: int) -> None:
        """Before committing [start, end): the marks reach `start` still; the watermark moves to `end`."""
        try:
            reply = self._raise(keys=[self._key], args=[start, end, self._ttl])
        except redis.RedisError as err:
            raise RetriableFailure(f"dedup ledger watermark in Redis at {self._redis}: {err}") from err
        if int(reply[0]) != 1:
            held = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
            raise RetriableFailure(
                f"the dedup ledger of {self._where} in Redis at {self._redis} lost marks during the transaction "
                f"from offset {start} (its watermark is {held or 'gone'}): not committing it"
            )
