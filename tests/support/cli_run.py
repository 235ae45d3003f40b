"""Running the `eventreplay` command as a user does, and the manifests the CLI tests feed it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from datagen.orders import ORDER_SCHEMA
from devstack import config
from support.operator_driver import replay_manifest


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventreplay.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CLI_NAMESPACE = "cli-tests"
"""The namespace of the manifests `write_manifest` writes by default: the tenant of their Redis keys."""


def write_manifest(tmp_path: Path, name: str, spec: dict[str, Any], namespace: str = CLI_NAMESPACE) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(replay_manifest(namespace, name, spec)))
    return str(path)


def spec_for(
    topic: str, window: dict[str, Any], bootstrap: str = config.kafka_bootstrap(), **extra: Any
) -> dict[str, Any]:
    return {
        "source": {"bootstrapServers": bootstrap, "topic": topic},
        "window": window,
        "validation": {"jsonSchema": ORDER_SCHEMA},
        "dedup": {"redis": {"url": config.redis_url()}, "ledger": f"l-{topic}"},
        "sink": {"topic": f"{topic}-out"},
        **extra,
    }
