"""The gap watch (EventReplayWatch): a rolling window scanned on a schedule by the gap-finder Job,
its gaps in status, metrics and Events, and a draft EventReplay per new gap (`conduct.py` runs a pass)."""
