"""Load one EventReplay from a YAML file and validate it with the operator's own pydantic models.

Errors name the field path the way `kubectl` would (`spec.window.timestamps.from: why`), so a
manifest that fails here would fail the same way at the API server, and vice versa.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from eventreplay.operator.api.v1alpha1 import KIND, EventReplay, EventReplaySpec, Plan

from .errors import EXIT_USAGE, CliError

_PATH_HEAD = re.compile(r"^[A-Za-z][\w.\[\]]*$")


@dataclass(frozen=True)
class Manifest:
    """An EventReplay read from a file, validated as the API server would."""

    path: str
    replay: EventReplay
    frozen_plan: Plan | None = None
    """An applied replay's `status.plan` (from `kubectl get -o yaml`): the offsets its Jobs read."""

    @property
    def namespace(self) -> str:
        return self.replay.metadata.namespace or "default"

    @property
    def name(self) -> str:
        return self.replay.metadata.name

    @property
    def spec(self) -> EventReplaySpec:
        return self.replay.spec


def load(path: str) -> Manifest:
    """Read, parse and validate; CliError (exit 2) with one line per problem otherwise."""
    try:
        text = Path(path).read_text() if path != "-" else _stdin()
    except OSError as err:
        raise CliError(f"manifest {path}: {err.strerror or err}", EXIT_USAGE) from err
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise CliError(f"manifest {path}: not valid YAML: {_yaml_problem(err)}", EXIT_USAGE) from err
    return from_documents(path, docs)


def _stdin() -> str:
    import sys

    return sys.stdin.read()


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else str(problem)


def from_documents(path: str, docs: Sequence[Any]) -> Manifest:
    replays = [d for d in docs if isinstance(d, dict) and d.get("kind") == KIND]
    if not replays:
        kinds = ", ".join(sorted({str(d.get("kind")) for d in docs if isinstance(d, dict)})) or "nothing"
        raise CliError(f"manifest {path}: no {KIND} in it (found: {kinds})", EXIT_USAGE)
    if len(replays) > 1:
        raise CliError(f"manifest {path}: {len(replays)} {KIND}s in one file; give exactly one", EXIT_USAGE)
    doc = replays[0]
    try:
        replay = EventReplay.desired(doc)
    except ValidationError as err:
        raw_spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else None
        problems = [_problem(e, raw_spec) for e in err.errors()]
        raise CliError(f"manifest {path} is invalid:\n  " + "\n  ".join(problems), EXIT_USAGE) from err
    return Manifest(path=path, replay=replay, frozen_plan=_frozen_plan(path, doc))


def _frozen_plan(path: str, doc: dict[str, Any]) -> Plan | None:
    status = doc.get("status")
    raw = status.get("plan") if isinstance(status, dict) else None
    if raw is None:
        return None
    try:
        return Plan.model_validate(raw)
    except ValidationError as err:
        raise CliError(f"manifest {path}: status.plan is not a plan: {err.errors()[0]['msg']}", EXIT_USAGE) from err


def _problem(err: ErrorDetails, raw_spec: dict[str, Any] | None) -> str:
    """A header problem as `field: why` (the model's own words); a spec problem by `format_error`."""
    loc = err["loc"]
    if loc[0] == "spec" and len(loc) > 1:
        return format_error({**err, "loc": loc[1:]}, raw_spec)
    return f"{dotted(loc)}: {err['msg'].removeprefix('Value error, ')}"


def dotted(loc: Sequence[int | str]) -> str:
    """('window', 'offsets', 'perPartition', 0, 'to') -> 'window.offsets.perPartition[0].to'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_error(err: ErrorDetails, raw_spec: dict[str, Any] | None = None) -> str:
    """One pydantic error as `spec.<path>: <why>`, as precise as the error allows."""
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = err["type"]
    if kind == "missing":
        # A required-unless-another-field value is validated from its default, reported by its Python name.
        loc = [to_camel(p) if isinstance(p, str) and "_" in p else p for p in loc]
        return f"spec.{dotted(loc)}: required field missing" if loc else "spec: required field missing"
    if kind == "extra_forbidden":
        return f"spec.{dotted(loc)}: unknown field"
    # Model-level validators report the enclosing object: point at the field whose value the
    # message quotes (e.g. a `from` that is not RFC 3339), or at the path the message starts with.
    value = err.get("input")
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str | int) and not isinstance(item, bool) and repr(item) in msg:
                loc = [*loc, key]
                break
    head, sep, rest = msg.partition(": ")
    base = dotted(loc)
    if sep and _PATH_HEAD.match(head) and head.startswith(base.split("[")[0]) and len(head) >= len(base):
        base, msg = head, rest
    if not isinstance(value, dict | list) and value is not None and repr(value) not in msg:
        shown = repr(value)
        msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return f"spec.{base}: {msg}" if base else f"spec: {msg}"
