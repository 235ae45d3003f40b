"""`-o table|json|yaml`: the one output option of every command that prints objects, and its rendering."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import yaml

FORMATS = ("table", "json", "yaml")
"""table for people (`kubectl get`'s default), json and yaml for machines and for Git."""
_SYNONYMS = {"text": "table"}
"""What the human form was called before every command shared one option: old scripts keep working."""


def _format(value: str) -> str:
    return _SYNONYMS.get(value, value)


def add_output(parser: argparse.ArgumentParser, *, extra: Sequence[str] = (), what: str = "the result") -> None:
    """-o/--output on a command that prints objects: table (the default), json, yaml, and `extra` forms."""
    choices = (*FORMATS, *extra)
    parser.add_argument(
        "-o",
        "--output",
        type=_format,
        choices=choices,
        default="table",
        help=f"how to print {what}: {'|'.join(choices)} (default table)",
    )


def dump(data: Any, output: str, *, sort_keys: bool = False) -> str:
    """`data` as JSON or YAML (block style, keys in the order given unless `sort_keys`), no trailing newline."""
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=sort_keys)
    if output == "yaml":
        return yaml.safe_dump(data, sort_keys=sort_keys, default_flow_style=False, allow_unicode=True).rstrip("\n")
    raise ValueError(f"not a machine format: {output}")


def machine(output: str) -> bool:
    """True for the formats other programs read (json, yaml): nothing else goes to stdout then."""
    return output in ("json", "yaml")
