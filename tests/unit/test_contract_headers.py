"""The `er-*` Kafka headers are a stored format defined once, in `worker/contract/headers.py`: each
string is pinned here, and no other source of the worker, the operator or the CLI spells one."""

from __future__ import annotations

import re
from pathlib import Path

from eventreplay.worker.contract import headers

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "worker" / "contract" / "headers.py"
LITERAL = re.compile(r"""["']er-""")


def test_every_header_name_is_pinned() -> None:
    defined = {name: value for name, value in vars(headers).items() if name.endswith("_HEADER")}
    assert defined == {
        "REPLAY_UID_HEADER": "er-replay-uid",
        "SOURCE_TOPIC_HEADER": "er-source-topic",
        "SOURCE_PARTITION_HEADER": "er-source-partition",
        "SOURCE_OFFSET_HEADER": "er-source-offset",
        "ORIGIN_TOPIC_HEADER": "er-origin-topic",
        "ORIGIN_PARTITION_HEADER": "er-origin-partition",
        "ORIGIN_OFFSET_HEADER": "er-origin-offset",
        "REASON_HEADER": "er-reason",
        "ERROR_HEADER": "er-error",
        "TRUNCATED_HEADER": "er-truncated",
        "SIZE_HEADER": "er-value-bytes",
        "SHA256_HEADER": "er-value-sha256",
        "REPORT_HASH_HEADER": "er-report-hash",
        "PROMOTED_BY_HEADER": "er-promoted-by",
        "SINK_KEY_HEADER": "er-sink-key",
        "SOURCE_TIMESTAMP_HEADER": "er-source-timestamp",
    }
    assert headers.RESERVED_PREFIX == "er-"
    assert all(value.startswith(headers.RESERVED_PREFIX) for value in defined.values())


def test_no_header_literal_outside_the_contract() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("worker", "operator", "cli")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != DEFINITIONS
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if LITERAL.search(line)
    ]
    assert not found, "header names belong in worker/contract/headers.py:\n" + "\n".join(found)


def test_the_scan_sees_a_literal() -> None:
    # The scan itself must catch the forms a stray header name would take.
    assert all(LITERAL.search(s) for s in ('("er-x", v)', "k != 'er-x'", 'f"er-{x}"'))
    assert not LITERAL.search("the er-replay-uid header")
