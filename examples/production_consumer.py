"""An example production consumer that marks what it processed in the EventReplay ledger.

`skipProcessed` replays skip the events production already handled, so production must record
them: after its own output is durable (here: the downstream write and the offset commit), never
before, so a crash in between leaves the events unmarked (replayed) rather than marked and lost.

    python examples/production_consumer.py --bootstrap 127.0.0.1:19092 --topic orders \
        --redis-url redis://127.0.0.1:16379/0 --namespace default --ledger orders
"""

from __future__ import annotations

import argparse

import orjson
import redis
from confluent_kafka import Consumer

from eventreplay.worker.ledger import ProductionLedger


def handle(event: dict[str, object]) -> None:
    """Your business logic: write to a database, call a service, produce downstream..."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", default="orders-processor")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--namespace", required=True, help="namespace of the replays reading the ledger")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--id-field", default="event_id")
    parser.add_argument("--max-batches", type=int, default=0, help="stop after N batches (0: run forever)")
    args = parser.parse_args()

    ledger = ProductionLedger(redis.Redis.from_url(args.redis_url), args.ledger, namespace=args.namespace)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([args.topic])
    batches = 0
    try:
        while not args.max_batches or batches < args.max_batches:
            messages = [m for m in consumer.consume(500, timeout=1.0) if m.error() is None]
            done: list[tuple[str, bytes]] = []
            for message in messages:
                value = message.value()
                try:
                    event = orjson.loads(value or b"")
                    event_id = str(event[args.id_field])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # not ours to judge here; the replay dead-letters it
                handle(event)
                done.append((event_id, value or b""))
            if messages:
                consumer.commit(asynchronous=False)  # our own progress is durable first...
                ledger.mark(done)  # ...then the ledger says these were processed
            batches += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
