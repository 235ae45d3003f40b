"""The sink record a sandbox record becomes: its key, partition, headers and timestamp.

The sandbox record is keyed by its event id and carries the shape the replay chose
(`contract/sink_record.py`) in headers: `er-sink-key` (the sink key, when it is not the event id)
and `er-source-timestamp`. Both are consumed here, not copied; the sandbox's other headers (the
kept source headers, `er-source-*`) are, the sandbox's `er-replay-uid` is replaced by the
promotion's headers.
"""

from __future__ import annotations

from typing import Any

from ..contract.headers import REPLAY_UID_HEADER, SINK_KEY_HEADER, SOURCE_TIMESTAMP_HEADER
from ..contract.sink_record import sink_key
from ..runtime.partitioner import java_partition
from ..runtime.produce import UNASSIGNED, Headers

JAVA_PARTITIONERS = ("murmur2_random", "murmur2")
"""The librdkafka partitioners that hash a key as Java's default partitioner does: with them a
keyed record's partition is computed here, so it never depends on the client; a null key is left
to the partitioner (`murmur2_random`: a random partition, as before)."""

CONSUMED = (SINK_KEY_HEADER, REPLAY_UID_HEADER)
"""Sandbox headers the sink record does not copy: the sink key is applied, the promotion's uid
replaces the replay's."""

SinkRecordParts = tuple[bytes | None, int, Headers, int]
"""(key, partition or UNASSIGNED, headers, timestamp in epoch ms or 0 for "now")."""


class SinkShape:
    def __init__(self, partitioner: str, partitions: int, promotion_headers: Headers) -> None:
        self.partitions = partitions if partitioner in JAVA_PARTITIONERS else 0
        self.promotion_headers = promotion_headers

    def record(self, msg: Any) -> SinkRecordParts:
        """The sink record's key, partition, headers and timestamp for one sandbox record."""
        carried = msg.headers() or ()
        key = sink_key(msg.key(), carried)
        stamp = 0
        headers: Headers = []
        for name, raw in carried:
            if name == SOURCE_TIMESTAMP_HEADER:
                stamp = int(raw)
            elif name not in CONSUMED:
                headers.append((name, raw))
        headers += self.promotion_headers
        partition = java_partition(key, self.partitions) if key is not None and self.partitions else UNASSIGNED
        return key, partition, headers, stamp
