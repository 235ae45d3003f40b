"""No silent restart: what a replay worker or a promoter does when its replay-private group has no
committed offset (the group was deleted, or its offsets expired: `offsets.retention.minutes` after
the group lost its members) although this replay already made progress.

Restarting from the range start would write the range (or the delta) a second time. Instead:
- the checkpoint mirror in Redis (written after every commit, so it lags the truth by at most one
  transaction) is the checkpoint kept elsewhere. A replay worker resumes from it once the sandbox
  and dead-letter partitions prove no later transaction committed output: every record of this
  replay there comes from a source offset below the mirror's next offset (the outputs are written
  in source order, one source partition per output partition). A later transaction that wrote
  nothing is simply replayed again: it writes nothing again.
- a promoter resumes from its mirror only when it says the partition is done; partial progress
  cannot be proven complete in a shared destination, so it fails permanently with what to do;
- with no mirror and no output of this replay, nothing was written: a fresh start is the right one.
Everything else fails permanently (EXIT_PERMANENT) with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis
from confluent_kafka import Consumer

from ..contract.checkpoints import Checkpoint, CheckpointBase, PromotionCheckpoint
from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.headers import SOURCE_OFFSET_HEADER
from ..contract.kafka_clients import watermarks
from ..contract.ownership import header, written_by
from ..contract.tasks import OffsetRange
from .range_reader import RangeReader

C = TypeVar("C", bound=CheckpointBase)
LOST = "has no committed offset (its group was deleted, or its offsets expired after offsets.retention.minutes)"


def read_mirror(client: redis.Redis, key: str, kind: type[C]) -> C | None:
    try:
        raw = client.get(key)
    except redis.RedisError as err:
        raise RetriableFailure(f"Redis (checkpoint mirror): {err}") from err
    return kind.from_json(raw) if raw else None


def last_source_offset(consumer: Consumer, topic: str, partition: int, uid: str, servers: str) -> int | None:
    """The highest er-source-offset among this replay's committed records in topic/partition."""
    low, high = watermarks(consumer, topic, partition, servers)
    if high <= low:
        return None
    mine, last = uid.encode(), None
    reader = RangeReader(consumer, topic, OffsetRange(partition=partition, start_offset=low, end_offset=high), 2000, 60)
    for batch in reader.batches():
        for msg in batch:
            headers = msg.headers()
            offset = header(headers, SOURCE_OFFSET_HEADER)
            if offset is not None and written_by(headers, mine):
                last = max(last or 0, int(offset))
    consumer.unassign()
    return last


def resume_replay(
    mirror: Checkpoint | None, same_plan: Callable[[Checkpoint], bool], written: int | None, where: str
) -> Checkpoint | None:
    """A replay worker without a committed offset: the mirror to resume from, None for a fresh start
    (nothing written), or a permanent failure. `written`: the highest source offset of this
    replay's records in the sandbox and dead-letter partitions (None: none)."""
    usable = mirror if mirror is not None and same_plan(mirror) else None
    if usable is not None and (written is None or written < usable.committed_offset):
        usable.state, usable.message = "running", ""
        return usable
    if usable is None and written is None:
        return None
    known = f"the checkpoint mirror ends at offset {usable.committed_offset}" if usable else "no checkpoint mirror"
    raise PermanentFailure(
        f"replay of {where} {LOST}, and the sandbox already holds this replay's output up to source offset "
        f"{written} ({known}): replaying again would write it twice. Create a new EventReplay to replay this "
        "window (it gets new topics)"
    )


def resume_promotion(
    mirror: PromotionCheckpoint | None, same_plan: Callable[[PromotionCheckpoint], bool], where: str
) -> PromotionCheckpoint | None:
    """A promoter without a committed offset: resume only a finished partition (nothing more to
    write); a fresh start when its mirror shows nothing written; else a permanent failure."""
    if mirror is None or not same_plan(mirror) or mirror.committed_offset <= mirror.start_offset:
        return None
    if mirror.committed_offset >= mirror.end_offset and mirror.state != "failed":
        return mirror
    raise PermanentFailure(
        f"promotion of {where} {LOST}, while its checkpoint shows {mirror.written} records written up to sandbox "
        f"offset {mirror.committed_offset}: promoting again could write them twice. Reconcile again (what "
        "was promoted then counts as unchanged) and approve the new report"
    )
