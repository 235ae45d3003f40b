"""The replay ledger's connection to Redis, read without a reply parser in the hot path.

A worker sends up to a thousand HSETNX a batch (`ledger.py`); redis-py reads replies one call
at a time (~1 µs each), which would cost more than Redis spends on the command. Their replies
are integers, `:0` or `:1`, four bytes each: a batch's replies are read as one slice and compared
with the all-new answer. Any other reply there (an error: OOM, WRONGTYPE, a lost connection)
fails the batch loudly; the connection is then unusable and the worker's retry starts afresh.

Requests are pipelined (the worker sends batch k + 1 before it reads batch k), and a batch's
follow-up request (the script for ids already marked) is answered after the next batch's replies:
every request is queued here with the shape of its reply, and replies are parsed in order.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import redis

Shape = Literal["flags", "bulk"]
FLAG_REPLY = 4  # ":0\r\n" or ":1\r\n"


class LedgerWire:
    """A dedicated connection: requests out, replies in order (flags or one bulk string)."""

    def __init__(self, connection: redis.connection.AbstractConnection) -> None:
        self._conn = connection  # taken from a pool and never given back: its replies are read here
        self._conn.connect()  # type: ignore[no-untyped-call]
        self._buf = bytearray()
        self._expected: deque[tuple[int, Shape, int]] = deque()  # (ticket, shape, flag count)
        self._ready: dict[int, bytes] = {}
        self._next = 0
        self._broken: str | None = None

    def request(self, data: bytes | list[bytes], shape: Shape, flags: int = 0) -> int:
        """Send one request (RESP already packed); a ticket for its reply."""
        if self._broken:
            raise redis.ConnectionError(f"dedup ledger connection unusable: {self._broken}")
        self._conn.send_packed_command([data] if isinstance(data, bytes) else data, check_health=False)  # type: ignore[no-untyped-call]
        ticket = self._next
        self._next += 1
        self._expected.append((ticket, shape, flags))
        return ticket

    def pack(self, *args: str | bytes | int) -> list[bytes]:
        return self._conn.pack_command(*args)  # type: ignore[no-untyped-call,no-any-return]

    def take(self, ticket: int) -> bytes:
        """The reply of a request: for flags, the raw `:n\\r\\n` replies; for bulk, its payload."""
        while ticket not in self._ready:
            queued, shape, flags = self._expected.popleft()
            try:
                self._ready[queued] = self._flags(flags) if shape == "flags" else self._bulk()
            except BaseException as err:
                self._broken = f"{type(err).__name__}: {err}"
                self._conn.disconnect()  # type: ignore[no-untyped-call]
                raise
        return self._ready.pop(ticket)

    # -- reading ----------------------------------------------------------------------------------
    def _fill(self, want: int) -> None:
        """Read until the buffer holds `want` bytes."""
        sock = self._conn._get_socket()
        if sock is None:
            raise redis.ConnectionError("dedup ledger connection closed")
        while len(self._buf) < want:
            try:
                chunk = sock.recv(max(65536, want - len(self._buf)))
            except TimeoutError as err:  # socket.timeout
                raise redis.TimeoutError("timeout reading from the dedup ledger") from err
            except OSError as err:
                raise redis.ConnectionError(f"reading from the dedup ledger: {err}") from err
            if not chunk:
                raise redis.ConnectionError("the dedup ledger closed the connection")
            self._buf += chunk

    def _line(self, start: int) -> int:
        """Index of the CRLF ending the line that begins at `start`."""
        while (end := self._buf.find(b"\r\n", start)) < 0:
            self._fill(len(self._buf) + 1)
        return end

    def _error_at(self, start: int) -> redis.RedisError:
        end = self._line(start)
        text = bytes(self._buf[start + 1 : end]).decode(errors="replace")
        return (
            redis.ResponseError(text)
            if self._buf[start : start + 1] == b"-"
            else redis.ResponseError(f"unexpected reply from the dedup ledger: {text[:200]!r}")
        )

    def _flags(self, count: int) -> bytes:
        size = count * FLAG_REPLY
        self._fill(size)
        got = bytes(self._buf[:size])
        # Every reply is ":0\r\n" or ":1\r\n": ':' every 4 bytes, and CRLFs at 2, 3 mod 4.
        if got.count(b"\r\n") != count or got[::FLAG_REPLY].count(b":") != count or not _only_flags(got):
            for index in range(count):
                at = index * FLAG_REPLY
                if got[at : at + FLAG_REPLY] not in (b":0\r\n", b":1\r\n"):
                    raise self._error_at(at)
        del self._buf[:size]
        return got

    def _bulk(self) -> bytes:
        end = self._line(0)
        head = bytes(self._buf[:end])
        if not head.startswith(b"$") or head == b"$-1":
            raise self._error_at(0)
        length = int(head[1:])
        self._fill(end + 2 + length + 2)
        body = bytes(self._buf[end + 2 : end + 2 + length])
        del self._buf[: end + 2 + length + 2]
        return body


def _only_flags(got: bytes) -> bool:
    """Each 4-byte reply's digit is 0 or 1 (an error line could align by chance otherwise)."""
    digits = got[1::FLAG_REPLY]
    return digits.count(b"0") + digits.count(b"1") == len(digits)
