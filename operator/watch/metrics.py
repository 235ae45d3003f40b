"""The watches' Prometheus series, per (namespace, watch), set from each pass's status (so a
restarted operator serves them again at its first pass) and removed with the watch."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from ..api.v1alpha1 import EventReplayWatchStatus, parse_time
from ..replay_metrics import remove

LABELS = ["namespace", "watch"]
MISSING = Gauge(
    "eventreplay_watch_missing_events", "Source events missing from the sink at the last successful scan", LABELS
)
LAST_SCAN = Gauge(
    "eventreplay_watch_last_scan_timestamp_seconds", "When the last successful scan finished (Unix time)", LABELS
)
DURATION = Gauge("eventreplay_watch_scan_duration_seconds", "How long the last finished scan took", LABELS)
FAILURES = Counter("eventreplay_watch_scan_failures_total", "Scans that failed", LABELS)


def observe(namespace: str, name: str, status: EventReplayWatchStatus) -> None:
    """The gauges from what the status says (the failure counter counts in `scan_failed`)."""
    FAILURES.labels(namespace, name)  # present from the first pass, so rate() and increase() see it
    last = status.last_scan
    if last is None:
        return
    DURATION.labels(namespace, name).set(last.duration_seconds)
    if last.result == "Succeeded":
        MISSING.labels(namespace, name).set(status.missing_events)
        LAST_SCAN.labels(namespace, name).set(parse_time(last.time).timestamp())


def scan_failed(namespace: str, name: str) -> None:
    FAILURES.labels(namespace, name).inc()


def forget(namespace: str, name: str) -> None:
    """A deleted watch leaves no series behind."""
    for metric in (MISSING, LAST_SCAN, DURATION, FAILURES):
        remove(metric, namespace, name)
