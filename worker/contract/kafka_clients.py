"""How every process of this project connects to Kafka and resolves offsets.

One place for the client configurations (base settings + the security settings a Secret put in
an env var; the replay consumer, the range reader, the planner's consumer, the transactional
and the idempotent producer), creating topics that may be absent, watermarks and
`offsets_for_times`. Used by the worker's Jobs, the operator's planning and the CLI, so it holds
no worker logic: failures are `RetriableFailure` / `PermanentFailure` from `exit_codes`, which
the operator maps to its own "Kafka unavailable".
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from .exit_codes import PermanentFailure, RetriableFailure
from .settings import parse_settings
from .tasks import KafkaConnection

Config = dict[str, Any]

# Settings a Secret may not override: they carry the exactly-once guarantees.
_PROTECTED = {
    "transactional.id",
    "enable.idempotence",
    "isolation.level",
    "group.id",
    "enable.auto.commit",
    "auto.offset.reset",
    "bootstrap.servers",
}


def _env(env_name: str, what: str) -> str:
    raw = os.environ.get(env_name)
    if raw is None:
        raise PermanentFailure(f"env var {env_name} ({what} from a Secret) is not set")
    return raw


def security_settings(
    env_name: str | None, fixed: frozenset[str] = frozenset(), allowed: list[str] | None = None
) -> dict[str, str]:
    """The settings in the env var a Secret filled (`parse_settings`). Values are never logged.

    `fixed`: keys the platform set for the cluster; a Secret naming one fails loudly rather than
    silently losing (or winning) against the platform. `allowed`: the keys (globs) the replay policy
    lets a tenant's Secret set (None: any); the operator cannot read the Secret, so the worker refuses
    the rest here, before any connection."""
    if not env_name:
        return {}
    raw = _env(env_name, "Kafka client settings")
    try:
        settings = parse_settings(raw, env_name)
    except ValueError as err:
        raise PermanentFailure(str(err)) from err
    for key in settings:
        if key in _PROTECTED:
            raise PermanentFailure(f"Kafka setting {key!r} may not be overridden by {env_name}")
        if key in fixed:
            raise PermanentFailure(f"Kafka setting {key!r} is the replay policy's for this cluster, not {env_name}'s")
        if allowed is not None and not any(fnmatchcase(key, pattern) for pattern in allowed):
            raise PermanentFailure(
                f"NotAllowed: Kafka setting {key!r} in {env_name} is not one the replay policy lets a tenant's "
                "Secret set (tenantKafkaSettings)"
            )
    return settings


def client_config(bootstrap: str, settings: dict[str, str]) -> Config:
    """Bootstrap servers over the given settings: every Kafka client of every process starts here."""
    return {**settings, "bootstrap.servers": bootstrap}


def job_config(kafka: KafkaConnection) -> Config:
    """A Job's base: its bootstrap servers, the policy's settings for the cluster (and its CA), and
    the credentials from its Secret."""
    platform = dict(kafka.settings or {})
    if kafka.ca_env:
        platform["ssl.ca.pem"] = _env(kafka.ca_env, "the Kafka cluster's CA bundle")
    secret = security_settings(kafka.settings_env, frozenset(platform), kafka.tenant_settings)
    return client_config(kafka.bootstrap_servers, {**secret, **platform})


def _assigning_reader(base: Config, group: str) -> Config:
    """Consumers here `assign` and commit only inside transactions (or never): no auto anything."""
    return {
        **base,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "error",
    }


def replay_consumer_config(base: Config, group: str) -> Config:
    """The replay worker's consumer: one partition, read_committed, memory flat."""
    return {
        **_assigning_reader(base, group),
        "enable.partition.eof": True,
        # Bound the prefetch queue so memory stays flat whatever the window's size (measured in
        # bench/bench_worker.py: peak RSS ~100 MiB). The count cap matters because per-message
        # overhead doubles small payloads. librdkafka backs off fetching for
        # fetch.queue.backoff.ms once a cap is hit; its default (1 s) starves the worker.
        "queued.max.messages.kbytes": 8192,
        "queued.min.messages": 20000,
        "fetch.queue.backoff.ms": 10,
        "fetch.max.bytes": 2 * 1024 * 1024,
        "max.partition.fetch.bytes": 2 * 1024 * 1024,
    }


def range_reader_config(base: Config, group: str) -> Config:
    """Reconciliation's and promotion's reader of [start, end) ranges, one after another."""
    return {
        **_assigning_reader(base, group),
        "enable.partition.eof": True,
        # Bound the prefetch queue: memory stays flat whatever the window's size.
        "queued.max.messages.kbytes": 16384,
        "fetch.queue.backoff.ms": 10,  # librdkafka's 1 s default stalls reading once the cap is hit
        "fetch.max.bytes": 16 * 1024 * 1024,
        # Ranges are read to their end one after another: do not let the broker park the last
        # fetch of each (default 500 ms) before it reports the end.
        "fetch.wait.max.ms": 50,
    }


def planner_consumer_config(base: Config, group: str) -> Config:
    """The operator's and the CLI's consumer: metadata, watermarks, timestamps; never creates topics."""
    return {**_assigning_reader(base, group), "allow.auto.create.topics": False}


