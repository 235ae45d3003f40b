"""The decode step's verdicts (`worker/runtime/formats.py`) and the source-reference grammar
(`worker/contract/source_ref.py`), on wire bytes built by hand: magic byte, schema id, fastavro body.

The registry here is a fake answering `get_schema` by id; the real registry and confluent-kafka's own
serializer are exercised in tests/integration/test_replay_avro.py.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import fastavro
import orjson
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from eventreplay.worker.contract.exit_codes import RetriableFailure
from eventreplay.worker.contract.source_ref import parse
from eventreplay.worker.contract.tasks import SchemaRegistryConnection, Validation, ValueFormat
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import RegistryDecoder, Rejected

ORDER = {
    "type": "record",
    "name": "Order",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [{"name": "ref", "type": "string"}]}},
        {"name": "blob", "type": "bytes"},
    ],
}
AVRO = ValueFormat(format="avro", schema_registry=SchemaRegistryConnection(url="http://registry:8080"))


class FakeRegistry:
    """Schema id 7 is the Order schema; 8 answers 404; anything else is an outage."""

    def __init__(self) -> None:
        self.calls = 0

    def get_schema(self, schema_id: int, *_: Any, **__: Any) -> Schema:
        self.calls += 1
        if schema_id == 7:
            return Schema(json.dumps(ORDER), "AVRO")
        if schema_id == 8:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        raise SchemaRegistryError(503, 50301, "unavailable")


def wire(schema_id: int, record: dict[str, Any]) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(ORDER), record)
    return b"\0" + schema_id.to_bytes(4, "big") + body.getvalue()


RECORD = {"id": "o-1", "meta": {"ref": "r-9"}, "blob": b"\xff\x00"}


def test_a_framed_avro_value_decodes_to_json_and_its_schema_is_fetched_once() -> None:
    registry = FakeRegistry()
    decode = RegistryDecoder(AVRO, registry)  # type: ignore[arg-type]
    first, second = decode(wire(7, RECORD)), decode(wire(7, RECORD))
    assert first == second == orjson.dumps({"id": "o-1", "meta": {"ref": "r-9"}, "blob": "\xff\x00"})
    assert decode(None) is None, "a tombstone stays a tombstone (validation names it)"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"id": "o-1"}', "format"),  # plain JSON: no magic byte
        (b"\x01" + wire(7, RECORD)[1:], "format"),  # a wrong magic byte
        (b"\0\0\0", "format"),  # shorter than the frame
        (wire(8, RECORD), "schema-unknown"),  # the registry answers 404
        (wire(7, RECORD)[:-3], "decode"),  # truncated body
        (wire(7, RECORD)[:6] + b"\xff" * 4, "decode"),  # corrupt body
    ],
)
def test_bad_records_are_dead_letters_with_their_reason(value: bytes, reason: str) -> None:
    verdict = RegistryDecoder(AVRO, FakeRegistry())(value)  # type: ignore[arg-type]
    assert isinstance(verdict, Rejected) and verdict.reason == reason, verdict


def test_an_unreachable_registry_is_retried_never_dead_lettered() -> None:
    with pytest.raises(RetriableFailure, match="schema registry"):
        RegistryDecoder(AVRO, FakeRegistry())(wire(9, RECORD))  # type: ignore[arg-type]


def test_each_schema_id_costs_one_request_so_an_outage_after_it_dead_letters_nothing() -> None:
    """confluent-kafka's own client (over a stand-in HTTP transport) caches a schema per (subject, id):
    the decoder's fetch must fill the entry its deserializer reads, or the deserializer asks again and
    a registry gone by then would turn good records into `decode` dead letters."""
    asked: list[str] = []
    up = True

    def registry(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if not up:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"schema": json.dumps(ORDER), "schemaType": "AVRO"})

    client = SchemaRegistryClient({"url": "http://registry:8080", "max.retries": 0})
    client._rest_client.session = httpx.Client(transport=httpx.MockTransport(registry))
    decode = RegistryDecoder(AVRO, client, topic="orders")
    assert decode(wire(7, RECORD)) == orjson.dumps({"id": "o-1", "meta": {"ref": "r-9"}, "blob": "\xff\x00"})
    up = False
    assert decode(wire(7, RECORD)) == decode(wire(7, RECORD)), "a cached id decodes without the registry"
    assert asked == ["/schemas/ids/7"], "one request per schema id"
    with pytest.raises(RetriableFailure, match="schema registry unreachable"):
        decode(wire(11, RECORD))


@pytest.mark.parametrize(
    ("text", "doc", "key", "headers", "expected"),
    [
        ("event_id", {"event_id": "a"}, None, None, "a"),
        ("meta.ref", {"meta": {"ref": "r-9"}}, None, None, "r-9"),
        ("meta.ref", {"meta": "flat"}, None, None, None),
        ("key", {}, b"k-1", None, "k-1"),
        ("key", {}, b"\xff", None, None),
        ("header:trace", {}, None, [("other", b"x"), ("trace", b"t-1")], "t-1"),
        ("header:trace", {}, None, None, None),
    ],
)
def test_a_source_reference_reads_key_header_or_nested_field(
    text: str, doc: dict[str, Any], key: bytes | None, headers: Any, expected: Any
) -> None:
    assert parse(text).read(doc, key, headers) == expected


@pytest.mark.parametrize("text", ["", "a..b", ".a", "header:", "a b"])
def test_a_malformed_source_reference_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="field path"):
        parse(text)


def test_ids_and_event_times_from_the_key_and_headers() -> None:
    spec = Validation(event_id_field="key", timestamp_field="header:ts", max_future_skew_seconds=0)
    validator = Validator(spec, datetime(2026, 1, 1, tzinfo=UTC))
    assert validator.reads_record
    assert validator.check_full(b"{}", 0, b"k-1", [("ts", b"1700000000000")])[0] == "k-1"
    late = validator.check_full(b"{}", 0, b"k-1", [("ts", b"1900000000000")])
    assert isinstance(late, Rejected) and late.reason == "invariant"
    nested = Validator(Validation(event_id_field="meta.ref"), datetime(2026, 1, 1, tzinfo=UTC))
    assert nested.check(b'{"meta": {"ref": "r-9"}}', 0)[0] == "r-9"
    missing = nested.check(b'{"meta": {}}', 0)
    assert isinstance(missing, Rejected) and missing.reason == "missing_id"
