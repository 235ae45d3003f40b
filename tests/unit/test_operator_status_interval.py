"""`--status-interval` (EVENTREPLAY_STATUS_INTERVAL) sets the status timer's interval."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from eventreplay.operator import handlers
from eventreplay.operator.__main__ import main
from eventreplay.operator.config import from_args


def test_the_flag_and_the_environment_set_the_interval() -> None:
    assert from_args([], env={}).status_interval == 5.0
    assert from_args(["--status-interval", "2.5"], env={}).status_interval == 2.5
    assert from_args([], env={"EVENTREPLAY_STATUS_INTERVAL": "30"}).status_interval == 30.0
    with pytest.raises(SystemExit):
        from_args(["--status-interval", "0"], env={})


def test_the_timer_is_registered_with_the_interval() -> None:
    registry = kopf.OperatorRegistry()
    handlers.register_status_timer(2.5, registry)
    [timer] = registry._spawning.get_all_handlers()
    assert (getattr(timer, "interval", None), getattr(timer, "initial_delay", None)) == (2.5, 2.5)
    assert timer.fn is handlers.replay_status


def test_main_passes_the_configured_interval_to_the_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(
        handlers, "register_status_timer", lambda interval, registry=None: seen.update(interval=interval)
    )
    monkeypatch.setattr(kopf, "run", seen.update)  # records kopf.run's keyword arguments
    monkeypatch.setattr(kopf, "configure", lambda **_: None)
    assert main(["--status-interval", "7", "--liveness", "none"]) == 0
    assert seen["interval"] == 7.0 and seen["liveness_endpoint"] is None
