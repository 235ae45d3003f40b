"""The pure parts of reconciliation: canonical hash, id order, checksums, classes, report hash."""

from __future__ import annotations

import hashlib
import random

import orjson
import pytest
from pydantic import ValidationError

from eventreplay.worker.contract.checkpoints import combine_digests
from eventreplay.worker.contract.step_tasks import EventIdSource, ExistingOutput, PromoteTask
from eventreplay.worker.runtime.canonical import (
    Checksum,
    Samples,
    bucket_bits,
    bucket_of,
    canonical_form,
    canonical_hash,
    classify,
    event_id_of,
    id_order,
    report_hash,
)


def test_key_order_and_whitespace_do_not_matter_at_any_depth() -> None:
    a = b'{"b": {"z": 1, "a": [ {"y": 2, "x": 1} ]}, "a": "q"}'
    b = b'{"a":"q","b":{"a":[{"x":1,"y":2}],"z":1}}'
    assert canonical_hash(a) == canonical_hash(b)


def test_types_and_values_matter() -> None:
    assert canonical_hash(b'{"a": 1}') != canonical_hash(b'{"a": 1.0}')
    assert canonical_hash(b'{"a": 1}') != canonical_hash(b'{"a": "1"}')
    assert canonical_hash(b'{"a": 1}') != canonical_hash(b'{"a": 2}')


def test_non_json_is_raw_bytes_and_null_is_its_own_form() -> None:
    assert canonical_form(b"not json {", None, ()) == len(b"rnot json {").to_bytes(4, "big") + b"rnot json {"
    assert len({canonical_hash(None), canonical_hash(b""), canonical_hash(b"null")}) == 3
    # A raw value that happens to spell a canonical JSON form does not collide with it.
    assert canonical_hash(b'"x"') != canonical_hash(b'j"x"')


def test_chosen_headers_last_occurrence_absent_vs_empty() -> None:
    names = ["ct"]
    v = b'{"a":1}'
    assert canonical_hash(v, [("ct", b"json"), ("other", b"x")], names) == canonical_hash(v, {"ct": "json"}, names)
    assert canonical_hash(v, [("ct", b"xml"), ("ct", b"json")], names) == canonical_hash(v, [("ct", b"json")], names)
    assert canonical_hash(v, [], names) != canonical_hash(v, [("ct", b"")], names)
    assert canonical_hash(v, [("other", b"x")], []) == canonical_hash(v)  # unchosen headers ignored


def test_framing_prevents_concatenation_ambiguity() -> None:
    assert canonical_form(b"ab", [("h", b"c")], ["h"]) != canonical_form(b"a", [("h", b"bc")], ["h"])


def test_bucket_order_is_the_global_id_order_for_any_bucket_count() -> None:
    ids = [f"id-{i}" for i in range(2000)]
    expected = sorted(ids, key=id_order)
    for bits in (0, 1, 5, 10):
        walked = []
        for bucket in range(1 << bits):
            walked.extend(sorted((i for i in ids if bucket_of(i, bits) == bucket), key=id_order))
        assert walked == expected


def test_checksum_depends_only_on_the_set_and_refuses_disorder() -> None:
    pairs = [(f"e{i}", hashlib.sha256(str(i).encode()).digest()[:16]) for i in range(300)]

    def digest(items: list[tuple[str, bytes]]) -> str:
        c = Checksum()
        for event_id, h in sorted(items, key=lambda p: id_order(p[0])):
            c.add(event_id, h)
        return c.hexdigest()

    shuffled = pairs[:]
    random.Random(3).shuffle(shuffled)
    assert digest(pairs) == digest(shuffled)
    changed = [*pairs[:-1], (pairs[-1][0], bytes(16))]
    assert digest(changed) != digest(pairs)
    swapped = [(pairs[0][0], pairs[1][1]), (pairs[1][0], pairs[0][1]), *pairs[2:]]
    assert digest(swapped) != digest(pairs)  # a sum or XOR of per-id hashes would not see this
    c = Checksum()
    first, second = sorted(["a", "b"], key=id_order)
    c.add(second, bytes(16))
    with pytest.raises(ValueError):
        c.add(first, bytes(16))


def test_classify() -> None:
    h1, h2 = b"1" * 16, b"2" * 16
    assert classify(h1, h1) == "unchanged"
    assert classify(h1, h2) == "changed"
    assert classify(h1, None) == "missing"
    assert classify(None, h2) == "extra"
    with pytest.raises(ValueError):
        classify(None, None)


def test_samples_keep_the_smallest_ids() -> None:
    s = Samples(3)
    for event_id in ["m", "c", "z", "a", "b", "y"]:
        s.add(event_id)
    assert s.ids == ["a", "b", "c"]
    none = Samples(0)
    none.add("a")
    assert none.ids == []


def test_report_hash_is_key_order_independent_and_content_sensitive() -> None:
    a = {"counts": {"changed": 1, "missing": 2}, "plan": {"uid": "u"}}
    b = {"plan": {"uid": "u"}, "counts": {"missing": 2, "changed": 1}}
    assert report_hash(a) == report_hash(b)
    assert report_hash(a) == hashlib.sha256(orjson.dumps(a, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert report_hash(a) != report_hash({**a, "counts": {"changed": 2, "missing": 2}})


def test_event_id_from_key_or_value_field() -> None:
    key = EventIdSource()
    assert event_id_of(b"e-1", None, key) == "e-1"
    assert event_id_of(None, b"{}", key) is None
    assert event_id_of(b"\xff", None, key) is None
    field = EventIdSource(source="valueField", field="event_id")
    assert event_id_of(None, b'{"event_id": "e-2"}', field) == "e-2"
    assert event_id_of(None, b'{"event_id": 42}', field) == "42"
    for bad in (b'{"event_id": true}', b'{"event_id": ""}', b"[1]", b"nope", None):
        assert event_id_of(b"k", bad, field) is None
    with pytest.raises(ValidationError):
        EventIdSource(source="valueField")


def test_bucket_bits_and_digest_combination() -> None:
    assert bucket_bits(0) == 0 and bucket_bits(48) == 0 and bucket_bits(1_000_000) == 15
    d0, d1 = "00" * 32, "11" * 32
    assert combine_digests([(1, d1), (0, d0)]) == hashlib.sha256(bytes(32) + b"\x11" * 32).hexdigest()


def test_contracts_refuse_ambiguous_windows_and_bad_hashes() -> None:
    with pytest.raises(ValidationError):
        ExistingOutput(topic="t")
    with pytest.raises(ValidationError):
        ExistingOutput.model_validate(
            {"topic": "t", "offsets": [], "timestamps": {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z"}}
        )
    window = ExistingOutput.model_validate(
        {"topic": "t", "timestamps": {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z", "slackSeconds": 60}}
    )
    assert window.timestamps is not None
    lo, hi = window.timestamps.bounds_ms
    assert hi - lo == 3600_000 + 120_000
    base = {
        "replay": {"namespace": "n", "name": "r", "uid": "u"},
        "kafka": {"bootstrapServers": "k:9092"},
        "destinationTopic": "d",
        "redis": {"redisUrl": "redis://r:6379/0"},
    }
    with pytest.raises(ValidationError):
        PromoteTask.model_validate({**base, "reportHash": "abc"})
    task = PromoteTask.model_validate({**base, "reportHash": "a" * 64})
    assert task.transactional_id(2) == "eventreplay-u-promote-2"
    assert PromoteTask.model_validate_json(task.to_json()) == task
