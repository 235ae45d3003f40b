"""Certificates and the admin kubeconfig of the local control plane (made once with openssl).

Like envtest: one CA signs the apiserver's serving certificate and the client certificates;
the admin user is `kube-admin` in group `system:masters`. A separate RSA key pair signs
service-account tokens. The kubeconfig embeds everything as base64 `*-data` fields so
kubectl, the `kubernetes` client and kopf accept it without extra files.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

from . import config

DAYS = "3650"
# 10.0.0.1 is the `kubernetes` Service's ClusterIP: pods on the real node reach the API server there.
SERVER_EXT = (
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
    "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
    "extendedKeyUsage=serverAuth,clientAuth\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
)
CLIENT_EXT = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
CONTEXT = "eventreplay-local"


def pki_dir() -> Path:
    return config.state_dir() / "pki"


def path(name: str) -> Path:
    """A file in the PKI folder, e.g. path("ca.crt"), path("admin.key"), path("sa.pub")."""
    return pki_dir() / name


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], cwd=pki_dir(), check=True, capture_output=True)


def _signed(name: str, subject: str, ext: str) -> None:
    """A key and a certificate for `subject`, signed by the CA, with extensions `ext`."""
    (pki_dir() / f"{name}.ext").write_text(ext)
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        DAYS,
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
    )
    (pki_dir() / f"{name}.csr").unlink()
    (pki_dir() / f"{name}.ext").unlink()


def ensure_pki() -> None:
    """Create the CA, serving, admin and service-account keys unless they all exist."""
    wanted = [
        "ca.crt",
        "ca.key",
        "apiserver.crt",
        "apiserver.key",
        "admin.crt",
        "admin.key",
        "sa.key",
        "sa.pub",
    ]
    if all(path(name).exists() for name in wanted):
        if "10.0.0.1" not in _serving_names():
            _signed("apiserver", "/CN=kube-apiserver", SERVER_EXT)  # a stack from before the real node
        return
    pki_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        DAYS,
        "-subj",
        "/CN=eventreplay-local-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    _signed("apiserver", "/CN=kube-apiserver", SERVER_EXT)
    _signed("admin", "/O=system:masters/CN=kube-admin", CLIENT_EXT)
    _openssl("genrsa", "-out", "sa.key", "2048")
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
    for key in pki_dir().glob("*.key"):
        key.chmod(0o600)


def _serving_names() -> str:
    done = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(path("apiserver.crt"))],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


def ensure_client_cert(name: str, subject: str) -> None:
    """A client certificate signed by the stack's CA (e.g. the real node's kubelet identity)."""
    if not (path(f"{name}.crt").exists() and path(f"{name}.key").exists()):
        _signed(name, subject, CLIENT_EXT)
        path(f"{name}.key").chmod(0o600)


def _b64(name: str) -> str:
    return base64.b64encode(path(name).read_bytes()).decode()


def server_url() -> str:
    return f"https://{config.HOST}:{config.PORTS.apiserver}"


def write_kubeconfig(target: Path | None = None, user: str = "admin") -> Path:
    """Write a kubeconfig for a client certificate (default: admin; certificates embedded)."""
    target = target or config.kubeconfig_path()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server_url(), "certificate-authority-data": _b64("ca.crt")},
            }
        ],
        "users": [
            {
                "name": "kube-admin",
                "user": {"client-certificate-data": _b64(f"{user}.crt"), "client-key-data": _b64(f"{user}.key")},
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "kube-admin", "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    text = yaml.safe_dump(doc, sort_keys=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(target)
    return target
