"""The replay ledger's watermark on the real Redis: set at a fresh start, raised before each commit
(never lowered), and its loss refused: retriable before a commit, permanent on resume."""

from __future__ import annotations

from typing import Any

import pytest

from devstack import config
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.defaults import DEFAULT_TTL_SECONDS
from eventreplay.worker.contract.exit_codes import PermanentFailure, RetriableFailure
from eventreplay.worker.contract.names import ledger_watermark_key
from eventreplay.worker.ledger.watermark import LedgerWatermark
from support.worker_run import make_task

pytestmark = pytest.mark.stack


def _watermark(redis_client: Any, unique: str) -> tuple[LedgerWatermark, str]:
    task = make_task(config.kafka_bootstrap(), "orders", unique, 1000, start=100)
    return LedgerWatermark(redis_client, task), ledger_watermark_key(
        task.replay.namespace, task.dedup.ledger, unique, 0
    )


def _resumed(committed: int, *, watermarked: bool = True) -> Checkpoint:
    return Checkpoint(
        partition=0, start_offset=100, end_offset=1000, committed_offset=committed, watermarked=watermarked
    )


def test_set_raised_and_proven_on_resume(redis_client: Any, unique: str) -> None:
    mark, key = _watermark(redis_client, unique)
    fresh = Checkpoint.fresh(0, 100, 1000)
    mark.open(fresh)
    assert fresh.watermarked and int(redis_client.get(key)) == 100
    assert 0 < redis_client.ttl(key) <= DEFAULT_TTL_SECONDS  # the ledger's own TTL
    mark.advance(100, 400)
    mark.advance(400, 700)
    assert int(redis_client.get(key)) == 700
    # A fenced zombie's last transaction (from 100 to 400) does not lower it.
    mark.advance(100, 400)
    assert int(redis_client.get(key)) == 700
    mark.open(_resumed(700))  # the ledger reaches the committed offset: resume
    mark.open(_resumed(400))  # an aborted transaction got further: fine too


def test_lost_during_a_transaction_is_retriable_lost_before_a_resume_is_permanent(
    redis_client: Any, unique: str
) -> None:
    mark, key = _watermark(redis_client, unique)
    mark.open(Checkpoint.fresh(0, 100, 1000))
    mark.advance(100, 400)
    redis_client.delete(key)  # what FLUSHALL does to it
    with pytest.raises(
        RetriableFailure, match=r"lost marks during the transaction from offset 400 \(its watermark is gone\)"
    ):
        mark.advance(400, 700)
    with pytest.raises(PermanentFailure, match="watermark is gone, the committed output reaches offset 400"):
        mark.open(_resumed(400))
    # A restart without its last writes: the watermark is behind the committed offset.
    redis_client.set(key, 250)
    with pytest.raises(PermanentFailure, match=r"lost marks: its watermark is 250, .* reaches offset 400"):
        mark.open(_resumed(400))
    with pytest.raises(RetriableFailure, match="its watermark is 250"):
        mark.advance(400, 700)


def test_nothing_committed_or_an_older_workers_checkpoint_sets_it(redis_client: Any, unique: str) -> None:
    mark, key = _watermark(redis_client, unique)
    mark.open(Checkpoint.fresh(0, 100, 1000))  # a crash before the first commit: start again
    assert int(redis_client.get(key)) == 100
    redis_client.delete(key)
    older = _resumed(400, watermarked=False)
    mark.open(older)
    assert older.watermarked and int(redis_client.get(key)) == 400
