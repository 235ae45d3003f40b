"""A replay pointing at a black-holed broker (a listener that accepts and never answers) costs
the handler thread at most the plan deadline, then waits with a reason: it cannot hold a shared
handler thread for longer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from eventreplay.operator.api.v1alpha1 import EventReplay
from eventreplay.operator.kafka import KafkaAccess, KafkaUnavailable


@pytest.fixture
def black_hole() -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # accepted, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_planning_against_a_black_hole_ends_at_the_deadline(black_hole: str) -> None:
    obj = {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "r", "namespace": "ns", "uid": "u"},
        "spec": {
            "source": {"bootstrapServers": black_hole, "topic": "orders"},
            "window": {"offsets": {"from": 0, "to": 10}},
            "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"},
            "sink": {"topic": "out"},
        },
    }
    spec = EventReplay.desired(obj).spec
    access = KafkaAccess(timeout=10.0, plan_deadline=2.0)
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable):
        access.observe(spec, datetime.now(UTC))
    spent = time.monotonic() - started
    assert spent < 2.0 + 3.0, f"held the handler thread {spent:.1f} s (one call's limit is 10 s)"
