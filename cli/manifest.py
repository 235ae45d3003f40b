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
from pydantic_core import ErrorDetails

from eventreplay.operator.api_spec import GROUP, KIND, MAX_NAME, VERSION, EventReplaySpec

from .errors import EXIT_USAGE, CliError

API_VERSION = f"{GROUP}/{VERSION}"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PATH_HEAD = re.compile(r"^[A-Za-z][\w.\[\]]*$")


@dataclass(frozen=True)
class Manifest:
    path: str
    namespace: str
    name: str
    spec: EventReplaySpec


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
    problems = _header_problems(doc)
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    spec: EventReplaySpec | None = None
    raw_spec = doc.get("spec")
    if not isinstance(raw_spec, dict):
        problems.append("spec: required (a mapping)")
    else:
        try:
            spec = EventReplaySpec.model_validate(raw_spec)
        except ValidationError as err:
            problems.extend(format_error(e, raw_spec) for e in err.errors())
    if problems or spec is None:
        raise CliError(f"manifest {path} is invalid:\n  " + "\n  ".join(problems), EXIT_USAGE)
    return Manifest(path=path, namespace=str(meta.get("namespace") or "default"), name=str(meta["name"]), spec=spec)


def _header_problems(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if doc.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion: must be {API_VERSION} (got {doc.get('apiVersion')!r})")
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return [*problems, "metadata: required (with a name)"]
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        problems.append("metadata.name: required")
    elif len(name) > MAX_NAME or not DNS_SUBDOMAIN.match(name):
        problems.append(
            f"metadata.name: {name!r} must be lower-case letters, digits, '-' or '.', at most {MAX_NAME} characters"
        )
    namespace = meta.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not DNS_LABEL.match(namespace)):
        problems.append(f"metadata.namespace: {namespace!r} is not a valid namespace name")
    return problems


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
