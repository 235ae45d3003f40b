"""The partition Kafka's Java clients choose for a key: murmur2 of the key bytes, made positive,
modulo the partition count (`org.apache.kafka.common.utils.Utils.murmur2`, `toPositive`).

Promotion writes each keyed record to this partition, so a correction lands in the partition
where production's Java (and librdkafka `murmur2_random`) producers put records of its key.
"""

from __future__ import annotations

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 of `data`, as the signed int Java's `Utils.murmur2` returns."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole:]
    if tail:  # Java's switch falls through: the last 3, 2, 1 bytes, then one multiply
        h ^= int.from_bytes(tail, "little")
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partitions: int) -> int:
    """The Java default partitioner's choice for a non-null key: `toPositive(murmur2(key)) % partitions`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
