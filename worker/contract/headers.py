"""Every Kafka header the worker writes on a record another process reads (`er-*`), defined once.

They are a stored format: the sandbox, dead-letter, report, results and destination topics keep
them, the operator reads the replay uid back (who wrote a topic), and users filter a sink's
promoted records by them. Renaming one strands every record written before.
"""

from __future__ import annotations

REPLAY_UID_HEADER = "er-replay-uid"
"""On every sandbox, dead-letter, report and results record: the uid of the replay that wrote it.
Reconcile and promote read only records carrying their own uid (a second defence after the topic
name); promotion swaps it for the promotion headers below."""

# --- Where a replayed record came from: on every sandbox and dead-letter record.

SOURCE_TOPIC_HEADER = "er-source-topic"
SOURCE_PARTITION_HEADER = "er-source-partition"
SOURCE_OFFSET_HEADER = "er-source-offset"
"""Also what a restarted worker reads back to prove what an earlier attempt wrote (`restart_guard`)."""

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
