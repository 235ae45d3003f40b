"""Connection settings read on both sides: librdkafka `key=value` settings (from a Secret, or the
operator's and the CLI's own) and the printable form of a Redis URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from .defaults import DEFAULT_REDIS_PORT


def parse_settings(text: str, source: str) -> dict[str, str]:
    """librdkafka `key=value` lines (blank lines and `#` comments ignored); ValueError says which line.

    A PEM value (`ssl.ca.pem`, `ssl.certificate.pem`, `ssl.key.pem`) may span lines: from its
    `-----BEGIN ...` line through the `-----END ...-----` line, and on through the blocks that
    follow it directly (a CA bundle).
    """
    lines = text.splitlines()
    out: dict[str, str] = {}
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"Kafka settings line {number} in {source} is not key=value")
        if value.startswith("-----BEGIN "):
            block = [value]
            while not block[-1].startswith("-----END ") or (
                index < len(lines) and lines[index].strip().startswith("-----BEGIN ")
            ):
                if index >= len(lines):
                    raise ValueError(f"Kafka setting {key!r} in {source}: the PEM block from line {number} has no END")
                block.append(lines[index].strip())
                index += 1
            value = "\n".join(block) + "\n"
        out[key] = value
    return out


def redis_location(url: str) -> str:
    """host:port/db for messages: never the password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or DEFAULT_REDIS_PORT}{parts.path or ''}"
