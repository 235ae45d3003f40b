"""Defaults both sides must agree on: the operator's spec defaults and the worker's task defaults."""

from __future__ import annotations

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
"""TTL of everything a replay keeps in Redis (ledger buckets, checkpoint mirrors, reports, failures):
a week, long enough to read, approve and promote a replay's result."""

DEFAULT_REDIS_PORT = 6379
"""The port of a `redis://` URL that names none."""
