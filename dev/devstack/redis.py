"""Redis from Debian's redis-server: AOF on, noeviction (ledger keys must never be evicted)."""

from __future__ import annotations

import shutil
import subprocess

from . import config, procs
from .component import Component


def apt_install(*packages: str) -> None:
    """Install Debian packages if their binaries are missing (CI machines start bare)."""
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )


class Redis(Component):
    name = "redis"
    marker = "redis-server"
    start_timeout = 30.0

    def install(self) -> None:
        if shutil.which("redis-server") is None:
            apt_install("redis-server")

    def launch(self) -> None:
        data = config.state_dir() / "redis"
        data.mkdir(parents=True, exist_ok=True)
        procs.start(
            self.name,
            [
                "redis-server",
                "--bind",
                config.HOST,
                # Still loopback only; pods of the real node arrive DNATed from their bridge
                # (pod_network.py) with pod addresses, which protected mode would refuse.
                "--protected-mode",
                "no",
                "--port",
                str(config.PORTS.redis),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--maxmemory",
                "2gb",
                "--maxmemory-policy",
                "noeviction",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
        )

    def healthy(self) -> bool:
        out = subprocess.run(
            ["redis-cli", "-h", config.HOST, "-p", str(config.PORTS.redis), "PING"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() == "PONG"

    def env(self) -> dict[str, str]:
        return {"EVENTREPLAY_REDIS_URL": config.redis_url()}
