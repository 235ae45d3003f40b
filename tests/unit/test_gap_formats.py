"""The gap finder reads a registry-framed source as the replay does (`worker/gaps/finder.py` through
`worker/runtime/formats.py`): ids in a field of the decoded value, undecodable records counted apart,
an unreachable registry a retriable failure. Kafka is stood in for by the batches the finder reads;
the registry by a fake answering `get_schema` by id."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.gap_task import GapTask
from eventreplay.worker.contract.tasks import OffsetRange
from eventreplay.worker.gaps.finder import GapFinder
from eventreplay.worker.runtime import formats

ORDER = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "string"}, {"name": "meta", "type": {"type": "map", "values": "string"}}],
}
KNOWN_ID, OUTAGE_ID = 7, 9


class FakeRegistry:
    def get_schema(self, schema_id: int, *_: Any, **__: Any) -> Schema:
        if schema_id == KNOWN_ID:
            return Schema(json.dumps(ORDER), "AVRO")
        raise SchemaRegistryError(503, 50301, "unavailable")


class Msg:
    def __init__(self, offset: int, value: bytes | None) -> None:
        self._offset, self._value = offset, value

    def key(self) -> bytes:
        return f"k-{self._offset}".encode()

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> None:
        return None

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_700_000_000_000 + self._offset


def wire(ref: str, schema_id: int = KNOWN_ID) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(ORDER), {"id": f"o-{ref}", "meta": {"ref": ref}})
    return b"\0" + schema_id.to_bytes(4, "big") + body.getvalue()


def finder(id_field: str, source: list[Msg], monkeypatch: pytest.MonkeyPatch) -> GapFinder:
    """A finder over `source` (partition 0) whose format is Avro through the fake registry."""
    monkeypatch.setattr(formats, "registry_client", lambda _conn: FakeRegistry())
    task = GapTask.model_validate(
        {
            "kafka": {"bootstrapServers": "kafka:9092"},
            "sourceTopic": "orders",
            "sourceRanges": [{"partition": 0, "startOffset": 0, "endOffset": len(source)}],
            "sourceFormat": {"format": "avro", "schemaRegistry": {"url": "http://registry:8080"}},
            "sourceEventIdField": id_field,
            "existing": {"topic": "orders-out", "offsets": [{"partition": 0, "startOffset": 0, "endOffset": 1}]},
        }
    )
    found = GapFinder.__new__(GapFinder)  # no Kafka clients: the batches below are the source
    found.task, found.counts = task, Counter()

    def batches(_topic: str, _ranges: list[OffsetRange]) -> Iterator[tuple[int, list[Msg]]]:
        yield 0, source

    found.batches = batches  # type: ignore[assignment,method-assign]
    return found


def test_ids_in_a_field_of_an_avro_source_are_read_from_the_decoded_value(monkeypatch: pytest.MonkeyPatch) -> None:
    source = [Msg(0, wire("a")), Msg(1, wire("b")), Msg(2, b'{"meta": {"ref": "c"}}'), Msg(3, wire("d")[:7])]
    gaps = finder("meta.ref", source, monkeypatch)
    missing = gaps._missing([], present={"a"})
    assert [(m.offset, m.event_id) for m in missing] == [(1, "b")]
    assert gaps.counts["sourceUndecodable"] == 2, "not framed, and truncated: a replay dead-letters both"
    assert gaps.counts["sourceRecords"] == 4 and gaps.counts["sourceWithoutId"] == 0


def test_an_undecodable_record_is_never_missing_even_with_its_id_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    gaps = finder("key", [Msg(0, wire("a")), Msg(1, b"plain")], monkeypatch)
    assert [m.event_id for m in gaps._missing([], present=set())] == ["k-0"]
    assert gaps.counts["sourceUndecodable"] == 1


def test_an_unreachable_registry_fails_the_finder_retriably(monkeypatch: pytest.MonkeyPatch) -> None:
    gaps = finder("meta.ref", [Msg(0, wire("a", OUTAGE_ID))], monkeypatch)
    with pytest.raises(RetriableFailure, match="schema registry"):
        gaps._missing([], present=set())
