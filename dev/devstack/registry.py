"""A Confluent-compatible schema registry (Apicurio 2.1.5, built from Maven Central jars).

It serves the Confluent API v6 under `/apis/ccompat/v6`, the URL clients are given (the base path
included). Schemas live in a file-backed H2 database in the stack's state folder, so schema ids
survive a restart of the registry as they do on a real one: records already written keep
decoding.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from . import config, procs
from .component import Component

HERE = Path(__file__).resolve().parent.parent / "registry"
CONFLUENT_API = "/apis/ccompat/v6"


class Registry(Component):
    name = "registry"
    marker = "registry-1.0-runner.jar"
    start_timeout = 90.0

    def __init__(self) -> None:
        self.jar: Path | None = None

    def install(self) -> None:
        out = subprocess.run(["bash", str(HERE / "fetch.sh")], check=True, capture_output=True, text=True)
        self.jar = Path(out.stdout.strip().splitlines()[-1])

    def launch(self) -> None:
        assert self.jar is not None
        data = config.state_dir() / "registry"
        (data / "tmp").mkdir(parents=True, exist_ok=True)
        procs.start(
            self.name,
            [
                "java",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                # The JVM's scratch files in this stack's folder (which also names the process as this stack's).
                f"-Djava.io.tmpdir={data / 'tmp'}",
                f"-Dquarkus.http.host={config.HOST}",
                f"-Dquarkus.http.port={config.PORTS.registry}",
                "-jar",
                str(self.jar),
            ],
            # Read only from the environment (the app's config substitutes it into its datasource).
            env={"REGISTRY_DATASOURCE_URL": f"jdbc:h2:file:{data / 'registry'}"},
        )

    def healthy(self) -> bool:
        if not procs.port_open(config.PORTS.registry):
            return False
        try:
            with urllib.request.urlopen(f"{config.registry_url()}/subjects", timeout=5) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def env(self) -> dict[str, str]:
        return {"EVENTREPLAY_SCHEMA_REGISTRY_URL": config.registry_url()}
