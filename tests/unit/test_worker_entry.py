"""The one entry harness: every Job treats a missing or bad task alike (permanent, exit 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventreplay.worker.__main__ import main
from eventreplay.worker.contract.environment import PROMOTE_TASK_ENV, RECONCILE_TASK_ENV, TASK_ENV
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT

JOBS = {
    "run": ("worker", TASK_ENV),
    "reconcile": ("reconcile", RECONCILE_TASK_ENV),
    "promote": ("promote", PROMOTE_TASK_ENV),
}


@pytest.mark.parametrize("command", sorted(JOBS))
def test_a_missing_or_bad_task_is_permanent(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job, env = JOBS[command]
    termination = tmp_path / "termination-log"
    monkeypatch.setenv("EVENTREPLAY_TERMINATION_LOG", str(termination))
    monkeypatch.delenv(env, raising=False)
    assert main([command]) == EXIT_PERMANENT
    err = capsys.readouterr().err
    assert err == f"eventreplay-{job}: permanent: bad task: no task (give --task FILE or set {env})\n"
    assert termination.read_text() == err.removeprefix(f"eventreplay-{job}: ").strip()

    monkeypatch.setenv(env, '{"not": "a task"}')
    assert main([command]) == EXIT_PERMANENT
    err = capsys.readouterr().err
    assert err.startswith(f"eventreplay-{job}: permanent: bad task: ") and len(err.splitlines()) == 1
