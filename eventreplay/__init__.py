"""EventReplay: replay Kafka events exactly once into a sandbox, reconcile, promote the delta."""

from importlib import metadata

__version__ = "0.2.0"


def installed_version() -> str:
    """The installed distribution's version (what `--version`, the operator's start line and
    `eventreplay_build_info` show); the source tree's own when it is not installed."""
    try:
        return metadata.version("eventreplay")
    except metadata.PackageNotFoundError:
        return __version__
