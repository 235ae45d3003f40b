"""The replay digest: blocks of source offsets, independent of how a run was cut into transactions."""

from __future__ import annotations

import hashlib
import random

from eventreplay.worker.runtime import digest


def _records(count: int, seed: int = 3) -> list[tuple[int, bytes, bytes]]:
    rng = random.Random(seed)
    offset, out = 5, []
    for n in range(count):
        offset += rng.choice((1, 1, 1, 2, 7, 900))  # gaps: duplicates, dead letters, markers
        out.append((offset, f"id-{n}".encode(), rng.randbytes(rng.randint(0, 40))))
    return out


def test_block_end() -> None:
    assert [digest.block_end(o) for o in (0, 1, 1023, 1024, 1025, 5000)] == [0, 1024, 1024, 1024, 2048, 5120]


def test_resuming_at_block_boundaries_gives_the_uninterrupted_digest() -> None:
    records = _records(3000)
    whole = digest.block_chain(records)
    # Cut the run at random block boundaries, carrying only the 32-byte state, as checkpoints do.
    rng = random.Random(9)
    cuts = sorted({digest.block_end(rng.randint(0, records[-1][0])) for _ in range(12)})
    state, start = digest.ZERO, 0
    for cut in [*cuts, records[-1][0] + 1]:
        part = [r for r in records if start <= r[0] < cut]
        state = digest.block_chain(part, state)
        start = cut
    assert state == whole


def test_the_digest_follows_the_documented_definition() -> None:
    records = [(1, b"a", b"x"), (1023, b"b", b""), (1024, b"c", b"yy"), (9000, b"d", b"z")]
    expected = digest.ZERO
    for block in ([records[0], records[1]], [records[2]], [records[3]]):
        data = b"".join(len(k).to_bytes(4, "big") + k + len(v).to_bytes(4, "big") + v for _, k, v in block)
        expected = hashlib.sha256(expected + hashlib.sha256(data).digest()).digest()
    assert digest.block_chain(records) == expected
    # Content, order, key/value boundaries and block membership all change it.
    assert digest.block_chain([(1, b"a", b"x"), (1023, b"b", b""), (1024, b"c", b"yz"), (9000, b"d", b"z")]) != expected
    assert digest.block_chain([records[1], records[0], *records[2:]]) != expected
    assert digest.block_chain([(1, b"ax", b""), *records[1:]]) != expected
    assert digest.block_chain([records[0], (1024, b"b", b""), *records[2:]]) != expected
    assert digest.block_chain([]) == digest.ZERO
