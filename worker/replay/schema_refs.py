"""An inline JSON Schema's `$ref` resolve inside the schema only: no URL is ever fetched.

fastjsonschema resolves a `$ref` to another document (`http://`, `https://`, `file:`, a relative
path) with its `handlers`, and falls back to `urllib.request.urlopen` for any scheme they lack:
a tenant's schema could make the worker read a file or reach any host, without a timeout.
`NO_REMOTE` claims every scheme and refuses each one, so the compile fails with the ref named (a
permanent failure) before a byte leaves the worker. The operator refuses such refs at admission
too; this is the worker's own guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class RemoteRef(ValueError):
    """A `$ref` that points outside the inline schema."""

    def __init__(self, uri: str) -> None:
        super().__init__(
            f"validation.jsonSchema: $ref {uri!r} points outside the schema; "
            "only refs inside it ('#/...') are resolved, nothing is fetched"
        )


def _refuse(uri: str) -> Any:
    raise RemoteRef(uri)


class _NoRemote(Mapping[str, Callable[[str], Any]]):
    """A handler for every URI scheme (`scheme in handlers` is always true), each one refusing."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


NO_REMOTE: Mapping[str, Callable[[str], Any]] = _NoRemote()
"""The `handlers` of `fastjsonschema.compile`: no scheme falls through to urlopen."""