def transactional_producer_config(base: Config, transactional_id: str, **extra: Any) -> Config:
    """Exactly-once output: a stable transactional.id per (job, partition) fences zombies."""
    return {
        **base,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "transaction.timeout.ms": 60000,
        "linger.ms": 20,
        "compression.type": "lz4",
        **extra,
    }


def idempotent_producer_config(base: Config) -> Config:
    """At-least-once without duplicates from retries (the report topic is compacted anyway)."""
    return {**base, "enable.idempotence": True, "linger.ms": 20, "compression.type": "lz4"}


MESSAGE_HEADROOM_BYTES = 1_048_576
"""Room above maxEventBytes for a record's key and headers (1,000 source headers fit)."""


def output_message_limit(max_event_bytes: int) -> int:
    """The largest record a replay writes (librdkafka's `message.max.bytes` of its producer).

    librdkafka's default (1,000,000 bytes) is below the default maxEventBytes (1 MiB): a valid event
    near 1 MB would fail to produce. Anything above this limit is dead-lettered, never retried.
    """
    return max_event_bytes + MESSAGE_HEADROOM_BYTES


def output_topic_config(max_event_bytes: int, retention_seconds: int) -> dict[str, str]:
    """The sandbox and dead-letter topics' settings, decided by the replay, not the broker defaults.

    The broker checks `max.message.bytes` against a whole (compressed) batch, so it is the producer's
    limit plus a batch's overhead. Retention is the replay's Redis TTL: its outputs live as long as
    the ledger and checkpoints that describe them, not a broker default that could delete the first
    sandbox segments of a long replay before reconciliation reads them.
    """
    return {
        "max.message.bytes": str(output_message_limit(max_event_bytes) + 65_536),
        "retention.ms": str(retention_seconds * 1000),
        "retention.bytes": "-1",
    }


def create_topics(
    admin: AdminClient,
    names: list[str],
    partitions: int,
    *,
    timeout: float = 30,
    config: dict[str, str] | None = None,
    what: str = "topic",
) -> None:
    """Create the topics that are absent (an existing one is fine); RetriableFailure otherwise.

    A principal without `Create` (the operator made the topics, `topicsCreatedBy: operator`) is
    refused before the broker looks for the topic: an existing topic is fine then too."""
    new = [NewTopic(name, num_partitions=partitions, replication_factor=-1, config=config or {}) for name in names]
    refused: dict[str, KafkaException] = {}
    for name, future in admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as err:
            code = err.args[0].code()
            if code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                refused[name] = err
            elif code != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RetriableFailure(f"cannot create {what} {name!r}: {err.args[0].str()}") from err
        except Exception as err:  # a timed-out future: the broker did not answer in time
            raise RetriableFailure(f"cannot create {what} {name!r}: {err}") from err
    if refused:
        try:
            existing = admin.list_topics(timeout=timeout).topics
        except KafkaException as err:
            raise RetriableFailure(f"cannot list topics: {err.args[0].str()}") from err
        for name, refusal in sorted(refused.items()):
            if name not in existing:
                raise RetriableFailure(f"cannot create {what} {name!r}: {refusal.args[0].str()}") from refusal


def watermarks(consumer: Consumer, topic: str, partition: int, servers: str, timeout: float = 15) -> tuple[int, int]:
    """(low, high) watermarks of a partition, asked of the broker (never the cached ones)."""
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout, cached=False)
    except KafkaException as err:
        raise RetriableFailure(f"cannot reach Kafka at {servers}: {err.args[0].str()}") from err
    return int(low), int(high)


EARLIEST, LATEST = -2, -1
"""ListOffsets' special timestamps: the log start offset and the high watermark (the last stable
offset under read_committed, as `get_watermark_offsets` answers)."""


def all_watermarks(
    consumer: Consumer, topic: str, partitions: list[int], servers: str, timeout: float = 15
) -> dict[int, tuple[int, int]]:
    """(low, high) of many partitions in two batched ListOffsets requests, not two per partition:
    a 1,000-partition plan asks the broker twice instead of 2,000 times."""
    try:
        lows = offsets_for_times(consumer, topic, partitions, EARLIEST, timeout=timeout)
        highs = offsets_for_times(consumer, topic, partitions, LATEST, timeout=timeout)
    except RetriableFailure as err:
        raise RetriableFailure(f"cannot reach Kafka at {servers}: {err}") from err
    return {p: (lows[p], highs[p]) for p in partitions}


def offsets_for_times(
    consumer: Consumer, topic: str, partitions: list[int], stamp_ms: int, timeout: float = 30
) -> dict[int, int]:
    """The first offset with a timestamp >= stamp_ms per partition (-1: no record that late).

    One request for every partition; a partition's own error is retriable, never "no record".
    """
    try:
        answer = consumer.offsets_for_times([TopicPartition(topic, p, stamp_ms) for p in partitions], timeout=timeout)
    except KafkaException as err:
        raise RetriableFailure(f"offsets_for_times on {topic}: {err.args[0].str()}") from err
    out: dict[int, int] = {}
    for tp in answer:
        if tp.error is not None:
            raise RetriableFailure(f"offsets_for_times on {topic}/{tp.partition}: {tp.error.str()}")
        out[tp.partition] = int(tp.offset)
    return out
