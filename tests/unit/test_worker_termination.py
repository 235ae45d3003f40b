"""The container termination message a failing worker, reconcile or promote Job leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventreplay.worker.runtime.entry import write_termination_message


def test_written_and_truncated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "termination-log"
    monkeypatch.setenv("EVENTREPLAY_TERMINATION_LOG", str(target))
    write_termination_message("permanent: " + "x" * 5000)
    assert target.read_text() == ("permanent: " + "x" * 5000)[:4000]


def test_no_directory_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTREPLAY_TERMINATION_LOG", str(tmp_path / "absent" / "termination-log"))
    write_termination_message("retriable: broker down")
    assert not (tmp_path / "absent").exists()
