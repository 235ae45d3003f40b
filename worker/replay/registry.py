"""The user code a worker image declares: transforms and validation models found by entry point, never imported by name.

A spec names user code (`transform.function`, `validation.model`); the worker runs it only when an
installed distribution registers that name in the entry point group (`eventreplay.transforms`,
`eventreplay.models`), as Kafka Connect loads only installed plugins. The lookup reads package
metadata only: an unregistered name (`logging.config:dictConfig`, `os:system`) is refused before
anything is imported. A registered name is the `module:attr` it points to, so the name a policy
allowlists and a report shows is the code that runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ..contract.exit_codes import PermanentFailure


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of user code: what the messages call it and the entry point group that registers it."""

    what: str
    group: str


TRANSFORMS = Kind("transform", "eventreplay.transforms")
MODELS = Kind("validation model", "eventreplay.models")


def registered(kind: Kind) -> dict[str, EntryPoint]:
    """The names installed distributions register for `kind` (metadata only: nothing is imported)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=kind.group):
        found.setdefault(point.name, point)
    return found


def resolve(kind: Kind, name: str) -> Any:
    """The object registered under `name`; a permanent failure when it is not registered or does not load."""
    point = registered(kind).get(name)
    if point is None:
        # "cannot import": the operator's Stalled message and its tests read the same words as before.
        raise PermanentFailure(
            f"cannot import {kind.what} {name!r}: not registered in this worker image "
            f"(entry point group {kind.group!r}; only registered {kind.what}s run)"
        )
    if point.value.strip() != name:
        raise PermanentFailure(
            f"{kind.what} {name!r} is registered as {point.value!r}: a registered name must be the "
            "module:attr it points to"
        )
    try:
        return point.load()
    except (ImportError, AttributeError) as err:
        raise PermanentFailure(f"cannot import {kind.what} {name!r}: {err}") from err
