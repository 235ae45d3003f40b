"""The replay's output topics and records: sizes and retention decided by the replay, and the dead
letter of a record too large to copy whole."""

from __future__ import annotations

import hashlib

from operator_fakes import FakeKube, World, replay

from eventreplay.worker.contract.kafka_clients import output_message_limit, output_topic_config
from eventreplay.worker.replay.dead_letter import COPY_BYTES, truncated_copy


def test_the_producer_limit_is_above_max_event_bytes_and_the_topic_admits_a_full_batch() -> None:
    assert output_message_limit(1_048_576) > 1_048_576  # librdkafka's default (1,000,000) is below it
    config = output_topic_config(1_048_576, 3600)
    assert int(config["max.message.bytes"]) > output_message_limit(1_048_576) >= 1_000_000  # batch.size
    assert config["retention.ms"] == "3600000" and config["retention.bytes"] == "-1"


def test_the_operator_creates_the_output_topics_with_the_replays_settings() -> None:
    spec = replay(validation={"maxEventBytes": 4 * 1_048_576})
    spec["spec"]["dedup"]["ttlSeconds"] = 86400
    world = World(kube=FakeKube(spec))
    world.sync()
    assert world.kafka.topic_configs == [output_topic_config(4 * 1_048_576, 86400)]


def test_a_too_large_value_is_kept_as_a_truncated_copy_with_its_size_and_hash() -> None:
    value = b"v" * (COPY_BYTES + 10)
    copy, key, headers = truncated_copy(value, b"k" * (COPY_BYTES + 1))
    assert copy == value[:COPY_BYTES] and key is not None and len(key) == COPY_BYTES
    assert dict(headers) == {
        "er-truncated": b"true",
        "er-value-bytes": str(len(value)).encode(),
        "er-value-sha256": hashlib.sha256(value).hexdigest().encode(),
    }
    assert truncated_copy(None, None) == (None, None, [])
