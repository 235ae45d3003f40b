"""The destination's promotion ledger keys (stored formats: the promoter writes them, reconcile reads
them, the operator carries 0.1.0's over), one ledger per sink in either key layout."""

from __future__ import annotations

from .names import ROUTE_HEAD, SINK_HEAD

# --- The destination's promotion ledger: one per sink (Kafka cluster id + topic), shared by every
# replay that promotes there whatever its namespace or project (two ledgers for one sink would let
# one correction be promoted twice), kept without TTL (its entries are what the destination holds).


def sink_cluster(reported: str | None, bootstrap_servers: str) -> str:
    """The cluster part of a sink's ledger key: the id the Kafka cluster reports in its metadata
    (one name across bootstrap addresses), else its bootstrap addresses sorted. Promoters and the
    operator name a sink alike through it."""
    return reported or ",".join(sorted(bootstrap_servers.split(",")))


def sink_route(cluster: str, topic: str) -> str:
    """The hash tag of one destination's promotion ledger (its hash and pending sets, one slot)."""
    return sink_route_tag(f"{cluster}:{topic}")


def sink_route_tag(sink: str) -> str:
    """`sink_route` of `<cluster id>:<topic>` as one string."""
    return f"{SINK_HEAD}:{{{sink}}}"


def sink_ledger_key(cluster: str, topic: str) -> str:
    """Hash: event id -> `C|<content hash>` (promoted and committed) or
    `P|<owner>|<sandbox partition>|<offset>|<content hash>|<previous>` (claimed by a promotion whose
    transaction is not committed yet). Written by promote, read by reconcile."""
    return f"{sink_route(cluster, topic)}:promoted"


LEGACY_SINK_LEDGERS = f"{ROUTE_HEAD}:{{dst:*}}:promoted"
"""SCAN pattern of the sink ledgers of the legacy layout (`er:{dst:<cluster id>:<topic>}:promoted`),
which every promotion before the upgrade wrote; the operator carries their committed entries over
into `sink_ledger_key` (operator/legacy_sink_ledgers.py): a sink has one ledger in either layout."""


LEGACY_LEDGERS_CARRIED = f"{SINK_HEAD}:legacy-ledgers-carried"
"""String, no TTL: the operator carried every legacy sink ledger of this Redis over at a time none
held an open claim (`P|`); the value says when and by which operator. Where it is present the
operator skips the carry-over and its SCAN of the keyspace (operator/legacy_sink_ledgers.py)."""


def legacy_sink_ledger_key(cluster: str, topic: str) -> str:
    """A sink's promotion ledger as the legacy layout named it."""
    return f"{ROUTE_HEAD}:{{dst:{cluster}:{topic}}}:promoted"


def sink_ledger_of_legacy(legacy_key: str) -> str:
    """The sink ledger (`sink_ledger_key`) that a legacy one (`legacy_sink_ledger_key`) becomes."""
    head, tail = f"{ROUTE_HEAD}:{{dst:", "}:promoted"
    if not (legacy_key.startswith(head) and legacy_key.endswith(tail)) or len(legacy_key) <= len(head + tail):
        raise ValueError(f"{legacy_key!r} is not a legacy sink ledger key")
    return f"{sink_route_tag(legacy_key[len(head) : -len(tail)])}:promoted"


def sink_pending_key(cluster: str, topic: str, promotion: str, partition: int) -> str:
    """Set of the ids one promotion claimed from one sandbox partition and has not yet marked
    committed; read when that promotion restarts."""
    return f"{sink_route(cluster, topic)}:pending:{promotion}:{partition}"
