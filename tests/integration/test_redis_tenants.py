"""Tenants in a shared Redis (issue #25 item 5), on the stack's real Redis: two ACL users made with the
rules of `redis_acl.tenant_acl_rules`; tenant A cannot read or write tenant B's keys (NOPERM), and B's
replay, reconciliation and promotion run as B's user and promote B's corrections whatever A tries.
A third project granted the same sink shares its one ledger: what B promoted, C never writes again."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import redis

from datagen.orders import ORDER_SCHEMA
from eventreplay.worker.contract import names, redis_acl, sink_keys
from eventreplay.worker.contract.environment import REDIS_PASSWORD_ENV, REDIS_USERNAME_ENV
from eventreplay.worker.contract.step_tasks import PromoteTask, ReconcileTask
from eventreplay.worker.contract.tasks import Task
from eventreplay.worker.runtime.kafka_io import cluster_id
from support.kafka_tools import create_topic, watermarks
from support.reconciliation_scenario import SOURCE_PARTITIONS, Scenario
from support.step_driver import StepDriver
from support.worker_run import REDIS_URL, make_task, start_worker, worker_env


@dataclass(frozen=True)
class Tenant:
    """One namespace's Redis ACL user, and a connection as that user."""

    namespace: str
    user: str
    password: str
    client: redis.Redis

    @property
    def env(self) -> dict[str, str]:
        return {REDIS_USERNAME_ENV: self.user, REDIS_PASSWORD_ENV: self.password}


@contextmanager
def acl_user(admin: Any, namespace: str, sink_topics: list[str]) -> Iterator[Tenant]:
    """`ACL SETUSER` exactly as docs/security.md says: the namespace's keys and the ledgers of the
    sink topics its project may write."""
    user, password = f"er-test-{namespace}", secrets.token_hex(16)
    rules = redis_acl.tenant_acl_rules([namespace], sink_topics)
    admin.execute_command("ACL", "SETUSER", user, "reset", "on", f">{password}", *rules)
    client = redis.Redis.from_url(REDIS_URL, username=user, password=password)
    try:
        yield Tenant(namespace, user, password, client)
    finally:
        client.close()
        admin.execute_command("ACL", "DELUSER", user)
        for pattern in (p.removeprefix("~") for p in rules if p.startswith("~")):
            for key in admin.scan_iter(match=pattern, count=1000):
                admin.delete(key)


SHARED_SINKS = "rc-dst-*"
"""The scenario's destination (`reconciliation_scenario.build`): granted to B and C, not to A."""


@pytest.fixture
def tenants(redis_client: Any, unique: str) -> Iterator[tuple[Tenant, Tenant]]:
    a, b = f"ta-{unique}", f"tb-{unique}"
    with acl_user(redis_client, a, [f"{a}-*"]) as ta, acl_user(redis_client, b, [f"{b}-*", SHARED_SINKS]) as tb:
        yield ta, tb


def _keys(ns: str, uid: str, sink: tuple[str, str]) -> list[str]:
    """One key of every kind a replay in `ns` writes (plain values and bucketed working sets)."""
    return [
        names.checkpoint_key(ns, uid, 0),
        names.promotion_key(ns, uid, 0),
        names.report_key(ns, uid),
        names.failure_key(ns, uid, "promote"),
        names.replay_prefix(ns, "orders", uid, 0) + "1f",
        names.production_slice_prefix(ns, "orders", 1) + "1f",
        names.ledger_watermark_key(ns, "orders", uid, 0),
        names.spill_marker_key(ns, uid, "run"),
        sink_keys.sink_ledger_key(sink[0], f"{ns}-{sink[1]}"),
    ]


