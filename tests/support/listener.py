"""A fake TCP endpoint for tests that prove nothing connects: it accepts anything and keeps every byte.

It stands in for a tenant's own Kafka or Redis, or a URL a schema names: "never connected" is
observed (`connections`, `received`), not assumed. It never answers, so a client that does connect
hangs until its own timeout or the listener's 5 s read timeout.
"""

from __future__ import annotations

import socket
import threading


class Listener:
    """A TCP server that accepts anything and keeps what it was sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.received = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while chunk := conn.recv(4096):
                    with self.lock:
                        self.received += chunk
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
