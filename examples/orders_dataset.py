"""Seed the demo: an `orders` topic and the output of a processor that failed for an hour.

Source (N partitions): order events before, inside and after the failure window [from, to).
Inside the window the stream is messy (duplicates, conflicts, malformed, schema violations,
tombstones: dev/datagen/orders.py); outside it is clean. The processor's output topic holds, per
event id keyed by it, the projection {event_id, amount, currency} (sorted keys) — except inside
the window, where the processor missed some events and wrote a wrong amount for others.
The truth (what a replay and a reconciliation must find) is known by construction.

    python examples/orders_dataset.py --bootstrap 127.0.0.1:19092 --source orders --destination orders-enriched
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

# The order generator is dev-only (dev/datagen, not in the installed package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))

from datagen.orders import CLEAN, DEAD_REASON, Mix, generate

FIELDS = ("event_id", "amount", "currency")


@dataclass
class Truth:
    """What the replay and the reconciliation must report."""

    records: int = 0
    emitted: int = 0
    duplicate: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    changed: int = 0
    missing: int = 0
    extra: int = 0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["dead_lettered"] = dict(self.dead_lettered)
        return out


def project(value: bytes) -> bytes:
    doc = orjson.loads(value)
    return orjson.dumps({k: doc[k] for k in FIELDS if k in doc}, option=orjson.OPT_SORT_KEYS)


def _produce(
    producer: Producer, topic: str, value: bytes | None, key: bytes | None, *, partition: int | None, when: datetime
) -> None:
    kwargs = {} if partition is None else {"partition": partition}
    while True:
        try:
            producer.produce(topic, value, key, timestamp=int(when.timestamp() * 1000), **kwargs)
            return
        except BufferError:
            producer.poll(0.05)


def seed(
    bootstrap: str,
    source: str,
    destination: str,
    *,
    start: datetime,
    end: datetime,
    partitions: int = 3,
    per_partition: int = 20_000,
    slack: timedelta = timedelta(minutes=10),
    seed_value: int = 7,
) -> Truth:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(source, partitions, 1), NewTopic(destination, partitions, 1)]).values():
        future.result()
    rng = random.Random(seed_value)
    truth = Truth()
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True, "partitioner": "murmur2_random"}
    )
    # The processor writes in time order (as a live one does), so the destination's timestamps grow.
    writes: list[tuple[datetime, bytes | None, bytes]] = []
    outside = per_partition // 4
    inside = per_partition - 2 * outside
    for p in range(partitions):
        segments = [
            (start - timedelta(minutes=30), start, CLEAN, outside, False),
            (start, end, Mix(), inside, True),
            (end, end + timedelta(minutes=30), CLEAN, outside, False),
        ]
        for seg_start, seg_end, mix, count, in_window in segments:
            step = (seg_end - seg_start) / count
            records = list(
                generate(
                    count,
                    seed=seed_value * 100 + p * 10 + int(in_window),
                    mix=mix,
                    start=seg_start - step,
                    step_ms=max(1, int(step.total_seconds() * 1000)),
                )
            )
            for i, rec in enumerate(records):
                when = seg_start + step * i
                _produce(producer, source, rec.value, rec.key, partition=p, when=when)
                if in_window:
                    truth.records += 1
                    if rec.kind == "dup":
                        truth.duplicate += 1
                    elif rec.kind != "ok":
                        truth.dead_lettered[DEAD_REASON[rec.kind]] += 1
                if rec.kind != "ok" or rec.value is None:
                    continue
                out = project(rec.value)
                written = when + timedelta(milliseconds=50)
                if in_window:
                    truth.emitted += 1
                    fate = rng.random()
                    if fate < 0.10:
                        truth.missing += 1
                        continue
                    if fate < 0.17:
                        truth.changed += 1
                        doc = orjson.loads(out)
                        doc["amount"] = round(float(doc["amount"]) * 1.1 + 0.01, 2)
                        out = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
                    else:
                        truth.unchanged += 1
                elif start - slack <= written < end + slack:
                    truth.extra += 1
                writes.append((written, rec.key, out))
    for written, key, out in sorted(writes, key=lambda w: w[0]):
        _produce(producer, destination, out, key, partition=None, when=written)
    if producer.flush(120) != 0:
        raise RuntimeError("records still queued after flush")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--source", default="orders")
    parser.add_argument("--destination", default="orders-enriched")
    parser.add_argument("--from", dest="start", default=None, help="window start (RFC 3339); default: 2 hours ago")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--per-partition", type=int, default=20_000)
    args = parser.parse_args()
    start = (
        datetime.fromisoformat(args.start)
        if args.start
        else datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    )
    truth = seed(
        args.bootstrap,
        args.source,
        args.destination,
        start=start,
        end=start + timedelta(hours=args.hours),
        per_partition=args.per_partition,
    )
    print(
        json.dumps(
            {
                "from": start.isoformat(),
                "to": (start + timedelta(hours=args.hours)).isoformat(),
                "truth": truth.as_dict(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
