"""Every Kafka header the worker writes on a record another process reads (`er-*`), defined once.

They are a stored format: the sandbox, dead-letter, report, results and destination topics keep
them, the operator reads the replay uid back (who wrote a topic), and users filter a sink's
promoted records by them. Renaming one strands every record written before.
"""

from __future__ import annotations

RESERVED_PREFIX = "er-"
"""Every header below starts so; a source record's headers of that prefix are never copied onto a
replayed record (`sink_record.py`): the replay's own always win."""

REPLAY_UID_HEADER = "er-replay-uid"
"""On every sandbox, dead-letter, report and results record: the uid of the replay that wrote it.
Reconcile and promote read only records carrying their own uid (a second defence after the topic
name); promotion swaps it for the promotion headers below."""

# --- Where a replayed record came from: on every sandbox and dead-letter record.

SOURCE_TOPIC_HEADER = "er-source-topic"
SOURCE_PARTITION_HEADER = "er-source-partition"
SOURCE_OFFSET_HEADER = "er-source-offset"
"""Also what a restarted worker reads back to prove what an earlier attempt wrote (`restart_guard`)."""

# --- Where a redriven record was first read (`worker/replay/origin.py`): on the sandbox, dead-letter
# and promoted records of a replay whose source is a dead-letter topic. The er-source-* headers
# above keep naming the record the worker read (the dead letter), as the restart guard needs.

ORIGIN_TOPIC_HEADER = "er-origin-topic"
ORIGIN_PARTITION_HEADER = "er-origin-partition"
ORIGIN_OFFSET_HEADER = "er-origin-offset"

# --- Why a record was dead-lettered (`worker/replay/dead_letter.py`).

REASON_HEADER = "er-reason"
"""The reason class (`worker/replay/validate.py`): malformed_json, schema, oversized, ..."""
ERROR_HEADER = "er-error"
"""The validation or transform error, in words."""
TRUNCATED_HEADER = "er-truncated"
"""`true` on the dead letter of a record too large to be copied whole (its value is cut)."""
SIZE_HEADER = "er-value-bytes"
"""The size of the whole value of a truncated dead letter."""
SHA256_HEADER = "er-value-sha256"
"""SHA-256 (hex) of the whole value of a truncated dead letter."""

# --- Reconciliation and promotion.

REPORT_HASH_HEADER = "er-report-hash"
"""On every report-topic record and every promoted record: the report it belongs to."""
PROMOTED_BY_HEADER = "er-promoted-by"
"""On every promoted record in the destination: `namespace/name` of the replay that promoted it."""

# --- The sink record's shape (`sink_record.py`), carried on the sandbox record to promotion.

SINK_KEY_HEADER = "er-sink-key"
"""The key the promoted record gets (`spec.sink.key` other than eventId): the source key or a field
of the value, as bytes; no value for a null key. Absent: the sandbox key (the event id)."""
SOURCE_TIMESTAMP_HEADER = "er-source-timestamp"
"""The source record's timestamp (epoch ms, decimal) the promoted record gets (`spec.sink.timestamp:
source`). A header, not the sandbox record's own timestamp: the sandbox's retention counts from
the replay, not from events that may be older than it."""
