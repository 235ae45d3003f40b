"""The Redis ledgers: the dedup ledger of replays and production (`dedup`, with its script, wire and
watermark) and the sink's promotion ledger (`sink`).

`ProductionLedger` is imported from here by production consumers that mark what they processed."""

from .dedup import ProductionLedger

__all__ = ["ProductionLedger"]
