"""`--status-interval` (EVENTREPLAY_STATUS_INTERVAL, the chart's operator.statusIntervalSeconds) sets the
status timer's interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kopf
import pytest
import yaml

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


def test_the_chart_sets_the_interval_in_whole_seconds() -> None:
    chart = Path(__file__).resolve().parents[2] / "charts" / "eventreplay-operator"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    assert values["operator"]["statusIntervalSeconds"] == 5
    jsonschema.Draft7Validator(schema).validate(values)
    with pytest.raises(jsonschema.ValidationError, match="less than the minimum"):
        jsonschema.Draft7Validator(schema).validate({**values, "operator": {"statusIntervalSeconds": 0}})
    deployment = (chart / "templates" / "deployment.yaml").read_text()
    assert (
        "- name: EVENTREPLAY_STATUS_INTERVAL\n              value: {{ $ops.statusIntervalSeconds | quote }}"
        in deployment
    )
