"""The operator as a subprocess, exactly as in production, and the clean-up of a namespace's replays.

`python -m eventreplay.operator --namespace NS` logs in with the stack's kubeconfig (client
certificates); its Jobs are run by the node harness. Without a policy file it runs as a default
install does (the closed default), configured with the stack's Kafka and Redis as its own
(`own_endpoints`), so replays may use exactly those; `permissive_policy` writes the opt-in.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import config
from eventreplay.operator.kube import MERGE, Kube, KubeError
from support.replay_waits import wait_for

CHECKOUT_WORKER = f"{sys.executable} -P -m eventreplay.worker run"
"""The worker of this checkout, as the harness's Job pods run it (`-P`: their working directory is not
put first on sys.path), for an operator whose Jobs must run this checkout's worker code."""


def own_endpoints() -> dict[str, str]:
    """The stack's Kafka and Redis, as the test process and as pods reach them, configured as the
    operator's own: all a default install (no policy) lends to replays."""
    redis = [f"{config.HOST}:{config.PORTS.redis}", f"{config.POD_GATEWAY}:{config.PORTS.redis}"]
    return {
        "EVENTREPLAY_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": f"{config.kafka_bootstrap()},{config.pod_kafka_bootstrap()}",
        "EVENTREPLAY_OPERATOR_REDIS_ADDRESSES": ",".join(redis),
    }


def permissive_policy(folder: Path) -> dict[str, str]:
    """The explicit opt-in (`policy.permissive: true` in the chart): the operator's environment for it."""
    path = folder / "permissive-policy.yaml"
    path.write_text("permissive: true\n")
    return {"EVENTREPLAY_POLICY_FILE": str(path)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """`python -m eventreplay.operator --namespace NS` with the stack's kubeconfig; log in a file."""

    def __init__(
        self, namespace: str, log: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.namespace, self.log_path, self.extra_env, self.args = namespace, log, env or {}, args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(config.kubeconfig_path()),
            "PYTHONUNBUFFERED": "1",
            **own_endpoints(),
            **self.extra_env,
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "eventreplay.operator",
                    "--namespace",
                    self.namespace,
                    "--liveness",
                    f"http://127.0.0.1:{self.port}/healthz",
                    *self.args,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=config.REPO,
                start_new_session=True,
            )
        wait_for(self.healthy, 30, "the operator's health endpoint")
        return self

    def healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, f"operator exited:\n{self.log()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no cleanup, like a node loss."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


@contextmanager
def running_operator(
    k: Kube, namespace: str, tmp: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[OperatorProcess]:
    """Run the operator for the block; afterwards delete the namespace's replays while it still runs
    (kopf holds a finalizer while its timer runs), then stop it."""
    op = OperatorProcess(namespace, tmp / "operator.log", env, args).start()
    try:
        yield op
    finally:
        if op.proc is None or op.proc.poll() is not None:
            op = OperatorProcess(namespace, tmp / "operator.log", env, args).start()
        cleanup_replays(k, namespace)
        op.stop()


def cleanup_replays(k: Kube, namespace: str, timeout: float = 30) -> None:
    base = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays"
    for item in k.call("GET", base).get("items") or []:
        name = item["metadata"]["name"]
        try:
            k.call("DELETE", f"{base}/{name}")
        except KubeError as err:
            if err.status != 404:
                raise
    try:
        wait_for(lambda: not k.call("GET", base).get("items"), timeout, "replays deleted")
    except AssertionError:  # the operator is gone: drop kopf's finalizers so the namespace can go
        for item in k.call("GET", base).get("items") or []:
            k.call(
                "PATCH", f"{base}/{item['metadata']['name']}", {"metadata": {"finalizers": None}}, content_type=MERGE
            )
