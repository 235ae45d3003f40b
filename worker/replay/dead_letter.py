"""What a dead letter carries: the source record's bytes, or a truncated copy and a hash when they are
too large to be written again.

A record above maxEventBytes (or one no producer limit admits) cannot be copied whole: writing it
would fail the same way, and a retried Job would fail on it forever. Its dead letter keeps the first
`COPY_BYTES` bytes plus the size and SHA-256 of the whole value (headers `er-value-bytes`,
`er-value-sha256`, `er-truncated`), so the record can be found and verified at its source offset.
"""

from __future__ import annotations

import hashlib

from ..contract.headers import SHA256_HEADER, SIZE_HEADER, TRUNCATED_HEADER
from ..runtime.produce import Headers

COPY_BYTES = 65_536
"""How much of a too-large value its dead letter keeps."""


def truncated_copy(value: bytes | None, key: bytes | None) -> tuple[bytes | None, bytes | None, Headers]:
    """(value, key, headers) of the dead letter of a record too large to be copied whole."""
    if value is None:
        return None, _cut(key), []
    headers: Headers = [
        (TRUNCATED_HEADER, b"true"),
        (SIZE_HEADER, str(len(value)).encode()),
        (SHA256_HEADER, hashlib.sha256(value).hexdigest().encode()),
    ]
    return value[:COPY_BYTES], _cut(key), headers


def _cut(key: bytes | None) -> bytes | None:
    return key if key is None or len(key) <= COPY_BYTES else key[:COPY_BYTES]
