"""The checkpoint JSON is a stored, cross-process format: these bytes were written by the code
before the contract package existed. Readers decode by field name, so the same document (names,
values, omitted defaults) must come out, and the old bytes must decode to the same checkpoint."""

from __future__ import annotations

import orjson

from eventreplay.worker.contract.checkpoints import Checkpoint, PromotionCheckpoint

REPLAY_BYTES = (
    b'{"partition":3,"startOffset":100,"endOffset":200,"committedOffset":150,"emitted":40,"duplicate":3,'
    b'"processed":2,"deadLettered":5,"reasons":{"schema":4,"tombstone":1},"bytesIn":12345,"bytesOut":9876,'
    b'"digest":"' + b"ab" * 32 + b'","transactions":2,"startedAt":1700000000.5,"updatedAt":1700000010.25}'
)
FAILED_BYTES = (
    b'{"partition":0,"startOffset":0,"endOffset":10,"committedOffset":10,"state":"failed","message":"permanent: x"}'
)
PROMOTION_BYTES = (
    b'{"partition":1,"reportHash":"' + b"cd" * 32 + b'","startOffset":5,"endOffset":50,"committedOffset":50,'
    b'"written":30,"skippedIdentical":10,"skippedDuplicate":5,"digest":"' + b"ef" * 32 + b'","transactions":1,'
    b'"startedAt":1700000000.0,"updatedAt":1700000001.0,"state":"done"}'
)


def test_a_replay_checkpoint_encodes_to_the_same_document() -> None:
    ckpt = Checkpoint(
        partition=3,
        start_offset=100,
        end_offset=200,
        committed_offset=150,
        emitted=40,
        duplicate=3,
        processed=2,
        dead_lettered=5,
        reasons={"schema": 4, "tombstone": 1},
        bytes_in=12345,
        bytes_out=9876,
        digest="ab" * 32,
        transactions=2,
        started_at=1700000000.5,
        updated_at=1700000010.25,
        state="running",
    )
    assert orjson.loads(ckpt.to_json()) == orjson.loads(REPLAY_BYTES)
    assert Checkpoint.from_json(REPLAY_BYTES) == ckpt
    failed = Checkpoint(
        partition=0, start_offset=0, end_offset=10, committed_offset=10, state="failed", message="permanent: x"
    )
    assert orjson.loads(failed.to_json()) == orjson.loads(FAILED_BYTES)
    assert Checkpoint.from_json(FAILED_BYTES) == failed


def test_a_promotion_checkpoint_encodes_to_the_same_document() -> None:
    ckpt = PromotionCheckpoint(
        partition=1,
        report_hash="cd" * 32,
        start_offset=5,
        end_offset=50,
        committed_offset=50,
        written=30,
        skipped_identical=10,
        skipped_duplicate=5,
        digest="ef" * 32,
        transactions=1,
        started_at=1700000000.0,
        updated_at=1700000001.0,
        state="done",
    )
    assert orjson.loads(ckpt.to_json()) == orjson.loads(PROMOTION_BYTES)
    assert PromotionCheckpoint.from_json(PROMOTION_BYTES) == ckpt


def test_fresh_checkpoints_start_at_their_first_offset() -> None:
    replay = Checkpoint.fresh(2, 10, 30)
    promotion = PromotionCheckpoint.fresh(2, 10, 30, report_hash="a" * 64)
    for ckpt in (replay, promotion):
        assert (ckpt.partition, ckpt.committed_offset, ckpt.remaining, ckpt.percent) == (2, 10, 20, 0.0)
        assert ckpt.started_at == ckpt.updated_at > 0
    assert promotion.report_hash == "a" * 64
