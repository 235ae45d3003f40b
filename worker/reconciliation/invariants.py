"""What a reconciliation proves before it stores its report: the working set read back as it was
spilled, every replayed id classified, the delta and the extra ids published whole, and the run's
marker still there.

The working set lives in Redis (`spill.py`). Losing part of it between passes (FLUSHALL, a restart
without the last second of its AOF, a failover) removes ids silently: they are then neither missing
nor changed, the counts of the pass that reads them still add up, and they would never be promoted.
redis-py reconnects transparently, so nothing else notices. A report failing any check is not
stored; the run fails retriable (a new run reads the sandbox and the existing output again from
Kafka into a fresh working set).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..contract.exit_codes import RetriableFailure


def violations(counts: Mapping[str, int], published: Mapping[str, int], marker_kept: bool) -> list[str]:
    """Each broken invariant, in words (none: the report accounts for every id)."""
    out = []
    if not marker_kept:
        out.append("the run's marker key is gone (Redis lost the working set since the run began)")
    spilled = counts["replayedRecords"] - counts["duplicates"]
    if counts["replayedIds"] != spilled:
        out.append(f"{spilled} replayed ids spilled, {counts['replayedIds']} read back")
    spilled = counts["existingRecords"] - counts["superseded"]
    if counts["existingIds"] != spilled:
        out.append(f"{spilled} existing ids spilled, {counts['existingIds']} read back")
    # alreadyPromoted ids are counted as unchanged too (reconcile.py): they are in this sum.
    classified = counts["unchanged"] + counts["changed"] + counts["missing"]
    if classified != counts["replayedIds"]:
        out.append(f"{counts['replayedIds']} replayed ids, {classified} classified unchanged, changed or missing")
    delta, listed = counts["changed"] + counts["missing"], published.get("changed", 0) + published.get("missing", 0)
    if listed != delta:
        out.append(f"{delta} changed or missing ids, {listed} published to the report topic")
    if published.get("extra", 0) != counts.get("extra", 0):
        out.append(f"{counts.get('extra', 0)} extra ids, {published.get('extra', 0)} published to the report topic")
    return out


def check(counts: Mapping[str, int], published: Mapping[str, int], marker_kept: bool) -> None:
    """Refuse (retriable) to store a report that lacks ids."""
    broken = violations(counts, published, marker_kept)
    if broken:
        raise RetriableFailure("the report is incomplete, not stored: " + "; ".join(broken))
