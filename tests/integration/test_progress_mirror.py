"""The progress mirror is compare-and-set on the real Redis: a paused zombie cannot regress it."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.worker.contract.checkpoints import Checkpoint, write_mirror
from eventreplay.worker.contract.names import checkpoint_key
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack


def _at(offset: int, state: str = "running") -> Checkpoint:
    ckpt = Checkpoint.fresh(0, 0, 100)
    ckpt.committed_offset, ckpt.state = offset, state  # type: ignore[assignment]
    return ckpt


def _stored(redis_client: Any, key: str) -> tuple[int, str]:
    ckpt = Checkpoint.from_json(redis_client.get(key))
    return ckpt.committed_offset, ckpt.state


def test_a_stale_checkpoint_never_overwrites_a_later_one(redis_client: Any, unique: str) -> None:
    key = checkpoint_key(TASK_NAMESPACE, unique, 0)
    assert write_mirror(redis_client, key, _at(10), 60, "mirror")
    assert write_mirror(redis_client, key, _at(50), 60, "mirror")
    assert not write_mirror(redis_client, key, _at(10), 60, "mirror"), "the zombie's older checkpoint"
    assert _stored(redis_client, key) == (50, "running")
    assert write_mirror(redis_client, key, _at(100, "done"), 60, "mirror")
    assert not write_mirror(redis_client, key, _at(100), 60, "mirror"), "done is not turned back into running"
    assert _stored(redis_client, key) == (100, "done")
    assert 0 < redis_client.ttl(key) <= 60


def test_a_failure_is_recorded_at_the_same_offset(redis_client: Any, unique: str) -> None:
    key = checkpoint_key(TASK_NAMESPACE, unique, 0)
    assert write_mirror(redis_client, key, _at(40), 60, "mirror")
    assert write_mirror(redis_client, key, _at(40, "failed"), 60, "mirror")
    assert _stored(redis_client, key) == (40, "failed")
