"""What a deleted replay owns outside Kubernetes (pure): only what its own status recorded."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from eventreplay.operator.cleanup import leftovers, reachable_spec
from eventreplay.worker.contract import names
from support.policies import one_project_policy

UID = "0d6c8a9e-1111-2222-3333-444455556666"
WINDOW = {"offsets": {"from": 0, "to": 10}}
SPEC = {"source": {"bootstrapServers": "k:9092"}, "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"}}


@pytest.mark.parametrize(
    "status",
    [
        {
            "plan": {"sandboxTopic": "eventreplay.ns.r.sandbox", "deadLetterTopic": "eventreplay.ns.r.dlq"},
            "reconciliation": {"reportTopic": "eventreplay.ns.r.report"},
        },
        # A status pointing at topics the replay does not own (issue 25): never deleted.
        {"plan": {"sandboxTopic": "payments", "deadLetterTopic": "orders"}, "reconciliation": {"reportTopic": "audit"}},
    ],
    ids=["as recorded", "forged"],
)
def test_topics_are_named_again_from_the_uid_never_read_from_the_status(status: dict[str, Any]) -> None:
    found = leftovers(SPEC, status, "ns", "r", UID)
    owned = names.ReplayTopics.of("ns", "r", UID)
    assert found.topics == sorted([owned.sandbox, owned.dead_letter, owned.report, owned.results])
    assert not {"payments", "orders", "audit"} & set(found.topics)
    assert (found.bootstrap, found.redis_url, found.group_prefix) == (
        "k:9092",
        "redis://r:6379/0",
        f"eventreplay-{UID}",
    )
    never = leftovers(SPEC, {}, "ns", "r", UID)  # never planned: nothing written, no endpoint contacted
    assert (never.topics, never.bootstrap, never.redis_url, never.key_patterns) == ([], "", "", [])


def test_an_aggregate_replay_also_leaves_its_results_topic() -> None:
    aggregate = {**SPEC, "transform": {"aggregate": {"eventTimeField": "ts"}}}
    found = leftovers(aggregate, {"plan": {"sandboxTopic": "s"}}, "ns", "r", UID)
    assert names.ReplayTopics.of("ns", "r", UID).results in found.topics


@pytest.mark.parametrize(
    ("plan", "tenant", "other_layout"),
    [({"sandboxTopic": "s", "keyLayout": 2}, "ns", None), ({"sandboxTopic": "s"}, None, "ns")],
    ids=["layout 2", "planned by 0.1.0: legacy keys"],
)
def test_key_patterns_cover_every_uid_scoped_key_and_nothing_of_another_replay(
    plan: dict[str, Any], tenant: str | None, other_layout: str | None
) -> None:
    patterns = leftovers(SPEC, {"plan": plan}, "ns", "r", UID).key_patterns
    mine = [
        names.checkpoint_key(tenant, UID, 17),
        names.promotion_key(tenant, UID, 3),
        names.report_key(tenant, UID),
        names.failure_key(tenant, UID, "reconcile"),
        names.replay_prefix(tenant, "orders", UID, 2) + "00af",
        names.spill_prefix(tenant, UID, "run1", "s") + "1f",
        names.ledger_watermark_key(tenant, "orders", UID, 2),
        names.spill_marker_key(tenant, UID, "run1"),
    ]
    theirs = [
        names.checkpoint_key(tenant, "other", 17),
        names.checkpoint_key("ns2", UID, 17),
        names.checkpoint_key(other_layout, UID, 17),  # the same replay's key in the other layout
        names.production_prefix(tenant, "orders") + "00af",
        names.replay_prefix(tenant, "orders", "other", 2) + "00af",
        names.spill_prefix(tenant, "other", "run1", "s") + "1f",
        names.ledger_watermark_key(tenant, "orders", "other", 2),
    ]
    # Redis MATCH is glob-style; braces are literal there as in fnmatch.
    assert all(any(fnmatch.fnmatchcase(key, p) for p in patterns) for key in mine)
    assert not any(fnmatch.fnmatchcase(key, p) for p in patterns for key in theirs)


def test_cleanup_contacts_only_what_the_policy_allows_with_aliases_resolved() -> None:
    from eventreplay.operator.policy import PERMISSIVE, Policy, PolicyDocument

    full = {
        **SPEC,
        "source": {"bootstrapServers": "k:9092", "topic": "orders"},
        "window": WINDOW,
        "sink": {"topic": "o"},
    }
    permissive = reachable_spec(PERMISSIVE, "ns", full, "img")
    assert permissive["source"]["bootstrapServers"] == "k:9092"
    document = PolicyDocument.model_validate(one_project_policy("p", ["ns"]))
    aliased = {
        "source": {"cluster": "main", "topic": "orders"},
        "window": WINDOW,
        "dedup": {"redis": {"endpoint": "ledger"}, "ledger": "orders"},
        "sink": {"topic": "o"},
    }
    resolved = reachable_spec(Policy(document), "ns", aliased, "img")
    assert resolved["source"]["bootstrapServers"] == "k:9092"
    assert resolved["dedup"]["redis"]["url"] == "redis://r:6379/0"
    assert reachable_spec(Policy(document), "other-ns", aliased, "img") == {}  # no project for it: contact nothing
    assert reachable_spec(Policy(document), "ns", {"source": "not a spec"}, "img") == {}
