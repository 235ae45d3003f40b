"""An inline schema's `$ref` resolve inside it: the worker fetches nothing, and a ref to anything
else (http, file, a relative path, a remote `$id`) fails the task permanently with the ref named."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.contract.tasks import Validation
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import Rejected

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)
ANYTHING = {"type": "object"}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 nobody should ever connect to."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def _connected(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_a_local_ref_resolves() -> None:
    schema = {
        "definitions": {"amount": {"type": "integer", "minimum": 0}},
        "type": "object",
        "properties": {"amount": {"$ref": "#/definitions/amount"}},
    }
    validator = Validator(Validation(json_schema=schema), AS_OF)
    assert validator.check(b'{"event_id": "a", "amount": 1}', 0)[0] == "a"
    assert isinstance(validator.check(b'{"event_id": "a", "amount": -1}', 0), Rejected)


def test_an_http_ref_is_refused_without_a_connection(listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/schema.json"
    with pytest.raises(PermanentFailure, match="points outside the schema") as refused:
        Validator(Validation(json_schema={"allOf": [{"$ref": url}]}), AS_OF)
    assert repr(url) in str(refused.value)
    assert not _connected(listener)


def _file_schema(tmp_path: Path) -> Path:
    path = tmp_path / "other.json"
    path.write_text('{"type": "object"}')  # a readable schema: on a fetching worker the compile would succeed
    return path


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param(lambda p: {"$ref": p.as_uri()}, id="file uri"),
        pytest.param(lambda p: {"properties": {"a": {"$ref": "other.json"}}}, id="relative path"),
        pytest.param(lambda p: {"$id": p.parent.as_uri() + "/", "properties": {"a": {"$ref": "other.json"}}}, id="$id"),
        pytest.param(lambda p: {"$ref": "https://example.invalid/s.json"}, id="https"),
    ],
)
def test_any_other_ref_fails_the_task_permanently(tmp_path: Path, schema: Any) -> None:
    with pytest.raises(PermanentFailure, match="points outside the schema"):
        Validator(Validation(json_schema=schema(_file_schema(tmp_path))), AS_OF)


def test_plain_schemas_compile_as_before() -> None:
    assert Validator(Validation(json_schema=ANYTHING), AS_OF).check(b'{"event_id": 7}', 0)[0] == "7"
