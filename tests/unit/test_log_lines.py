"""Log lines: one line per record in the operator's and the worker's set-up, valid JSON in json mode."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime

import kopf
import orjson
import pytest

from eventreplay.operator.__main__ import setup_logging
from eventreplay.operator.config import from_args
from eventreplay.worker.contract.log_lines import parse_log_format
from eventreplay.worker.runtime.entry import setup_logging as worker_logging

BODY = {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay", "metadata": {"namespace": "ns", "name": "r1"}}


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """The set-up replaces the root logger's handlers (pytest's too): put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def log_through_kopf() -> None:
    """What the operator logs: its own loggers, kopf's, and kopf's per-object logger of a replay."""
    logging.getLogger("eventreplay.operator.handlers").info("metrics on %d", 9090)
    logging.getLogger("kopf.activities.startup").info("Activity 'configure' succeeded.")
    kopf.ObjectLogger(body=kopf.Body(BODY), settings=kopf.OperatorSettings()).warning("Handler failed")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("eventreplay.operator.sync").exception("pass failed")


def test_the_operator_prints_each_record_once_as_text() -> None:
    out = io.StringIO()
    setup_logging("text", out)
    log_through_kopf()
    lines = out.getvalue().splitlines()
    assert len(logging.getLogger().handlers) == 1
    records = [line for line in lines if line[:4].isdigit()]  # a traceback's lines follow its record
    assert [m.split(" ", 2)[2] for m in records] == [
        "INFO eventreplay.operator.handlers: metrics on 9090",
        "INFO kopf.activities.startup: Activity 'configure' succeeded.",
        "WARNING kopf.objects: [ns/r1] Handler failed",
        "ERROR eventreplay.operator.sync: pass failed",
    ]
    assert lines[-1] == "RuntimeError: boom"


def test_the_operator_prints_one_json_object_per_record() -> None:
    out = io.StringIO()
    setup_logging("json", out)
    log_through_kopf()
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in lines] == [
        ("INFO", "eventreplay.operator.handlers", "metrics on 9090"),
        ("INFO", "kopf.activities.startup", "Activity 'configure' succeeded."),
        ("WARNING", "kopf.objects", "Handler failed"),
        ("ERROR", "eventreplay.operator.sync", "pass failed"),
    ]
    assert (lines[2]["namespace"], lines[2]["name"]) == ("ns", "r1")
    assert "namespace" not in lines[0]
    assert lines[3]["exception"].endswith("RuntimeError: boom")
    assert all(datetime.fromisoformat(r["time"]).tzinfo is not None for r in lines)


def test_the_worker_prints_json_with_its_context(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    monkeypatch.setenv("EVENTREPLAY_LOG_FORMAT", "json")
    worker_logging("replay=ns/r1 partition=orders/0")
    logging.getLogger("eventreplay.worker.replay.engine").info("resumed at %d", 42)
    (line,) = out.getvalue().splitlines()
    assert orjson.loads(line) | {"time": "t"} == {
        "time": "t",
        "level": "INFO",
        "logger": "eventreplay.worker.replay.engine",
        "message": "resumed at 42",
        "context": "replay=ns/r1 partition=orders/0",
    }


def test_the_worker_keeps_its_text_line_and_ignores_an_unknown_format(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    monkeypatch.setenv("EVENTREPLAY_LOG_FORMAT", "xml")
    worker_logging("replay=ns/r1 worker")
    logging.getLogger("x").warning("slow")
    (line,) = out.getvalue().splitlines()
    assert line.split(" ", 2)[2] == "WARNING replay=ns/r1 worker slow"


@pytest.mark.parametrize(
    ("argv", "env", "chosen"),
    [
        ([], {}, "text"),
        ([], {"EVENTREPLAY_LOG_FORMAT": "JSON"}, "json"),
        (["--log-format", "text"], {"EVENTREPLAY_LOG_FORMAT": "json"}, "text"),
        (["--log-format", "json"], {}, "json"),
    ],
)
def test_the_operator_takes_the_format_from_its_flag_then_its_environment(
    argv: list[str], env: dict[str, str], chosen: str
) -> None:
    assert from_args(argv, env).log_format == chosen


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(SystemExit):
        from_args([], {"EVENTREPLAY_LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="expected one of text, json"):
        parse_log_format("yaml")
