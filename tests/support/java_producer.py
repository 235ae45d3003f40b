"""Kafka's own Java producer (`dev/kafka/KeyedProducer.java`, on the stack's Kafka jars): records
written as a Java application writes them, with the default partitioner, to compare other writers'
partitioning with."""

from __future__ import annotations

import subprocess

from devstack.kafka import HERE as KAFKA_DEV


def _kafka_libs() -> str:
    """The stack's Kafka jars (cached by `dev/kafka/fetch.sh`, which prints their folder)."""
    out = subprocess.run(["bash", str(KAFKA_DEV / "fetch.sh")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def java_produce(bootstrap: str, topic: str, records: list[tuple[str, str]]) -> dict[str, int]:
    """Write (key, value) strings (no tab or newline in them) in order; the partition of each key."""
    lines = "".join(f"{key}\t{value}\n" for key, value in records)
    ran = subprocess.run(
        ["java", "-cp", f"{_kafka_libs()}/*", str(KAFKA_DEV / "KeyedProducer.java"), bootstrap, topic],
        input=lines,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    placed = dict(line.split("\t") for line in ran.stdout.splitlines())
    return {key: int(partition) for key, partition in placed.items()}
