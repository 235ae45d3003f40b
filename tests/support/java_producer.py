"""Kafka's own Java producer (`dev/kafka/KeyedProducer.java`, on the stack's Kafka jars): where its
default partitioner puts each key, to compare other writers' partitioning with."""

from __future__ import annotations

import subprocess

from devstack.kafka import HERE as KAFKA_DEV


def _kafka_libs() -> str:
    """The stack's Kafka jars (cached by `dev/kafka/fetch.sh`, which prints their folder)."""
    out = subprocess.run(["bash", str(KAFKA_DEV / "fetch.sh")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def java_partitions(bootstrap: str, topic: str, keys: list[str]) -> dict[str, int]:
    """Write one record per key with the Java client's default partitioner; the partition of each."""
    lines = "".join(f"{key}\tprobe\n" for key in keys)
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
