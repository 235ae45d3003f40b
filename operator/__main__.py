"""`python -m eventreplay.operator [--namespace NS ...]`: run the operator (kopf) with our handlers."""

from __future__ import annotations

import logging
import sys

import kopf

from . import handlers
from .config import from_args


def main(argv: list[str] | None = None) -> int:
    config = from_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kopf.configure(verbose=False)
    # Importing `handlers` registers the event handlers with kopf's default registry; the timer
    # needs the configured interval.
    handlers.register_status_timer(config.status_interval)
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
