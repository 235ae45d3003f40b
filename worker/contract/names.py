"""Every name derived for a replay that another process must find: topics, consumer groups,
transactional ids, Redis keys and the environment variables of the worker's pods.

One definition each. The strings are stored or shared formats: changing one strands what older
workers wrote (and the production ledger's layout is also written by production consumers).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Environment variables of worker, reconcile and promote pods (set by the operator's Jobs and
# by `eventreplay run`, read by `python -m eventreplay.worker`).

TASK_ENV = "EVENTREPLAY_TASK"
"""The replay task as JSON (instead of `run --task FILE`)."""
RECONCILE_TASK_ENV = "EVENTREPLAY_RECONCILE_TASK"
"""The reconciliation task as JSON (instead of `reconcile --task FILE`)."""
PROMOTE_TASK_ENV = "EVENTREPLAY_PROMOTE_TASK"
"""The promotion task as JSON (instead of `promote --task FILE`)."""
KAFKA_SETTINGS_ENV = "EVENTREPLAY_KAFKA_SETTINGS"
"""librdkafka `key=value` lines from the replay's credentials Secret (a task's `settingsEnv`)."""
REDIS_PASSWORD_ENV = "EVENTREPLAY_REDIS_PASSWORD"
"""The Redis password from the replay's Secret (a task's `passwordEnv`)."""
TERMINATION_LOG_ENV = "EVENTREPLAY_TERMINATION_LOG"
"""Where a worker writes its termination message (default /dev/termination-log; the CLI moves it)."""
METRICS_PORT_ENV = "EVENTREPLAY_METRICS_PORT"
"""Port of a worker's Prometheus endpoint; unset means none (the CLI's parallel workers)."""
LOG_LEVEL_ENV = "EVENTREPLAY_LOG_LEVEL"
"""Log level of a worker process (default INFO)."""

# --- Kafka topics: derived, never user-chosen, unique per namespace/name. The operator names
# them in the tasks; the worker writes them.


@dataclass(frozen=True)
class ReplayTopics:
    """The topics of one replay, named from its namespace and name."""

    sandbox: str
    """Where replay workers write; reconciliation and promotion read it."""
    dead_letter: str
    """Where replay workers write invalid events (headers er-reason, er-error)."""
    report: str
    """Compacted: reconciliation writes the changed/missing ids (key = event id)."""

    @classmethod
    def of(cls, namespace: str, name: str) -> ReplayTopics:
        base = f"eventreplay.{namespace}.{name}"
        return cls(sandbox=f"{base}.sandbox", dead_letter=f"{base}.dlq", report=f"{base}.report")


# --- Consumer groups and transactional ids: replay-private, so live groups are never touched and a
# restarted Job fences its zombie predecessor.


def replay_group_id(uid: str) -> str:
    """A replay worker's group: commits the source offset with each output transaction."""
    return f"eventreplay-{uid}"


def replay_transactional_id(uid: str, topic: str, partition: int) -> str:
    """Stable per (replay, partition): a restarted worker fences its zombie predecessor."""
    return f"eventreplay-{uid}-{topic}-{partition}"


def reconcile_group_id(uid: str) -> str:
    """Never commits: it only names the reconciliation reader in broker logs."""
    return f"eventreplay-{uid}-reconcile"


def promote_group_id(uid: str, report_hash: str) -> str:
    """Replay- and report-private: a newer report starts from the sandbox's start."""
    return f"eventreplay-{uid}-promote-{report_hash[:16]}"


def promote_transactional_id(uid: str, partition: int) -> str:
    """Stable per (replay, promote, sandbox partition): a restarted promoter fences its zombie."""
    return f"eventreplay-{uid}-promote-{partition}"


# --- Redis keys. `eventreplay:` keys are single JSON strings read by other processes;
# `er:{tag}` keys are bucketed working sets that share a hash tag (one cluster slot).


def checkpoint_key(uid: str, partition: int) -> str:
    """A replay worker's checkpoint mirror (JSON): written after each commit, read by the operator
    (MGET) and `eventreplay run`."""
    return f"eventreplay:ckpt:{uid}:{partition}"


def promotion_key(uid: str, partition: int) -> str:
    """A promoter's checkpoint mirror per sandbox partition (JSON), read by the operator."""
    return f"eventreplay:promotion:{uid}:{partition}"


def report_key(uid: str) -> str:
    """The reconciliation summary (JSON, layout in `worker/spill.py`), written last by reconcile,
    read by promote and the operator."""
    return f"eventreplay:report:{uid}"


def failure_key(uid: str, job: str) -> str:
    """The last failure line of a reconcile/promote Job (`job` = reconcile | promote), read by the
    operator as the Stalled message."""
    return f"eventreplay:failure:{uid}:{job}"


def local_plan_key(namespace: str, name: str) -> str:
    """The plan `eventreplay run` froze for a manifest (JSON), so a rerun replays the same range."""
    return f"eventreplay:local:plan:{namespace}/{name}"


def ledger_route(ledger: str) -> str:
    """The hash tag every key of a ledger shares (production and replay side)."""
    return f"er:{{{ledger}}}"


def production_prefix(ledger: str) -> str:
    """Buckets of ids production already processed: written by production consumers
    (`ProductionLedger.mark`), read by replay workers in skipProcessed mode."""
    return f"{ledger_route(ledger)}:p:"


def production_slice_prefix(ledger: str, generation: int) -> str:
    """The buckets of one time slice (generation) of the production ledger: a slice expires as a
    whole, so ids age out even while production keeps marking new ones."""
    return f"{production_prefix(ledger)}{generation:x}:"


def replay_prefix(ledger: str, uid: str, partition: int) -> str:
    """Buckets of ids one replay partition has emitted (duplicates inside the replay)."""
    return f"{ledger_route(ledger)}:r:{uid}:{partition}:"


def spill_route(uid: str) -> str:
    """The hash tag of a reconciliation's working set."""
    return f"er:{{rc:{uid}}}"


def spill_prefix(uid: str, run: str, side: str) -> str:
    """Buckets of one reconciliation run's side (`s` replayed, `e` existing, `d` delta); written by
    reconcile, read by promote."""
    return f"{spill_route(uid)}:{run}:{side}:"
