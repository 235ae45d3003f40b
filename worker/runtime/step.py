"""The shared shape of the Jobs that read offset ranges after the replay (reconcile, combine, gaps):
their Kafka clients and range reads (`RangeJob`); for the steps that keep state and a summary in
Redis, the connection, the failure mapping and the summary stored last (`StepJob`).

A new step Job subclasses `StepJob` with its task and summary type and writes only `_run`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import msgspec
import redis
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient

from ..contract.exit_codes import RetriableFailure
from ..contract.kafka_clients import job_config, range_reader_config
from ..contract.settings import redis_location
from ..contract.step_tasks import ExistingOutput, RedisTarget, StepTuning
from ..contract.summaries import Wire
from ..contract.tasks import KafkaConnection, OffsetRange
from .range_reader import RangeReader, existing_ranges, full_ranges
from .redis_connection import connect_redis

S = TypeVar("S", bound=Wire)


class StepTask(Protocol):
    """What every step's task carries (`ReconcileTask`, `CombineTask`, `PromoteTask`)."""

    @property
    def kafka(self) -> KafkaConnection: ...

    @property
    def tuning(self) -> StepTuning: ...

    @property
    def group_id(self) -> str: ...

    @property
    def redis_target(self) -> RedisTarget: ...


def completed_at() -> str:
    """Now, as a summary's `completedAt` (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RangeJob:
    """The Kafka clients of a Job that reads [start, end) ranges: an admin client and one consumer
    that never commits (its group id only names the reader in broker logs)."""

    def __init__(self, kafka: KafkaConnection, group_id: str, tuning: StepTuning) -> None:
        self.base = job_config(kafka)
        self.servers = kafka.bootstrap_servers
        self.tuning = tuning
        self.admin = AdminClient(self.base)
        self.consumer = Consumer(range_reader_config(self.base, group_id))

    def reader(self, topic: str, r: OffsetRange) -> RangeReader:
        return RangeReader(self.consumer, topic, r, self.tuning.batch_size, self.tuning.stall_timeout_seconds)

    def batches(self, topic: str, ranges: Iterable[OffsetRange]) -> Iterator[tuple[int, list[Message]]]:
        """(partition, batch) over `ranges` in the order given, each range in offset order."""
        for r in ranges:
            for batch in self.reader(topic, r).batches():
                yield r.partition, batch

    def full_ranges(self, topic: str) -> list[OffsetRange]:
        """[low, high) of every partition of `topic` now: the replayed sandbox, a results topic."""
        return full_ranges(self.consumer, self.admin, topic, self.servers)

    def existing_ranges(self, existing: ExistingOutput) -> list[OffsetRange]:
        """The existing output's ranges: explicit offsets (checked) or a time window (resolved)."""
        return existing_ranges(self.consumer, self.admin, existing, self.servers)


class StepJob(RangeJob, ABC, Generic[S]):
    """A Job after the replay: range reads plus Redis, where it keeps its state and its summary.
    A Redis failure anywhere is retriable: a new attempt reads Kafka again."""

    def __init__(self, task: StepTask) -> None:
        self.target = task.redis_target
        self.redis = connect_redis(self.target)
        super().__init__(task.kafka, task.group_id, task.tuning)

    def run(self) -> dict[str, Any]:
        """The summary, as the entry harness prints it."""
        try:
            summary: dict[str, Any] = msgspec.to_builtins(self._run())
            return summary
        except redis.RedisError as err:
            raise RetriableFailure(f"Redis at {redis_location(self.target.redis_url)}: {err}") from err
        finally:
            self.consumer.close()

    @abstractmethod
    def _run(self) -> S:
        """The step's work; stores its summary last (`store`) and returns it."""

    def store(self, key: str, summary: S) -> None:
        """Last: the summary's presence means the step's output is complete (other processes wait for it)."""
        self.redis.set(key, summary.to_json(), ex=self.target.ttl_seconds)