def test_a_tenant_cannot_read_or_write_another_tenants_keys(
    tenants: tuple[Tenant, Tenant], redis_client: Any, unique: str
) -> None:
    a, b = tenants
    for me, other in ((a, b), (b, a)):
        for key in _keys(me.namespace, f"u-{unique}", ("c", "out")):
            me.client.set(key, b"mine")  # its own keys: allowed
            assert me.client.get(key) == b"mine"
        for key in _keys(other.namespace, f"u-{unique}", ("c", "out")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                me.client.get(key)
            with pytest.raises(redis.exceptions.NoPermissionError):
                me.client.set(key, b"forged")
    # Nothing of B was touched by A: B's keys still hold what B wrote.
    assert all(redis_client.get(k) == b"mine" for k in _keys(b.namespace, f"u-{unique}", ("c", "out")))


def _as(tenant: Tenant, task: Task) -> Task:
    """`task` run in the tenant's namespace, connecting as its user (the env vars the operator sets)."""
    dedup = task.dedup.model_copy(update={"username_env": REDIS_USERNAME_ENV, "password_env": REDIS_PASSWORD_ENV})
    replay = task.replay.model_copy(update={"namespace": tenant.namespace})
    return task.model_copy(update={"replay": replay, "dedup": dedup})


def _step_as(tenant: Tenant, task: ReconcileTask | PromoteTask) -> Any:
    replay = task.replay.model_copy(update={"namespace": tenant.namespace})
    creds = {"username_env": REDIS_USERNAME_ENV, "password_env": REDIS_PASSWORD_ENV}
    if isinstance(task, ReconcileTask):
        report = task.report.model_copy(update={"redis": task.report.redis.model_copy(update=creds)})
        return task.model_copy(update={"replay": replay, "report": report})
    return task.model_copy(update={"replay": replay, "redis": task.redis.model_copy(update=creds)})


def _replay_as(tenant: Tenant, steps: StepDriver, sc: Scenario) -> None:
    create_topic(steps.admin, sc.sandbox, SOURCE_PARTITIONS)
    spans = watermarks(steps.bootstrap, sc.source, SOURCE_PARTITIONS)
    procs = []
    for p, (_low, high) in enumerate(spans):
        task = _as(
            tenant,
            make_task(steps.bootstrap, sc.source, sc.uid, high, partition=p, schema=ORDER_SCHEMA, sandbox=sc.sandbox),
        )
        procs.append(start_worker(task, {**worker_env(task), **tenant.env}))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def test_tenant_b_replays_and_promotes_as_its_user_whatever_tenant_a_writes(
    tenants: tuple[Tenant, Tenant], steps: StepDriver, kafka_admin: Any, redis_client: Any
) -> None:
    a, b = tenants
    sc = steps.build(per_partition=600, seed=23, run_workers=False)
    _replay_as(b, steps, sc)
    assert redis_client.get(names.checkpoint_key(b.namespace, sc.uid, 0)) is not None, "B's progress under B's prefix"

    reconcile = steps.start_job(_step_as(b, steps.reconcile_task(sc)), **b.env)
    out, err = reconcile.communicate(timeout=300)
    assert reconcile.returncode == 0, err
    summary = orjson.loads(out)
    # A tries to mark every correction of B's as already promoted (so B's promoter would skip it),
    # and to replace B's report: each write is refused.
    sink = sink_keys.sink_ledger_key(cluster_id(kafka_admin, steps.bootstrap), sc.destination)
    with pytest.raises(redis.exceptions.NoPermissionError):
        a.client.hset(sink, mapping={event_id: "C|" + "0" * 16 for event_id in sc.delta})
    with pytest.raises(redis.exceptions.NoPermissionError):
        a.client.set(names.report_key(b.namespace, sc.uid), b"{}")

    promote = steps.start_job(_step_as(b, steps.promote_task(sc, summary["reportHash"])), **b.env)
    out, err = promote.communicate(timeout=300)
    assert promote.returncode == 0, err
    assert orjson.loads(out)["written"] == len(sc.delta), "every correction of B promoted"
    assert redis_client.hlen(sink) >= len(sc.delta), "the sink's ledger holds B's corrections"


def test_another_project_granted_the_same_sink_shares_its_ledger_and_writes_nothing_twice(
    tenants: tuple[Tenant, Tenant], steps: StepDriver, kafka_admin: Any, redis_client: Any, unique: str
) -> None:
    _a, b = tenants
    sc = steps.build(per_partition=500, seed=29, run_workers=False)
    _replay_as(b, steps, sc)
    summary = orjson.loads(_run_as(b, steps.reconcile_task(sc)))
    delta = summary["report"]["counts"]["changed"] + summary["report"]["counts"]["missing"]
    assert delta == len(sc.delta) > 0
    written = orjson.loads(_run_as(b, steps.promote_task(sc, summary["reportHash"])))["written"]
    assert written == delta

    # Project C: another namespace and Redis user, granted the same sink topic, replays the same
    # window (its own uid and sandbox). Two ledgers for one sink would promote every correction again.
    with acl_user(redis_client, f"tc-{unique}", [SHARED_SINKS]) as c:
        again = dataclasses.replace(sc, uid=f"{sc.uid}-c", sandbox=f"{sc.sandbox}-c")
        _replay_as(c, steps, again)
        recount = orjson.loads(_run_as(c, steps.reconcile_task(again)))
        counts = recount["report"]["counts"]
        assert (counts["changed"], counts["missing"], counts["alreadyPromoted"]) == (0, 0, delta)
        promoted = orjson.loads(_run_as(c, steps.promote_task(again, recount["reportHash"])))
        assert promoted["written"] == 0, "C wrote a correction B had promoted"


def _run_as(tenant: Tenant, task: ReconcileTask | PromoteTask) -> str:
    """A reconcile or promote Job run in the tenant's namespace as its user, to success: its summary."""
    proc = StepDriver.start_job(_step_as(tenant, task), **tenant.env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return str(out)
