"""No silent restart: what a worker or promoter without a committed offset resumes from (pure part)."""

from __future__ import annotations

import pytest

from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint
from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.runtime.restart_guard import resume_promotion, resume_replay


def _ckpt(committed: int, state: str = "running") -> Checkpoint:
    ckpt = Checkpoint.fresh(0, 100, 1000)
    ckpt.committed_offset, ckpt.state, ckpt.emitted = committed, state, 7  # type: ignore[assignment]
    return ckpt


def same(c: Checkpoint) -> bool:
    return (c.start_offset, c.end_offset) == (100, 1000)


def test_a_worker_resumes_from_a_mirror_its_output_proves_current() -> None:
    found = resume_replay(_ckpt(600, "failed"), same, 599, "t/0")
    assert found is not None and found.committed_offset == 600 and found.emitted == 7
    assert found.state == "running" and found.message == ""
    assert resume_replay(_ckpt(600), same, None, "t/0") is not None  # the committed part wrote nothing


def test_nothing_written_and_no_usable_mirror_is_a_fresh_start() -> None:
    assert resume_replay(None, same, None, "t/0") is None
    other_plan = Checkpoint.fresh(0, 0, 50)
    assert resume_replay(other_plan, same, None, "t/0") is None


@pytest.mark.parametrize(("mirror", "written"), [(600, 600), (600, 900), (None, 120)])
def test_output_beyond_the_mirror_fails_permanently_saying_what_to_do(mirror: int | None, written: int) -> None:
    with pytest.raises(PermanentFailure) as failed:
        resume_replay(None if mirror is None else _ckpt(mirror), same, written, "orders/0")
    message = str(failed.value)
    assert "replay of orders/0 has no committed offset" in message
    assert f"up to source offset {written}" in message and "Create a new EventReplay" in message


def _promotion(committed: int, state: str = "running") -> PromotionCheckpoint:
    ckpt = PromotionCheckpoint.fresh(1, 0, 500, report_hash="a" * 64)
    ckpt.committed_offset, ckpt.state, ckpt.written = committed, state, 3  # type: ignore[assignment]
    return ckpt


def test_a_promoter_resumes_only_a_finished_partition() -> None:
    def same_report(c: PromotionCheckpoint) -> bool:
        return c.report_hash == "a" * 64

    done = resume_promotion(_promotion(500, "done"), same_report, "sb/1")
    assert done is not None and done.committed_offset == 500
    assert resume_promotion(None, same_report, "sb/1") is None
    assert resume_promotion(_promotion(0), same_report, "sb/1") is None  # nothing committed yet
    with pytest.raises(PermanentFailure, match="Reconcile again"):
        resume_promotion(_promotion(250), same_report, "sb/1")
    with pytest.raises(PermanentFailure, match="3 records written up to sandbox offset 500"):
        resume_promotion(_promotion(500, "failed"), same_report, "sb/1")
