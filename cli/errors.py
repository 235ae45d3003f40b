"""Exit codes and the one error type every command raises: a one-line message and a code."""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_FAILED = 1
"""The replay failed (a partition failed for good) or `watch` saw it Stalled."""
EXIT_USAGE = 2
"""Bad arguments or an invalid manifest (argparse uses 2 as well)."""
EXIT_PLAN_REFUSED = 3
"""An impossible plan: missing topic, retention expired, empty window, ..."""
EXIT_NOT_FOUND = 4
"""The EventReplay does not exist in the cluster."""
EXIT_UNREACHABLE = 5
"""Kafka, Redis or the Kubernetes API could not be reached (or refused the credentials)."""
EXIT_REFUSED = 6
"""`approve` refused: no reconciliation report yet, policy not Manual, or another report hash."""
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK}    success (watch: the replay is Ready)
  {EXIT_FAILED}    the replay failed (run: a partition failed for good; watch: Stalled or --timeout)
  {EXIT_USAGE}    bad arguments or an invalid manifest (the message names the field)
  {EXIT_PLAN_REFUSED}    impossible plan (missing topic, retention expired, empty window, ...), or run:
       the output topics already hold another replay's records (SandboxInUse)
  {EXIT_NOT_FOUND}    the EventReplay does not exist
  {EXIT_UNREACHABLE}    Kafka, Redis or the Kubernetes API unreachable (the message names the address)
  {EXIT_REFUSED}    approve refused (no reconciliation report, policy not Manual, hash mismatch)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); `run` resumes where it stopped when re-run"""


class CliError(Exception):
    """A failure the user can act on: printed as `eventreplay: <message>`, exits with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def unreachable(what: str, where: str, detail: str) -> CliError:
    """`cannot reach Kafka at host:port: why` (one line, whatever the client library said)."""
    return CliError(f"cannot reach {what} at {where}: {one_line(detail)}", EXIT_UNREACHABLE)


_KAFKA_STR = re.compile(r'str="([^"]*)"')


def one_line(text: str, limit: int = 300) -> str:
    """librdkafka's `KafkaError{code=...,str="why"}` -> `why`; any text -> its first line, cut."""
    found = _KAFKA_STR.search(text)
    line = found.group(1) if found else (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."
