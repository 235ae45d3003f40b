"""Whose record is this: the replay uid every sandbox and dead-letter record carries in its
`er-replay-uid` header (`headers.REPLAY_UID_HEADER`).

Topics are named for the replay's uid, so another replay's records should never be there; reading
only records with our uid is the second defence (a topic left by an older operator that named
topics from namespace/name only, a hand-made task). Also used to find what a replay already wrote
when its group's committed offsets are gone, and by the operator to see who wrote a topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .headers import REPLAY_UID_HEADER

Headers = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None
"""What confluent-kafka's Message.headers() returns."""


def header(headers: Headers, name: str) -> bytes | None:
    """The first value of header `name` (None when absent)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if key == name:
            return value.encode() if isinstance(value, str) else value
    return None


def written_by(headers: Headers, uid: bytes) -> bool:
    """True when the record was written by the replay with this uid (called once per record read)."""
    if type(headers) is list:  # what confluent-kafka returns: a C-level tuple scan, ~15x cheaper
        return (REPLAY_UID_HEADER, uid) in headers
    return header(headers, REPLAY_UID_HEADER) == uid
