"""The output digest: a SHA-256 chain over emitted records in offset order.

d_0 = 32 zero bytes; d_i = SHA-256(d_{i-1} || len(key) as 4 bytes || key || value).
A chain (not one running hashlib object) so the state is 32 bytes that fit in a checkpoint and
a resumed worker continues it exactly: an interrupted run and an uninterrupted one end equal.
Anyone can recompute it from the sandbox partition (read_committed) with `chain()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

ZERO = bytes(32)


def step(state: bytes, key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(b"".join((state, len(key).to_bytes(4, "big"), key, value))).digest()


def chain(records: Iterable[tuple[bytes, bytes]], state: bytes = ZERO) -> bytes:
    for key, value in records:
        state = step(state, key, value)
    return state
