"""Tenants in a shared Redis (issue #25 item 5): the project's ACL user reaches every Job by Secret
reference, every sink has one ledger whoever promotes, and docs/security.md gives the builder's ACL lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from operator_fakes import replay
from operator_fixtures import env_of, plan

from eventreplay.operator.api.v1alpha1 import EventReplay
from eventreplay.operator.config import OperatorConfig
from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import build_job, promotion_job, reconciliation_job
from eventreplay.operator.policy import PERMISSIVE, Policy, PolicyDocument
from eventreplay.worker.contract import redis_acl
from eventreplay.worker.contract.environment import (
    PROMOTE_TASK_ENV,
    RECONCILE_TASK_ENV,
    REDIS_PASSWORD_ENV,
    REDIS_USERNAME_ENV,
    TASK_ENV,
)
from support.policies import one_project_policy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
OWNER = Owner("shop-a", "r", "uid-1")
PASSWORD = {"dedup": {"ledger": "orders", "redis": {"url": "redis://r:6379/0", "passwordSecretRef": {"name": "rp"}}}}


def _policy(**project: Any) -> Policy:
    doc = one_project_policy("shop", ["shop-*"], cluster="plain", secrets=["rp"], **project)
    return Policy(PolicyDocument.model_validate(doc))


def _jobs(policy: Policy) -> dict[str, dict[str, Any]]:
    source = {"bootstrapServers": "k:9092"} if policy.permissive else {"cluster": "plain"}
    spec = EventReplay.desired(replay(source={**source, "topic": "orders"}, **PASSWORD)).spec
    spec = spec if policy.permissive else policy.resolve(OWNER.namespace, spec)
    config, pl = OperatorConfig(policy=policy), plan([(0, 0, 100)])
    return {
        TASK_ENV: build_job(spec, pl, pl.partitions[0], OWNER, config),
        RECONCILE_TASK_ENV: reconciliation_job(spec, pl, OWNER, config),
        PROMOTE_TASK_ENV: promotion_job(spec, pl, OWNER, config, "cd" * 32),
    }


def _redis_of(task: dict[str, Any]) -> dict[str, Any]:
    return task.get("dedup") or task.get("redis") or task["report"]["redis"]


def test_a_project_bound_to_an_acl_user_gives_every_job_its_secret_instead_of_the_replays_password() -> None:
    for task_env, job in _jobs(_policy(redisUserSecret="shop-redis")).items():
        env, task = env_of(job), json.loads(env_of(job)[task_env]["value"])
        assert env[REDIS_USERNAME_ENV]["valueFrom"]["secretKeyRef"] == {"name": "shop-redis", "key": "username"}
        assert env[REDIS_PASSWORD_ENV]["valueFrom"]["secretKeyRef"] == {"name": "shop-redis", "key": "password"}
        redis = _redis_of(task)
        assert (redis["usernameEnv"], redis["passwordEnv"]) == (REDIS_USERNAME_ENV, REDIS_PASSWORD_ENV)
        assert task["replay"]["project"] == "shop", task_env


def test_without_a_bound_user_the_replays_password_and_no_project_in_a_permissive_install() -> None:
    for policy, project in ((_policy(), "shop"), (PERMISSIVE, None)):
        for task_env, job in _jobs(policy).items():
            env, task = env_of(job), json.loads(env_of(job)[task_env]["value"])
            assert REDIS_USERNAME_ENV not in env and "usernameEnv" not in _redis_of(task)
            assert env[REDIS_PASSWORD_ENV]["valueFrom"]["secretKeyRef"]["name"] == "rp"
            assert task["replay"].get("project") == project, task_env


def test_docs_give_the_builders_acl_lines() -> None:
    lines = [line for line in DOCS.read_text().splitlines() if line.startswith("ACL SETUSER ")]
    assert lines, "docs/security.md gives no ACL SETUSER line"
    for line in lines:
        rest = re.fullmatch(r"ACL SETUSER (\S+) reset on >\$PASSWORD (.*)", line).group(2)  # type: ignore[union-attr]
        namespaces = re.findall(r"~eventreplay:([^:*]+):\*", rest)
        sink_topics = re.findall(r"~ers:\{\*:([^}]+)\}:\*", rest)
        assert namespaces and sink_topics, line
        assert rest.split() == redis_acl.tenant_acl_rules(namespaces, sink_topics), line


def test_a_sink_pattern_that_would_widen_the_projects_acl_is_refused_when_the_policy_loads() -> None:
    for bad in ("orders:*", "a}b", "a b"):
        try:
            _policy(sinkTopics=[bad])
        except ValueError as err:
            assert "sinkTopics" in str(err) or "sink_topics" in str(err), err
        else:
            raise AssertionError(f"sinkTopics {bad!r} was accepted")
    assert _policy(sinkTopics=["orders-[!x]*", "out?"]).document.projects[0].sink_topics == ["orders-[!x]*", "out?"]
