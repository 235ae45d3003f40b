"""What the ledger wire (worker/ledger/wire.py, dedup.py) takes from redis-py beyond its public API,
on a real redis-py connection over a socket pair: a renamed or reshaped private part fails here.

The wire uses `ConnectionPool.get_connection()` (no arguments since redis-py 6), a connection's
`connect`, `pack_command`, `send_packed_command(..., check_health=False)`, `disconnect` and the
private `_get_socket()`, whose socket it reads RESP replies from itself. pyproject bounds redis
below the next major (`<N`) so an upgrade is a decision: this test is what that decision runs.
"""

from __future__ import annotations

import inspect
import socket
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import redis
from packaging.requirements import Requirement

from eventreplay.worker.ledger.wire import LedgerWire

ROOT = Path(__file__).resolve().parents[2]


Pair = tuple[redis.connection.Connection, socket.socket]


@pytest.fixture
def pair() -> Iterator[Pair]:
    """A real redis-py Connection whose socket is one end of a pair (connect() keeps a socket it has)."""
    ours, server = socket.socketpair()
    ours.settimeout(2)
    server.settimeout(2)
    conn = redis.connection.Connection()
    conn._sock = ours
    yield conn, server
    server.close()
    ours.close()


def test_the_private_socket_is_the_connected_one_and_disconnect_drops_it(
    pair: Pair,
) -> None:
    conn, _ = pair
    sock = conn._sock
    conn.connect()  # type: ignore[no-untyped-call]
    assert conn._get_socket() is sock
    conn.disconnect()  # type: ignore[no-untyped-call]
    assert conn._get_socket() is None


def test_commands_are_packed_as_resp_and_sent_unchanged(pair: Pair) -> None:
    conn, server = pair
    packed = conn.pack_command("HSETNX", "er:l:0", "id-1", b"\x00\x01")  # type: ignore[no-untyped-call]
    assert isinstance(packed, list) and all(isinstance(p, bytes) for p in packed)
    expected = b"*4\r\n$6\r\nHSETNX\r\n$6\r\ner:l:0\r\n$4\r\nid-1\r\n$2\r\n\x00\x01\r\n"
    assert b"".join(packed) == expected
    assert "check_health" in inspect.signature(conn.send_packed_command).parameters
    conn.send_packed_command(packed, check_health=False)  # type: ignore[no-untyped-call]
    assert server.recv(1024) == expected


def test_the_wire_reads_replies_from_redis_pys_socket(pair: Pair) -> None:
    conn, server = pair
    wire = LedgerWire(conn)
    ticket = wire.request(wire.pack("HSETNX", "k", "f", "v"), "flags", 1)
    assert server.recv(1024).startswith(b"*4\r\n$6\r\nHSETNX")
    server.sendall(b":1\r\n")
    assert wire.take(ticket) == b":1\r\n"
    server.sendall(b"-OOM no memory\r\n")
    with pytest.raises(redis.ResponseError, match="OOM"):
        wire.take(wire.request(wire.pack("HSETNX", "k", "g", "v"), "flags", 1))
    assert conn._get_socket() is None  # a failed read disconnects through redis-py


def test_a_pool_hands_out_a_connection_without_a_command_name() -> None:
    pool = redis.ConnectionPool()
    params = inspect.signature(pool.get_connection).parameters.values()
    assert all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)
    assert isinstance(redis.Redis(connection_pool=pool).connection_pool, redis.ConnectionPool)


def test_the_installed_redis_is_the_pinned_one_and_inside_the_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (bound,) = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "redis"]
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    assert version("redis") == pins["redis"] and bound.specifier.contains(pins["redis"])
    upper = [s.version for s in bound.specifier if s.operator == "<"]
    assert upper == [f"{int(pins['redis'].split('.')[0]) + 1}"], "the upper bound is the next major"
