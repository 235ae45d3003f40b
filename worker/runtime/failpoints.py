"""Named points where a test makes the worker SIGKILL itself, to pin a crash to a line that no
timing from outside can hit reliably: between the last commit and the final mirror, or inside the
open transaction once a given source offset is produced (commits only land on digest-block
boundaries, ~1,000 records apart).

Off unless `EVENTREPLAY_FAILPOINT` names the point; the operator never sets it (tenants cannot set
a worker's environment), so production runs never reach one. Read once, at import: the check sits
in the per-batch loop.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger("eventreplay.worker")

FAILPOINT_ENV = "EVENTREPLAY_FAILPOINT"
BEFORE_FINAL_MIRROR = "before-final-mirror"
"""The range is committed to its end; the mirror does not say "done" yet."""
BEFORE_PAUSE_MIRROR = "before-pause-mirror"
"""A promotion step's quota is committed short of the range's end; the mirror does not say "paused" yet."""
OFFSET_PREFIX = "offset:"
"""`offset:N`: records up to source offset N are produced and marked, their transaction still open
(a promotion: records up to sandbox offset N read, some of them produced)."""

_ARMED = os.environ.get(FAILPOINT_ENV, "")
_OFFSET = int(_ARMED.removeprefix(OFFSET_PREFIX)) if _ARMED.startswith(OFFSET_PREFIX) else None


def _die(point: str) -> None:
    log.warning("failpoint %s reached: SIGKILL", point)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)


def reach(point: str) -> None:
    """Die here, without any clean-up, when the environment names this point."""
    if point == _ARMED:
        _die(point)


def produced_up_to(offset: int, flush: Callable[[], object]) -> None:
    """Die once the records below `offset` are produced (uncommitted) past the armed offset.

    `flush` first: a produced record may still sit in the client's buffer, and a kill before it
    reaches the broker leaves no open transaction behind (the point would not be the one named)."""
    if _OFFSET is not None and offset > _OFFSET:
        flush()
        _die(_ARMED)
