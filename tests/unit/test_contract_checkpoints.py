"""The checkpoint JSON is a stored, cross-process format: these bytes were written by the code
before the contract package existed. Readers decode by field name, so the same document (names,
values, omitted defaults) must come out, and the old bytes must decode to the same checkpoint."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

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


def snake(name: str) -> str:
    """The Python field of a JSON name (`deadLettered` -> `dead_lettered`)."""
    return re.sub(r"([A-Z])", r"_\1", name).lower()


@pytest.mark.parametrize(
    ("kind", "document", "omitted"),
    [
        (Checkpoint, REPLAY_BYTES, {"state": "running"}),
        (Checkpoint, FAILED_BYTES, {}),
        (PromotionCheckpoint, PROMOTION_BYTES, {}),
    ],
    ids=["replay", "failed", "promotion"],
)
def test_a_checkpoint_encodes_to_the_same_document(
    kind: type[Checkpoint] | type[PromotionCheckpoint], document: bytes, omitted: dict[str, Any]
) -> None:
    """Built from the document's fields under their Python names (plus `omitted`: defaults given
    explicitly, which the document leaves out), it encodes to the document and back."""
    fields = {snake(name): value for name, value in orjson.loads(document).items()}
    ckpt = kind(**fields, **omitted)
    assert orjson.loads(ckpt.to_json()) == orjson.loads(document)
    assert kind.from_json(document) == ckpt


def test_fresh_checkpoints_start_at_their_first_offset() -> None:
    replay = Checkpoint.fresh(2, 10, 30)
    promotion = PromotionCheckpoint.fresh(2, 10, 30, report_hash="a" * 64)
    for ckpt in (replay, promotion):
        assert (ckpt.partition, ckpt.committed_offset, ckpt.remaining, ckpt.percent) == (2, 10, 20, 0.0)
        assert ckpt.started_at == ckpt.updated_at > 0
    assert promotion.report_hash == "a" * 64


def test_offsets_holding_no_record_are_counted_and_old_checkpoints_count_none() -> None:
    assert Checkpoint.from_json(REPLAY_BYTES).skipped_offsets == 0
    ckpt = Checkpoint.fresh(0, 0, 100, emitted=10)
    # A transaction read 7 records (5 emitted, 2 dead-lettered) while the offset moved on by 10:
    # three offsets (a commit marker, an aborted record and its abort marker) held none.
    before = ckpt.records
    ckpt.emitted, ckpt.dead_lettered = ckpt.emitted + 5, ckpt.dead_lettered + 2
    ckpt.count_skipped(10, before)
    assert ckpt.skipped_offsets == 3
    assert b'"skippedOffsets":3' in ckpt.to_json()
    assert Checkpoint.from_json(ckpt.to_json()).skipped_offsets == 3


def test_a_promotion_wait_is_named_in_the_mirror_only_while_set() -> None:
    """A mirror's wait on another replay's claim reads back by name; a committed checkpoint (none
    set) does not carry the fields at all, so older readers see the same document."""
    ckpt = PromotionCheckpoint.fresh(0, 0, 10, report_hash="ab")
    assert b"blocked" not in ckpt.to_json()
    waiting = PromotionCheckpoint.from_json(
        b'{"partition":0,"startOffset":0,"endOffset":10,"committedOffset":0,'
        b'"reportHash":"ab","blockedBy":"uid-1","blockedSince":1.5}'
    )
    assert (waiting.blocked_by, waiting.blocked_since) == ("uid-1", 1.5)
