"""The status write as small as the change: a JSON merge patch replaces a list whole, so at 1,000
partitions one partition's progress would re-send the whole `partitions` list (~125 KB).

When the partitions list keeps its shape (same partitions, same order) and some entries changed,
the write is one JSON Patch instead: `replace` of exactly the changed entries (each guarded by a
`test` of its partition number, so a list reshaped meanwhile fails the patch instead of corrupting
it) and `add`/`remove` of the other top-level fields that changed.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def _key(entry: Any) -> Any:
    return entry.get("partition") if isinstance(entry, dict) else None


def partition_ops(old: JSON, new: JSON, changed: JSON) -> list[JSON] | None:
    """JSON Patch operations turning status `old` into `new` (`changed`: their merge diff), or None
    when a merge patch is as small (the partitions did not change in place)."""
    before, after = old.get("partitions"), new.get("partitions")
    if "partitions" not in changed or not isinstance(before, list) or not isinstance(after, list):
        return None
    if len(before) != len(after) or [_key(e) for e in before] != [_key(e) for e in after]:
        return None
    ops: list[JSON] = []
    for key in changed:
        if key == "partitions":
            continue
        path = f"/status/{key}"
        ops.append({"op": "remove", "path": path} if key not in new else {"op": "add", "path": path, "value": new[key]})
    for index, (was, now) in enumerate(zip(before, after, strict=True)):
        if was != now:
            path = f"/status/partitions/{index}"
            ops.append({"op": "test", "path": f"{path}/partition", "value": _key(was)})
            ops.append({"op": "replace", "path": path, "value": now})
    return ops


def conditions_only_patch(raw_status: JSON, wire: JSON) -> JSON:
    """A merge patch setting only `wire`'s conditions, phase and observedGeneration, leaving every
    other field of `raw_status` as it is: the write for a status that fails validation, whose plan
    must stay pinned (a re-plan would take a new as-of time while its Jobs still run)."""
    keys = ("conditions", "phase", "observedGeneration")
    return {key: wire.get(key) for key in keys if raw_status.get(key) != wire.get(key)}
