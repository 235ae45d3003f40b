"""The poison breaker's judgement on a running checkpoint (pure)."""

from __future__ import annotations

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.tasks import PoisonBreaker
from eventreplay.worker.replay.poison import tripped


def _ckpt(emitted: int, dead: int, reasons: dict[str, int]) -> Checkpoint:
    return Checkpoint(
        partition=0,
        start_offset=0,
        end_offset=10_000,
        committed_offset=0,
        emitted=emitted,
        dead_lettered=dead,
        reasons=reasons,
    )


BREAKER = PoisonBreaker(max_invalid_ratio=0.5, min_records=100)


def test_no_breaker_never_trips() -> None:
    assert tripped(_ckpt(0, 5000, {"malformed": 5000}), None) is None


def test_the_ratio_is_judged_only_after_min_records() -> None:
    assert tripped(_ckpt(10, 89, {"schema": 89}), BREAKER) is None  # 99 read: too early


def test_at_the_limit_it_holds_above_it_it_trips_with_the_top_reasons() -> None:
    assert tripped(_ckpt(50, 50, {"schema": 50}), BREAKER) is None  # exactly 50 %
    why = tripped(_ckpt(40, 60, {"schema": 30, "malformed": 25, "missing-id": 3, "too-large": 2}), BREAKER)
    assert why is not None
    assert why.startswith("PoisonRatioExceeded: 60 of 100 records read were dead-lettered (60.0% > 50.0%)")
    assert "first reasons: schema 30, malformed 25, missing-id 3;" in why
    assert "too-large" not in why
