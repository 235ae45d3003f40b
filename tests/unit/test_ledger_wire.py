"""The ledger's reply reader on a socket pair: flags read as one slice, errors never misread."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import redis

from eventreplay.worker.ledger.wire import LedgerWire


class _Connection:
    """What LedgerWire uses of a redis-py connection, over one end of a socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock: socket.socket | None = sock
        self.sent: list[bytes] = []

    def connect(self) -> None:
        pass

    def send_packed_command(self, data: list[bytes], check_health: bool = True) -> None:
        self.sent.extend(data)

    def _get_socket(self) -> socket.socket | None:
        return self._sock

    def disconnect(self) -> None:
        self._sock = None


@pytest.fixture
def wire() -> Any:
    ours, server = socket.socketpair()
    ours.settimeout(2)
    connection = _Connection(ours)
    yield LedgerWire(connection), server  # type: ignore[arg-type]
    server.close()
    ours.close()


def test_replies_in_order_across_pipelined_requests(wire: Any) -> None:
    reader, server = wire
    first = reader.request(b"a", "flags", 3)
    second = reader.request(b"b", "flags", 2)
    script = reader.request(b"c", "bulk")
    # Replies arrive in pieces, split anywhere.
    for piece in (b":1\r\n:0", b"\r\n:1\r\n:1\r\n", b":1\r", b"\n$3\r\nND", b"?\r\n"):
        server.sendall(piece)
    assert reader.take(script) == b"ND?"  # read past the two flag replies, which wait for their turn
    assert reader.take(first) == b":1\r\n:0\r\n:1\r\n"
    assert reader.take(second) == b":1\r\n:1\r\n"


def test_an_empty_bulk_reply(wire: Any) -> None:
    reader, server = wire
    ticket = reader.request(b"x", "bulk")
    server.sendall(b"$0\r\n\r\n")
    assert reader.take(ticket) == b""


@pytest.mark.parametrize(
    "replies",
    [
        b":1\r\n-OOM command not allowed when used memory > 'maxmemory'.\r\n:1\r\n",
        b"-ERR x\r\n:1\r\n",  # four bytes of an error line would otherwise look like one reply
        b":1\r\n:2\r\n:1\r\n",
    ],
)
def test_anything_but_flags_fails_and_the_connection_is_dropped(wire: Any, replies: bytes) -> None:
    reader, server = wire
    ticket = reader.request(b"a", "flags", 3)
    server.sendall(replies)
    with pytest.raises(redis.ResponseError):
        reader.take(ticket)
    with pytest.raises(redis.ConnectionError, match="unusable"):
        reader.request(b"b", "flags", 1)


def test_an_error_instead_of_a_bulk_reply(wire: Any) -> None:
    reader, server = wire
    ticket = reader.request(b"a", "bulk")
    server.sendall(b"-NOSCRIPT No matching script.\r\n")
    with pytest.raises(redis.ResponseError, match="NOSCRIPT"):
        reader.take(ticket)


def test_a_closed_connection_and_a_silent_server(wire: Any) -> None:
    reader, server = wire
    ticket = reader.request(b"a", "flags", 2)
    server.sendall(b":1\r\n")
    with pytest.raises(redis.TimeoutError):
        reader.take(ticket)

    ours, other = socket.socketpair()
    closed = LedgerWire(_Connection(ours))  # type: ignore[arg-type]
    ticket = closed.request(b"a", "flags", 1)
    other.close()
    with pytest.raises(redis.ConnectionError, match="closed"):
        closed.take(ticket)
    ours.close()
