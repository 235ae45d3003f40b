"""The operator in a cluster: in-cluster login by the Service address, namespaced mode without listing namespaces."""

from __future__ import annotations

import pytest

from eventreplay.operator import handlers


def test_in_cluster_server_comes_from_the_service_environment() -> None:
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert handlers.in_cluster_server(env) == "https://10.0.0.1:443"
    assert handlers.in_cluster_server({**env, "KUBERNETES_SERVICE_HOST": "fd00::1"}) == "https://[fd00::1]:443"
    assert handlers.in_cluster_server({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) is None
    assert handlers.in_cluster_server({}) is None


def test_service_account_login_uses_that_address_and_keeps_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import kopf

    info = kopf.ConnectionInfo(server="https://kubernetes.default.svc", token="t0k3n", default_namespace="ops")
    monkeypatch.setattr(kopf, "login_with_service_account", lambda **_: info)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    got = handlers.login(logger=None)
    assert got is not None and got.server == "https://10.0.0.1:443"
    assert (got.token, got.default_namespace) == ("t0k3n", "ops")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert handlers.login(logger=None) is info


def test_namespaced_mode_with_exact_names_needs_no_namespace_listing() -> None:
    assert handlers.namespaced_without_scanning(("team-a", "team-b")) is True
    assert handlers.namespaced_without_scanning(()) is False, "cluster mode keeps kopf's scanning"
    assert handlers.namespaced_without_scanning(("team-*",)) is False, "a glob needs the listing"
