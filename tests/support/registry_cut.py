"""A TCP proxy in front of the stack's real schema registry that a test can cut and restore.

Stopping the shared registry would disturb every other test of the stack, so the worker under test
is given this proxy's URL instead: the registry behind it stays real, only the path to it breaks.
While cut, each connection is accepted and closed at once (a request fails before any answer, as
for a registry that went away) and live connections are dropped. `allow_ids=N` cuts by itself when
a request asks for a schema id beyond the first N ids served: the registry goes away exactly while
the worker still has ids to fetch.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from urllib.parse import urlsplit

SCHEMA_ID_REQUEST = re.compile(rb"/schemas/ids/(\d+)")
CHUNK = 65536


class RegistryCut:
    def __init__(self, registry_url: str, *, allow_ids: int | None = None) -> None:
        parts = urlsplit(registry_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._path = parts.path
        self._allow_ids = allow_ids
        self._lock = threading.Lock()
        self._cut = False
        self._live: list[socket.socket] = []
        self.served_ids: list[int] = []
        """The schema ids requested through the proxy while it was up, in order (repeats included)."""
        self.refused = 0
        """Connections and requests turned away while cut."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """The registry's URL through this proxy (base path included)."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{self._path}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            live, self._live = self._live, []
        for sock in live:
            _close(sock)

    def restore(self) -> None:
        """Up again, with no limit on the ids it serves."""
        with self._lock:
            self._cut, self._allow_ids = False, None

    def close(self) -> None:
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut:
                self._turn_away(client)
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._live += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _turn_away(self, sock: socket.socket) -> None:
        with self._lock:
            self.refused += 1
        _close(sock)

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while data := src.recv(CHUNK):
                if requests and not self._admit(data):
                    self.cut()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)

    def _admit(self, request: bytes) -> bool:
        """Whether a request goes through; one for an id beyond the allowed ones cuts the registry."""
        ids = [int(m) for m in SCHEMA_ID_REQUEST.findall(request)]
        with self._lock:
            if self._cut:
                self.refused += 1
                return False
            new = [i for i in ids if i not in self.served_ids]
            if new and self._allow_ids is not None and len(set(self.served_ids)) >= self._allow_ids:
                self._cut = True
                self.refused += 1
                return False
            self.served_ids += ids
            return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
