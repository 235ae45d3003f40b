"""The two Redis key layouts: a replay planned by chart 0.1.0 (layout 1) keeps its keys where 0.1.0
wrote them, pinned here as `git show 7d99ca5:worker/contract/names.py` names them; every replay
planned since carries its namespace (layout 2). The sink ledger is one per sink in either layout.
"""

from __future__ import annotations

import pytest

from eventreplay.worker.contract import names, sink_keys
from eventreplay.worker.contract.tasks import ReplayIdentity


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        (
            None,
            [
                "eventreplay:ckpt:u1:4",
                "eventreplay:promotion:u1:4",
                "eventreplay:report:u1",
                "eventreplay:combine:u1",
                "eventreplay:failure:u1:promote",
                "er:{orders}",
                "er:{orders}:p:",
                "er:{orders}:p:7:",
                "er:{orders}:r:u1:2:",
                "er:{orders}:w:u1:2",
                "er:{rc:u1}",
                "er:{rc:u1}:run7:d:",
                "er:{rc:u1}:run7:started",
            ],
        ),
        (
            "ns",
            [
                "eventreplay:ns:ckpt:u1:4",
                "eventreplay:ns:promotion:u1:4",
                "eventreplay:ns:report:u1",
                "eventreplay:ns:combine:u1",
                "eventreplay:ns:failure:u1:promote",
                "er:{ns:orders}",
                "er:{ns:orders}:p:",
                "er:{ns:orders}:p:7:",
                "er:{ns:orders}:r:u1:2:",
                "er:{ns:orders}:w:u1:2",
                "er:{ns:rc:u1}",
                "er:{ns:rc:u1}:run7:d:",
                "er:{ns:rc:u1}:run7:started",
            ],
        ),
    ],
    ids=["layout 1 (0.1.0)", "layout 2"],
)
def test_every_replay_key_in_each_layout(tenant: str | None, expected: list[str]) -> None:
    assert [
        names.checkpoint_key(tenant, "u1", 4),
        names.promotion_key(tenant, "u1", 4),
        names.report_key(tenant, "u1"),
        names.combine_key(tenant, "u1"),
        names.failure_key(tenant, "u1", "promote"),
        names.ledger_route(tenant, "orders"),
        names.production_prefix(tenant, "orders"),
        names.production_slice_prefix(tenant, "orders", 7),
        names.replay_prefix(tenant, "orders", "u1", 2),
        names.ledger_watermark_key(tenant, "orders", "u1", 2),
        names.spill_route(tenant, "u1"),
        names.spill_prefix(tenant, "u1", "run7", "d"),
        names.spill_marker_key(tenant, "u1", "run7"),
    ] == expected


def test_a_legacy_replays_deletion_patterns_are_0_1_0s() -> None:
    assert names.replay_key_patterns(None, "u1", "orders") == [
        "eventreplay:ckpt:u1:*",
        "eventreplay:promotion:u1:*",
        "eventreplay:report:u1",
        "eventreplay:combine:u1",
        "eventreplay:failure:u1:*",
        "er:{orders}:r:u1:*",
        "er:{orders}:w:u1:*",
        "er:{rc:u1}:*",
    ]


def test_the_layout_is_chosen_in_one_place() -> None:
    assert names.key_tenant("ns", names.KEY_LAYOUT) == "ns"
    assert names.key_tenant("ns", names.LEGACY_KEY_LAYOUT) is None
    with pytest.raises(ValueError, match="unknown Redis key layout 3"):
        names.key_tenant("ns", 3)
    # A plan without keyLayout was made by 0.1.0; one with it says which.
    assert (names.planned_layout(None), names.planned_layout(1), names.planned_layout(2)) == (1, 1, 2)


def test_a_tasks_replay_identity_says_its_layout_and_defaults_to_today() -> None:
    today = ReplayIdentity(namespace="ns", name="r", uid="u1")
    assert (today.key_layout, today.key_tenant) == (2, "ns")
    assert "keyLayout" not in today.to_json(), "a task of today's layout reads as before the field existed"
    assert ReplayIdentity.model_validate_json(today.to_json()) == today
    legacy = ReplayIdentity.model_validate_json('{"namespace": "ns", "name": "r", "uid": "u1", "keyLayout": 1}')
    assert (legacy.key_layout, legacy.key_tenant) == (1, None)
    assert '"keyLayout":1' in legacy.to_json()
    with pytest.raises(ValueError, match="keyLayout"):
        ReplayIdentity.model_validate_json('{"namespace": "ns", "name": "r", "uid": "u1", "keyLayout": 3}')


def test_the_sink_ledger_is_the_sinks_in_either_layout() -> None:
    # 0.1.0's name, and the one every promotion uses since: the carry-over maps one onto the other.
    assert sink_keys.legacy_sink_ledger_key("c1", "out") == "er:{dst:c1:out}:promoted"
    assert sink_keys.sink_ledger_of_legacy("er:{dst:c1:out}:promoted") == sink_keys.sink_ledger_key("c1", "out")
    assert sink_keys.sink_ledger_key("c1", "out") == "ers:{c1:out}:promoted"
    assert sink_keys.LEGACY_SINK_LEDGERS == "er:{dst:*}:promoted"
    assert sink_keys.LEGACY_LEDGERS_CARRIED == "ers:legacy-ledgers-carried"
    for not_legacy in ("ers:{c1:out}:promoted", "er:{dst:}:promoted", "er:{ns:orders}:p:", "er:{dst:c:o}:pending:x:1"):
        with pytest.raises(ValueError, match="not a legacy sink ledger"):
            sink_keys.sink_ledger_of_legacy(not_legacy)
