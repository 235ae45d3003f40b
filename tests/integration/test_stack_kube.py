"""The local Kubernetes control plane and node harness, driven with the real kubectl.

Everything here runs against real components: etcd, kube-apiserver, kube-controller-manager
(the Job controller decides Complete/Failed) and the node harness running pods as processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devstack import config, kube, node
from support.kube_probes import (
    alive,
    apply,
    bare_pod,
    get,
    job,
    job_condition,
    job_pods,
    kubectl,
    pod_gone,
    running_pid,
    wait_for,
)

pytestmark = pytest.mark.stack
PY = "python"


def test_node_is_ready(kube_api: Any) -> None:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    (harness,) = [n for n in nodes if n["metadata"]["name"] == node.NODE_NAME]
    ready = {c["type"]: c["status"] for c in harness["status"]["conditions"]}["Ready"]
    assert ready == "True"


def test_job_exit_0_completes(namespace: str) -> None:
    apply(job("ok", namespace, ["sh", "-c", "echo fine; exit 0"]))
    assert wait_for(lambda: job_condition("ok", namespace), "job ok to finish") == "Complete"
    (pod,) = job_pods("ok", namespace)
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["nodeName"] == node.NODE_NAME
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    log = config.log_dir() / "pods" / f"{namespace}_{pod['metadata']['name']}.log"
    assert "fine" in log.read_text()


def test_job_exit_3_fails_after_two_pods(namespace: str) -> None:
    apply(job("bad", namespace, [PY, "-c", "raise SystemExit(3)"], backoff=1))
    # The Job controller waits ~10 s (its pod-failure backoff) before the second pod.
    assert wait_for(lambda: job_condition("bad", namespace), "job bad to finish") == "Failed"
    pods = job_pods("bad", namespace)
    assert len(pods) == 2, [p["metadata"]["name"] for p in pods]
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (3, "Error")
    reasons = {c["type"]: c.get("reason") for c in get("job", "bad", namespace)["status"]["conditions"]}
    assert reasons["Failed"] == "BackoffLimitExceeded"


def test_deleting_running_pod_kills_process(namespace: str) -> None:
    apply(bare_pod("sleeper", namespace, ["sleep", "300"]))
    pid = running_pid("sleeper", namespace)
    assert alive(pid)
    assert "sleep" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    kubectl("delete", "pod", "sleeper", "-n", namespace, "--wait=false")
    wait_for(lambda: pod_gone("sleeper", namespace), "pod sleeper to be deleted")
    wait_for(lambda: not alive(pid), f"pid {pid} to exit", timeout=10)


def test_sigterm_ignored_gets_sigkill_after_grace(namespace: str) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
    apply(bare_pod("stubborn", namespace, [PY, "-c", stubborn], terminationGracePeriodSeconds=2))
    pid = running_pid("stubborn", namespace)
    began = time.monotonic()
    kubectl("delete", "pod", "stubborn", "-n", namespace, "--wait=false")
    wait_for(lambda: pod_gone("stubborn", namespace), "pod stubborn to be deleted")
    assert not alive(pid)
    assert time.monotonic() - began >= 1.5  # it was given its grace period first


DUMP = (
    "import json, os, shutil, sys; json.dump({**os.environ, 'ARGV': sys.argv[2:], 'EXE': sys.executable,"
    " 'CWD': os.getcwd(), 'WORKER': shutil.which('eventreplay-worker') or ''}, open(sys.argv[1], 'w'))"
)


def test_env_from_secret_and_configmap(namespace: str, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": namespace},
            "stringData": {"token": "s3cr3t-$value"},
        }
    )
    apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": namespace},
            "data": {"MODE": "fast", "LEVEL": "3"},
        }
    )
    env = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "MAYBE", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x", "optional": True}}},
        {"name": "LEVEL_TOO", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LEVEL"}}},
    ]
    env_from = [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "creds"}}]
    apply(job("secret", namespace, [PY, "-c", DUMP, str(out)], env=env, envFrom=env_from))
    assert wait_for(lambda: job_condition("secret", namespace), "job secret to finish") == "Complete"
    seen = json.loads(out.read_text())
    assert seen["TOKEN"] == "s3cr3t-$value"
    assert seen["token"] == "s3cr3t-$value"
    assert (seen["CFG_MODE"], seen["CFG_LEVEL"], seen["LEVEL_TOO"]) == ("fast", "3", "3")
    assert "MAYBE" not in seen
    assert "KUBECONFIG" not in seen  # the harness's own environment does not leak in


def test_field_refs_and_var_expansion(namespace: str, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    ref = [
        ("POD", "metadata.name"),
        ("NS", "metadata.namespace"),
        ("UID", "metadata.uid"),
        ("APP", "metadata.labels['app']"),
        ("NODE", "spec.nodeName"),
        ("IP", "status.podIP"),
    ]
    env = [{"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}} for n, p in ref]
    env += [
        {"name": "GREETING", "value": "hello $(POD) in $(NS)"},
        {"name": "ESCAPED", "value": "$$(POD) and $(UNKNOWN)"},
    ]
    command = [PY, "-c", DUMP, str(out)]
    apply(job("fields", namespace, command, env=env, args=["$(NS)", "$$(NS)", "x$(APP)y"]))
    assert wait_for(lambda: job_condition("fields", namespace), "job fields to finish") == "Complete"
    (pod,) = job_pods("fields", namespace)
    seen = json.loads(out.read_text())
    assert seen["POD"] == pod["metadata"]["name"]
    assert (seen["NS"], seen["UID"]) == (namespace, pod["metadata"]["uid"])
    assert (seen["APP"], seen["NODE"], seen["IP"]) == ("probe", node.NODE_NAME, "127.0.0.1")
    assert seen["GREETING"] == f"hello {pod['metadata']['name']} in {namespace}"
    assert seen["ESCAPED"] == "$(POD) and $(UNKNOWN)"
    assert seen["ARGV"] == [namespace, "$(NS)", "xprobey"]
    venv_bin = Path(sys.executable).parent
    assert Path(seen["EXE"]).parent == venv_bin  # `python` is the repo's virtualenv
    assert Path(seen["WORKER"]) == venv_bin / "eventreplay-worker"
    assert seen["CWD"] == str(config.REPO)  # no workingDir: the repository root


def test_on_failure_restarts_in_place(namespace: str, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    flaky = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); n = len(p.read_text()) if p.exists() else 0;"
        " p.write_text('x' * (n + 1)); sys.exit(0 if n else 4)"
    )
    apply(job("flaky", namespace, [PY, "-c", flaky, str(counter)], backoff=3, restart="OnFailure"))
    assert wait_for(lambda: job_condition("flaky", namespace), "job flaky to finish") == "Complete"
    (pod,) = job_pods("flaky", namespace)
    cs = pod["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 4
    assert counter.read_text() == "xx"


def test_unsupported_pod_fails_clearly(namespace: str) -> None:
    two = bare_pod("two", namespace, ["true"])
    two["spec"]["containers"].append({"name": "side", "image": "eventreplay:dev", "command": ["true"]})
    apply(two)
    apply(bare_pod("nocmd", namespace, []))
    for name, words in (("two", "single-container"), ("nocmd", "no command")):
        status = wait_for(
            lambda n=name: (s := get("pod", n, namespace)["status"]).get("phase") == "Failed" and s,
            f"pod {name} to fail",
        )
        assert words in status["message"]


def test_active_deadline_fails_the_pod(namespace: str) -> None:
    apply(bare_pod("late", namespace, ["sleep", "300"], activeDeadlineSeconds=3))
    pid = running_pid("late", namespace)
    status = wait_for(
        lambda: (s := get("pod", "late", namespace)["status"]).get("phase") == "Failed" and s,
        "pod late to hit its deadline",
        timeout=60,
    )
    assert status["reason"] == "DeadlineExceeded"
    assert not alive(pid)


def test_stack_env_puts_kubectl_on_path() -> None:
    script = 'eval "$(dev/stack env)" && command -v kubectl && kubectl get --raw /readyz'
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    out = subprocess.run(
        ["bash", "-c", script],
        cwd=config.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(kube.kubectl_path()), "ok"]


OPERATOR = """
import kopf

@kopf.on.startup()
def quiet(settings, **_):
    settings.posting.enabled = False

@kopf.on.event("v1", "namespaces")
def seen(name, logger, **_):
    logger.info(f"SEEN-NAMESPACE {name}")
"""


def test_kopf_logs_in_with_the_kubeconfig(tmp_path: Path, namespace: str) -> None:
    """kopf (via the kubernetes client's kubeconfig loader) accepts the embedded certificates."""
    script = tmp_path / "op.py"
    script.write_text(OPERATOR)
    env = {**os.environ, "KUBECONFIG": str(config.kubeconfig_path())}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "kopf"), "run", "--standalone", "-A", str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        for line in proc.stdout:
            if f"SEEN-NAMESPACE {namespace}" in line or time.monotonic() > deadline:
                break
        else:
            pytest.fail("kopf exited before it listed namespaces")
        assert time.monotonic() <= deadline, "kopf did not list namespaces within 60 s"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
