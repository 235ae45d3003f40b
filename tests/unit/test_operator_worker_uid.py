"""The worker pods' uid: fixed (65532) by default, left to the platform with `none` (OpenShift)."""

from __future__ import annotations

import pytest
from operator_fixtures import operator_config, plan, spec

from eventreplay.operator.config import OperatorConfig, from_args
from eventreplay.operator.job_names import Owner
from eventreplay.operator.jobs import build_job

OWNER = Owner(namespace="payments", name="orders", uid="uid-1")


def pod_security(config: OperatorConfig) -> dict[str, object]:
    p = plan([(0, 10, 20)])
    return dict(build_job(spec(), p, p.partitions[0], OWNER, config)["spec"]["template"]["spec"]["securityContext"])


def test_a_fixed_uid_by_default_and_none_where_the_platform_assigns_it() -> None:
    fixed = pod_security(operator_config())
    assert fixed == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assigned = pod_security(operator_config(run_as_user=None))
    assert assigned == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize(
    ("argv", "env", "uid"),
    [
        ([], {}, 65532),
        ([], {"EVENTREPLAY_WORKER_RUN_AS_USER": "none"}, None),
        ([], {"EVENTREPLAY_WORKER_RUN_AS_USER": "1000"}, 1000),
        (["--worker-run-as-user", "None"], {"EVENTREPLAY_WORKER_RUN_AS_USER": "1000"}, None),
    ],
)
def test_the_uid_comes_from_the_flag_then_the_env(argv: list[str], env: dict[str, str], uid: int | None) -> None:
    assert from_args(argv, env).run_as_user == uid


@pytest.mark.parametrize("value", ["0", "-1", "root", ""])
def test_root_or_garbage_is_refused(value: str) -> None:
    with pytest.raises(SystemExit):
        from_args(["--worker-run-as-user", value], {})
