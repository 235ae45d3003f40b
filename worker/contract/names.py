"""Every name derived for a replay that another process must find: topics, consumer groups,
transactional ids and Redis keys (the worker pods' environment variables: `environment.py`).

One definition each. The strings are stored or shared formats: changing one strands what older
workers wrote (and the production ledger's layout is also written by production consumers).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

# --- Kafka topics: derived, never user-chosen, unique per replay object (namespace/name/uid), so a
# deleted and re-created name shares no topic with its predecessor. The operator names them in the
# plan (status.plan) and the tasks; the worker writes them.

MAX_TOPIC_NAME = 249
"""Kafka's limit on a topic name."""


def short_uid(uid: str) -> str:
    """16 hex chars of SHA-256(uid): stable, 64 bits (Kubernetes uids are time-based v1 UUIDs whose
    prefixes collide across objects made in the same instant, so a prefix of the uid is not enough)."""
    return hashlib.sha256(uid.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ReplayTopics:
    """The topics of one replay, named from its namespace, name and uid."""

    sandbox: str
    """Where replay workers write; reconciliation and promotion read it."""
    dead_letter: str
    """Where replay workers write invalid events (headers er-reason, er-error)."""
    report: str
    """Compacted: reconciliation writes the changed/missing/extra ids (key = event id, value = class)."""
    results: str
    """Windowed-aggregate replays: the combine Job's one result per (window, key); reconciled and
    promoted instead of the sandbox."""

    @classmethod
    def of(cls, namespace: str, name: str, uid: str) -> ReplayTopics:
        tag = short_uid(uid)
        # ".sandbox" is the longest suffix; the name is cut only past Kafka's limit (the tag keeps it unique).
        room = MAX_TOPIC_NAME - len(f"eventreplay.{namespace}..{tag}.sandbox")
        base = f"eventreplay.{namespace}.{name[:room]}.{tag}"
        return cls(
            sandbox=f"{base}.sandbox",
            dead_letter=f"{base}.dlq",
            report=f"{base}.report",
            results=f"{base}.results",
        )


# --- Consumer groups and transactional ids: replay-private, so live groups are never touched and a
# restarted Job fences its zombie predecessor.


def replay_group_id(uid: str) -> str:
    """A replay worker's group: commits the source offset with each output transaction."""
    return f"eventreplay-{uid}"


def replay_transactional_id(uid: str, topic: str, partition: int) -> str:
    """Stable per (replay, partition): a restarted worker fences its zombie predecessor."""
    return f"eventreplay-{uid}-{topic}-{partition}"


def step_group_id(uid: str, step: str) -> str:
    """A sandbox step's group ('reconcile', 'combine'): never commits, it only names the step's
    reader in broker logs."""
    return f"eventreplay-{uid}-{step}"


def combine_transactional_id(uid: str) -> str:
    """The combine Job writes all results in one transaction; a restarted Job fences its zombie."""
    return f"eventreplay-{uid}-combine"


GAP_FINDER_GROUP_ID = "eventreplay-gap-finder"
"""Never commits: it only names the gap finder's readers in broker logs."""

PLANNER_GROUP_ID = "eventreplay-operator-planner"
"""Never commits: it only names the operator's planning reader (watermarks, offsets for times) in broker logs."""


def flink_group_id(namespace: str, name: str) -> str:
    """The source group of the Flink SQL job `eventreplay export flink-sql` writes for a replay."""
    return f"eventreplay-flink-{namespace}-{name}"


def promote_group_id(uid: str, report_hash: str) -> str:
    """Replay- and report-private: a newer report starts from the sandbox's start."""
    return f"eventreplay-{uid}-promote-{report_hash[:16]}"


def promote_transactional_id(uid: str, partition: int) -> str:
    """Stable per (replay, promote, sandbox partition): a restarted promoter fences its zombie."""
    return f"eventreplay-{uid}-promote-{partition}"


# --- Redis keys. Every key carries its tenant right after a fixed head, so one Redis ACL user per
# tenant is confined by two key patterns (`tenant_key_patterns`): `eventreplay:<tenant>:...` keys
# are single JSON strings read by other processes; `er:{<tenant>:...}` keys are bucketed working
# sets sharing a hash tag (one cluster slot). A replay's tenant is its namespace (a DNS label:
# no `:`, `.` or glob character, so no tenant's pattern matches another's keys); a sink's
# promotion ledger belongs to the sink (`ers:{<cluster id>:<topic>}`), reached by whoever may write
# that topic (`sink_key_patterns`). A replay's key builders take its `key_tenant` (None: a replay
# planned in the legacy layout, whose keys lack the segment).

TENANT_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A tenant name: a Kubernetes namespace or a policy project name (an RFC 1123 label)."""

KEY_HEAD = "eventreplay"
"""The head of every single-value key."""
ROUTE_HEAD = "er"
"""The head of every hash-tagged working-set key."""
SINK_HEAD = "ers"
"""The head of every sink promotion-ledger key: apart from the namespaces' keys, so a namespace's
patterns (even a glob of namespaces) never reach a sink's ledger."""


KEY_LAYOUT: Literal[2] = 2
"""The Redis key layout replays planned now use (recorded as status.plan.keyLayout and in every
task's `ReplayIdentity.key_layout`): every key carries the replay's namespace."""
LEGACY_KEY_LAYOUT: Literal[1] = 1
"""The layout of replays planned by chart 0.1.0 (a plan without keyLayout): the same keys without
the namespace segment (`eventreplay:ckpt:<uid>:<p>`, `er:{<ledger>}:...`). Such a replay keeps
reading and writing its keys there to its end; only its sink ledger is the sink's one (`ers:`)."""

Tenant = str | None
"""The namespace segment of a replay's keys; None: the legacy layout, no segment."""


def key_tenant(namespace: str, layout: int) -> Tenant:
    """The tenant argument of every key builder below for a replay of `namespace` planned in `layout`:
    the one place a key layout is decided."""
    if layout not in (LEGACY_KEY_LAYOUT, KEY_LAYOUT):
        raise ValueError(f"unknown Redis key layout {layout} (known: {LEGACY_KEY_LAYOUT}, {KEY_LAYOUT})")
    return None if layout == LEGACY_KEY_LAYOUT else namespace


def planned_layout(recorded: int | None) -> int:
    """The key layout of a replay whose status.plan records `recorded` as keyLayout: a plan made
    before the field existed (chart 0.1.0) is the legacy layout."""
    return LEGACY_KEY_LAYOUT if recorded is None else recorded


def check_tenant(tenant: str) -> str:
    """`tenant` if it is a DNS label (never a glob or a separator that could widen an ACL pattern)."""
    if not re.fullmatch(TENANT_LABEL, tenant):
        raise ValueError(f"tenant {tenant!r} is not a DNS label (lowercase letters, digits, '-'; 63 at most)")
    return tenant


def _key(tenant: Tenant, rest: str) -> str:
    if tenant is None:
        return f"{KEY_HEAD}:{rest}"
    return f"{KEY_HEAD}:{check_tenant(tenant)}:{rest}"


def _route(tenant: Tenant, tag: str) -> str:
    if tenant is None:
        return f"{ROUTE_HEAD}:{{{tag}}}"
    return f"{ROUTE_HEAD}:{{{check_tenant(tenant)}:{tag}}}"


def checkpoint_key(namespace: Tenant, uid: str, partition: int) -> str:
    """A replay worker's checkpoint mirror (JSON): written after each commit, read by the operator
    (MGET) and `eventreplay run`."""
    return _key(namespace, f"ckpt:{uid}:{partition}")


def promotion_key(namespace: Tenant, uid: str, partition: int) -> str:
    """A promoter's checkpoint mirror per sandbox partition (JSON), read by the operator."""
    return _key(namespace, f"promotion:{uid}:{partition}")


def report_key(namespace: Tenant, uid: str) -> str:
    """The reconciliation summary (`summaries.ReportSummary`), written last by reconcile, read by
    promote and the operator."""
    return _key(namespace, f"report:{uid}")


def combine_key(namespace: Tenant, uid: str) -> str:
    """The combine Job's summary (`summaries.CombineSummary`), written last, read by the operator."""
    return _key(namespace, f"combine:{uid}")


def failure_key(namespace: Tenant, uid: str, job: str) -> str:
    """The last failure line of a reconcile/promote Job (`job` = reconcile | promote), read by the
    operator as the Stalled message."""
    return _key(namespace, f"failure:{uid}:{job}")


def watch_scan_key(namespace: str, watch_uid: str, scan: int) -> str:
    """One scan's gap summary (`gap_summary.GapSummary`) of an EventReplayWatch, written last by the
    gap finder, read by the operator (a watch's keys always carry its namespace)."""
    return _key(namespace, f"watch:{watch_uid}:scan:{scan}")


def replay_key_patterns(namespace: Tenant, uid: str, ledger: str) -> list[str]:
    """SCAN MATCH patterns covering every Redis key one replay writes (checkpoints, promotion
    mirrors, report, failures, its replay ledger, reconciliation working sets): what a
    `deletionPolicy: Delete` removes. Every key builder above and below keyed by uid belongs here."""
    return [
        checkpoint_key(namespace, uid, 0)[:-1] + "*",
        promotion_key(namespace, uid, 0)[:-1] + "*",
        report_key(namespace, uid),
        combine_key(namespace, uid),
        _key(namespace, f"failure:{uid}:*"),
        f"{ledger_route(namespace, ledger)}:r:{uid}:*",
        f"{ledger_route(namespace, ledger)}:w:{uid}:*",
        f"{spill_route(namespace, uid)}:*",
    ]


def local_plan_key(namespace: str, name: str) -> str:
    """The plan `eventreplay run` froze for a manifest (JSON), so a rerun replays the same range."""
    return _key(namespace, f"local:plan:{name}")


def ledger_route(namespace: Tenant, ledger: str) -> str:
    """The hash tag every key of a ledger shares (production and replay side): a ledger is the
    namespace's own, production consumers mark it under the namespace of the replays reading it."""
    return _route(namespace, ledger)


def production_prefix(namespace: Tenant, ledger: str) -> str:
    """Buckets of ids production already processed: written by production consumers
    (`ProductionLedger.mark`), read by replay workers in skipProcessed mode."""
    return f"{ledger_route(namespace, ledger)}:p:"


def production_slice_prefix(namespace: Tenant, ledger: str, generation: int) -> str:
    """The buckets of one time slice (generation) of the production ledger: a slice expires as a
    whole, so ids age out even while production keeps marking new ones."""
    return f"{production_prefix(namespace, ledger)}{generation:x}:"


def replay_prefix(namespace: Tenant, ledger: str, uid: str, partition: int) -> str:
    """Buckets of ids one replay partition has emitted (duplicates inside the replay)."""
    return f"{ledger_route(namespace, ledger)}:r:{uid}:{partition}:"


def ledger_watermark_key(namespace: Tenant, ledger: str, uid: str, partition: int) -> str:
    """The source offset up to which one replay partition's ledger marks are written
    (`worker/ledger/watermark.py`); beside the buckets, in their slot, never among them."""
    return f"{ledger_route(namespace, ledger)}:w:{uid}:{partition}"


def spill_route(namespace: Tenant, uid: str) -> str:
    """The hash tag of a reconciliation's working set."""
    return _route(namespace, f"rc:{uid}")


def spill_prefix(namespace: Tenant, uid: str, run: str, side: str) -> str:
    """Buckets of one reconciliation run's side (`s` replayed, `e` existing, `d` delta, `x` extra); written by
    reconcile, read by promote."""
    return f"{spill_route(namespace, uid)}:{run}:{side}:"


def spill_marker_key(namespace: Tenant, uid: str, run: str) -> str:
    """Written when a reconciliation run starts, checked before its report is stored: gone means
    Redis lost the run's working set (`worker/reconciliation/invariants.py`)."""
    return f"{spill_route(namespace, uid)}:{run}:started"
