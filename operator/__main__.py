"""`python -m eventreplay.operator [--namespace NS ...]`: run the operator (kopf) with our handlers."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import kopf

from eventreplay import installed_version
from eventreplay.worker.contract.log_lines import install

from . import handlers
from .config import from_args
from .watch import handlers as watch_handlers


def setup_logging(log_format: str, stream: TextIO | None = None) -> None:
    """One line per record. kopf's own `configure` (what its CLI calls) would add a second handler
    in a second format, so it is not called: kopf's loggers propagate to this one handler."""
    install(log_format, level=logging.INFO, stream=stream)
    # As kopf's configure does: asyncio's debug chatter stays out of the operator's log.
    logging.getLogger("asyncio").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    config = from_args(argv)
    setup_logging(config.log_format)
    logging.getLogger(__name__).info("eventreplay operator %s starting", installed_version())
    # Importing `handlers` (and the watch's) registers the event handlers with kopf's default
    # registry; the timers need the configured interval.
    handlers.register_status_timer(config.status_interval)
    watch_handlers.register_watch_timer(config.status_interval)
    kopf.run(
        standalone=True,
        clusterwide=not config.namespaces,
        namespaces=config.namespaces,
        liveness_endpoint=config.liveness,
        memo=kopf.Memo(config=config),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
