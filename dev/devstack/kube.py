"""The Kubernetes control plane as local processes: etcd, kube-apiserver, kube-controller-manager.

Set up like controller-runtime's envtest (client-certificate authentication, RBAC), plus a
controller manager that runs the Job, garbage-collector, namespace, TTL-after-finished and a few
other controllers. The ServiceAccount admission plugin is on: the real node's pods (the operator
Deployment) get their ServiceAccount's token. There is no scheduler: the node harness binds pods
and runs them, or binds them to the real node (see node_harness.py, kubelet.py).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from . import config, pki, procs
from .component import Component

K8S_VERSION = os.environ.get("K8S_VERSION", "1.34.4")
BUILD_SCRIPT = config.REPO / "dev" / "k8s" / "build.sh"
CONTROLLERS = [
    "job-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "ttl-after-finished-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "cronjob-controller",
    "replicaset-controller",
    "deployment-controller",
]


def bin_dir() -> Path:
    """Where dev/k8s/build.sh puts kube-apiserver, kube-controller-manager and kubectl."""
    return config.cache_dir() / f"k8s-v{K8S_VERSION}" / "bin"


def kubectl_path() -> Path:
    return bin_dir() / "kubectl"


def kubectl(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the built kubectl against the stack's admin kubeconfig (callers judge the exit code)."""
    return subprocess.run(
        [str(kubectl_path()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": str(config.kubeconfig_path())},
        check=False,
    )


def wait_crd_established(name: str, timeout: float = 60) -> None:
    """Until the CRD `name` is Established. Not `kubectl wait`: it fails at once ("accessor error:
    <nil>") while a CRD applied a moment ago has no conditions yet."""
    query = '{.status.conditions[?(@.type=="Established")].status}'
    deadline = time.monotonic() + timeout
    while kubectl("get", f"crd/{name}", "-o", f"jsonpath={query}", timeout=30).stdout.strip() != "True":
        if time.monotonic() > deadline:
            raise procs.ComponentError(f"CRD {name} not Established within {timeout:.0f} s")
        time.sleep(0.5)


def build_binaries() -> Path:
    """Run dev/k8s/build.sh (a no-op when cached); its last stdout line is the bin folder."""
    if not (bin_dir() / "kube-apiserver").exists():
        print(
            f"building Kubernetes v{K8S_VERSION} binaries (10-25 min the first time); "
            f"log: {procs.log_file('k8s-build')}",
            flush=True,
        )
    config.log_dir().mkdir(parents=True, exist_ok=True)
    with open(procs.log_file("k8s-build"), "ab") as log:
        out = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    if out.returncode != 0:
        raise procs.ComponentError(f"dev/k8s/build.sh failed:\n{procs.log_tail('k8s-build')}")
    return Path(out.stdout.strip().splitlines()[-1])


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5, context=context) as resp:
        return int(resp.status), resp.read().decode()


def admin_ssl_context() -> ssl.SSLContext:
    """TLS context trusting the local CA and presenting the admin client certificate."""
    ctx = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
    ctx.load_cert_chain(str(pki.path("admin.crt")), str(pki.path("admin.key")))
    return ctx


class Etcd(Component):
    name = "etcd"
    marker = "eventreplay-etcd"
    start_timeout = 30.0

    def install(self) -> None:
        if shutil.which("etcd") is None:
            from .redis import apt_install

            apt_install("etcd-server")

    def launch(self) -> None:
        data = config.state_dir() / "etcd"
        data.parent.mkdir(parents=True, exist_ok=True)
        client = f"http://{config.HOST}:{config.PORTS.etcd}"
        peer = f"http://{config.HOST}:{config.PORTS.etcd_peer}"
        procs.start(
            self.name,
            [
                shutil.which("etcd") or "etcd",
                f"--name={self.marker}",
                f"--data-dir={data}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster={self.marker}={peer}",
                "--initial-cluster-state=new",
                "--auto-compaction-mode=periodic",
                "--auto-compaction-retention=1h",
                "--logger=zap",
                "--log-level=warn",
            ],
        )

    def healthy(self) -> bool:
        status, body = _get(f"http://{config.HOST}:{config.PORTS.etcd}/health")
        return status == 200 and json.loads(body).get("health") == "true"


class ApiServer(Component):
    name = "kube-apiserver"
    marker = "kube-apiserver"
    start_timeout = 120.0

    def up(self) -> bool:
        pki.ensure_pki()
        pki.write_kubeconfig()
        return super().up()

    def install(self) -> None:
        build_binaries()

    def launch(self) -> None:
        cert_dir = config.state_dir() / "apiserver"
        cert_dir.mkdir(parents=True, exist_ok=True)
        procs.start(
            self.name,
            [
                str(bin_dir() / "kube-apiserver"),
                f"--etcd-servers=http://{config.HOST}:{config.PORTS.etcd}",
                f"--bind-address={config.HOST}",
                f"--advertise-address={config.HOST}",
                f"--secure-port={config.PORTS.apiserver}",
                f"--cert-dir={cert_dir}",
                f"--tls-cert-file={pki.path('apiserver.crt')}",
                f"--tls-private-key-file={pki.path('apiserver.key')}",
                f"--client-ca-file={pki.path('ca.crt')}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                "--service-cluster-ip-range=10.0.0.0/24",
                # A namespace annotation steers its pods onto the real node (see node_binder).
                "--enable-admission-plugins=PodNodeSelector",
                # The real node's kubelet serves logs/exec to the API server as this client.
                f"--kubelet-client-certificate={pki.path('admin.crt')}",
                f"--kubelet-client-key={pki.path('admin.key')}",
                "--kubelet-preferred-address-types=InternalIP",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.path('sa.pub')}",
                f"--service-account-signing-key-file={pki.path('sa.key')}",
                # Loopback addresses are not valid endpoints for the `kubernetes` service.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )

    def healthy(self) -> bool:
        url = f"{pki.server_url()}/readyz"
        status, body = _get(url, admin_ssl_context())
        return status == 200 and body.strip() == "ok"

    def env(self) -> dict[str, str]:
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        if str(bin_dir()) not in path.split(os.pathsep):
            path = f"{bin_dir()}{os.pathsep}{path}"
        return {"KUBECONFIG": str(config.kubeconfig_path()), "PATH": path}


class ControllerManager(Component):
    name = "kube-controller-manager"
    marker = "kube-controller-manager"
    start_timeout = 90.0

    def install(self) -> None:
        build_binaries()

    def launch(self) -> None:
        procs.start(
            self.name,
            [
                str(bin_dir() / "kube-controller-manager"),
                f"--kubeconfig={config.kubeconfig_path()}",
                f"--controllers={','.join(CONTROLLERS)}",
                f"--service-account-private-key-file={pki.path('sa.key')}",
                f"--root-ca-file={pki.path('ca.crt')}",
                "--use-service-account-credentials=false",
                f"--secure-port={config.PORTS.controller_manager}",
                f"--bind-address={config.HOST}",
                f"--tls-cert-file={pki.path('apiserver.crt')}",
                f"--tls-private-key-file={pki.path('apiserver.key')}",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )

    def healthy(self) -> bool:
        ctx = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
        status, body = _get(f"https://{config.HOST}:{config.PORTS.controller_manager}/healthz", ctx)
        return status == 200 and body.strip() == "ok"
