"""One worker on one partition vs the seed's approach vs a bare consume, in one run.

(a) this worker: `python -m eventreplay.worker run`, exactly-once, JSON Schema, ledger, digest;
(b) the seed document's loop: poll() one message, EXISTS + SET per event, produce per event;
(c) a bare confluent-kafka consume(1000) of the same partition, and `kcat` reading it to /dev/null.
Peak RSS of the worker at two window sizes (it must stay flat), Redis bytes per ledger entry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from eventreplay.worker.contract.environment import TASK_ENV
from eventreplay.worker.contract.tasks import Task

# The order generator is dev-only (dev/datagen, not in the installed package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dev"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out

from cpu_split import services_cpu

from datagen.orders import ORDER_SCHEMA, Mix, generate
from devstack import config

BOOTSTRAP = os.environ.get("EVENTREPLAY_KAFKA_BOOTSTRAP", config.kafka_bootstrap())
REDIS_URL = os.environ.get("EVENTREPLAY_REDIS_URL", config.redis_url())
RESULTS = Path(__file__).resolve().parent / "results"

# Issue #15's goals: (figure, bound, "max" or "min"), checked on the summary line.
GOALS = {
    "cpu_us_per_event": (10.0, "max"),
    "redis_cpu_us_per_event": (2.0, "max"),
    "worker_vs_raw_consume_pct": (35.0, "min"),
    "worker_vs_seed": (150.0, "min"),
    "peak_rss_mib": (200.0, "max"),
    "redis_bytes_per_entry": (40.0, "max"),
}


def seed(topic: str, count: int) -> None:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result()
    producer = Producer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.kbytes": 262144,
        }
    )
    for rec in generate(
        count,
        seed=42,
        mix=Mix(dup=0.02, conflict=0.002, malformed=0.002, schema=0.002, missing_id=0.001, tombstone=0.001),
    ):
        while True:
            try:
                producer.produce(topic, rec.value, rec.key, 0)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


def task_for(topic: str, count: int, uid: str) -> Task:
    return Task.model_validate(
        {
            "replay": {"namespace": "bench", "name": "bench", "uid": uid},
            "kafka": {"bootstrapServers": BOOTSTRAP},
            "source": {"topic": topic, "partition": 0, "startOffset": 0, "endOffset": count},
            "asOf": "2026-11-21T00:00:00Z",
            "validation": {"jsonSchema": ORDER_SCHEMA},
            "dedup": {"redisUrl": REDIS_URL, "ledger": f"bench-{uid}", "mode": "withinReplay"},
            "output": {"sandboxTopic": f"{topic}-sb-{uid}", "deadLetterTopic": f"{topic}-dlq-{uid}"},
        }
    )


def _without_defaults(task: Task) -> str:
    return task.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True)


def run_worker_rss(task: Task, python: str = sys.executable) -> tuple[float, int, dict[str, object], dict[str, float]]:
    """Seconds, peak RSS (KiB), the worker's summary, and CPU seconds per party during the run."""
    services_before = services_cpu(REDIS_URL)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", "eventreplay.worker", "run"],
        # Another checkout's worker (the baseline) knows only the fields of its day: leave defaults out.
        env={**os.environ, TASK_ENV: task.to_json() if python == sys.executable else _without_defaults(task)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    cpu = {"worker": usage.ru_utime + usage.ru_stime}
    cpu.update({name: spent - services_before[name] for name, spent in services_cpu(REDIS_URL).items()})
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"worker failed: {err.decode()[-2000:]}")
    summary = json.loads(out)
    # The worker's own VmHWM: ru_maxrss of a forked child also counts this (large) parent's pages.
    return seconds, int(summary.get("peakRssKiB") or usage.ru_maxrss), summary, cpu


def seed_approach(topic: str, count: int, uid: str) -> float:
    """The seed document's loop, faithfully: one message, one EXISTS, one SET, one produce."""
    client = redis.Redis.from_url(REDIS_URL)
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"seed-{uid}", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    consumer.assign([TopicPartition(topic, 0, 0)])
    done = 0
    began = time.perf_counter()
    while done < count:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        done += 1
        try:
            event = json.loads(msg.value() or b"")
            event_id = event["event_id"]
        except (ValueError, KeyError, TypeError):
            continue
        key = f"event:{uid}:{event_id}"
        if client.exists(key):
            continue
        producer.produce(f"{topic}-seed-{uid}", json.dumps(event).encode())
        producer.poll(0)
        client.set(key, 1, ex=86400)
    producer.flush(60)
    consumer.close()
    return time.perf_counter() - began


def raw_consume(topic: str, count: int, uid: str) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"raw-{uid}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    began = time.perf_counter()
    while seen < count:
        for msg in consumer.consume(1000, timeout=1.0):
            if msg.error() is None:
                msg.value()
                seen += 1
    seconds = time.perf_counter() - began
    consumer.close()
    return seconds


def kcat(topic: str) -> float | None:
    if shutil.which("kcat") is None:
        return None
    began = time.perf_counter()
    subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - began


def ledger_bytes_per_entry(task: Task, entries: int) -> float:
    client = redis.Redis.from_url(REDIS_URL)
    total = 0
    for key in client.scan_iter(match=f"er:{{{task.dedup.ledger}}}:*", count=5000):
        total += int(client.memory_usage(key, samples=0) or 0)
    return total / max(1, entries)


def drop_ledger(task: Task) -> None:
    """Remove one run's ledger buckets (SCAN + UNLINK, never KEYS), so rounds start alike."""
    client = redis.Redis.from_url(REDIS_URL)
    batch = []
    for key in client.scan_iter(match=f"er:{{{task.dedup.ledger}}}:*", count=5000):
        batch.append(key)
        if len(batch) == 5000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def drop_topics(topics: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(Exception):  # best effort: a topic the run never created
            future.result()


def summary_line(rows: dict[str, Any]) -> str:
    """CPU split per event next to the ratios, each goal marked met or not met."""
    split: dict[str, float] = rows["cpu_us_per_event"]
    figures = {
        "cpu_us_per_event": sum(split.values()),
        "redis_cpu_us_per_event": split.get("redis-server", 0.0),
        "worker_vs_raw_consume_pct": 100 * rows["worker_vs_raw_consume"],
        "worker_vs_seed": rows["worker_vs_seed"],
        "peak_rss_mib": max(rows["peak_rss_mib_small"], rows.get("peak_rss_mib_large", 0.0)),
        "redis_bytes_per_entry": rows["redis_bytes_per_entry_memory_usage"],
    }
    marks = []
    for name, (bound, kind) in GOALS.items():
        met = figures[name] <= bound if kind == "max" else figures[name] >= bound
        sign = "<=" if kind == "max" else ">="
        marks.append(f"{name} {figures[name]:,.1f} ({sign} {bound:g}: {'met' if met else 'NOT met'})")
    cpu = " + ".join(f"{name} {us:.2f}" for name, us in sorted(split.items(), key=lambda kv: -kv[1]))
    return f"CPU µs/event: {cpu} = {figures['cpu_us_per_event']:.2f}\ngoals: " + " | ".join(marks)


COUNTS = ("emitted", "duplicate", "processed", "deadLettered", "digest")


def side_by_side(rows: dict[str, Any]) -> str:
    """This worker against the baseline, figures of the same rounds: ratios are what count."""
    base: dict[str, Any] = rows["baseline"]
    lines = ["| figure | this | baseline | this / baseline |", "|---|---|---|---|"]

    def row(name: str, mine: float, theirs: float, fmt: str) -> None:
        lines.append(f"| {name} | {mine:{fmt}} | {theirs:{fmt}} | {mine / theirs:.2f} |")

    row("worker ev/s (median)", rows["worker_events_per_s"], base["worker_events_per_s"], ",.0f")
    if "worker_events_per_s_large" in rows and "worker_events_per_s_large" in base:
        row("worker ev/s (large window)", rows["worker_events_per_s_large"], base["worker_events_per_s_large"], ",.0f")
    row("worker / bare consume (%)", 100 * rows["worker_vs_raw_consume"], 100 * base["worker_vs_raw_consume"], ".1f")
    row("worker / seed loop (x)", rows["worker_vs_seed"], base["worker_vs_seed"], ".1f")
    mine, theirs = rows["cpu_us_per_event"], base["cpu_us_per_event"]
    for name in mine:
        row(f"CPU µs/event: {name}", mine[name], theirs[name], ".2f")
    row("CPU µs/event: total", sum(mine.values()), sum(theirs.values()), ".2f")
    row("peak RSS MiB (small window)", rows["peak_rss_mib_small"], base["peak_rss_mib_small"], ".1f")
    if "peak_rss_mib_large" in rows and "peak_rss_mib_large" in base:
        row("peak RSS MiB (large window)", rows["peak_rss_mib_large"], base["peak_rss_mib_large"], ".1f")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=4_000_000, help="second window size for the RSS check")
    parser.add_argument("--seed-events", type=int, default=30_000, help="events for the slow seed approach")
    parser.add_argument("--rounds", type=int, default=3, help="worker and raw consume, interleaved; medians")
    parser.add_argument(
        "--baseline-python",
        help="the interpreter of another checkout's venv (e.g. main's): its worker runs in every round too, "
        "on the same topic, and its figures are printed next to this one's",
    )
    parser.add_argument(
        "--formats",
        type=int,
        default=0,
        metavar="N",
        help="also replay N orders as JSON, as Avro and Avro into an Avro sink through the registry "
        "(bench_formats.py), in this run",
    )
    args = parser.parse_args()
    uid = uuid.uuid4().hex[:8]
    topic, big = f"bench-{uid}", f"bench-big-{uid}"
    print(f"seeding {args.events:,} events ...", flush=True)
    seed(topic, args.events)
    topics = [topic, f"{topic}-seed-{uid}"]

    # Rounds interleave the worker and the bare consume so that the machine's noise hits both.
    worker_rates, raw_rates, rss_small = [], [], []
    cpu_rounds: list[dict[str, float]] = []
    base_rates: list[float] = []
    base_rss_small: list[float] = []
    base_cpu_rounds: list[dict[str, float]] = []
    summary: dict[str, object] = {}
    marks, used, bytes_per_entry = 0, 0, 0.0
    for round_no in range(args.rounds):
        task = task_for(topic, args.events, f"{uid}r{round_no}")
        topics += [task.output.sandbox_topic, task.output.dead_letter_topic]
        used_before = redis.Redis.from_url(REDIS_URL).info("memory")["used_memory"]
        secs, rss, summary, cpu = run_worker_rss(task)
        cpu_rounds.append({name: seconds / args.events * 1e6 for name, seconds in cpu.items()})
        if round_no == 0:
            used = redis.Redis.from_url(REDIS_URL).info("memory")["used_memory"] - used_before
            marks = int(summary["emitted"])  # type: ignore[call-overload]
        worker_rates.append(args.events / secs)
        rss_small.append(rss / 1024)
        if round_no == 0:
            bytes_per_entry = ledger_bytes_per_entry(task, marks)
        drop_ledger(task)
        if args.baseline_python:
            base_task = task_for(topic, args.events, f"{uid}b{round_no}")
            topics += [base_task.output.sandbox_topic, base_task.output.dead_letter_topic]
            base_secs, base_rss, base_summary, base_cpu = run_worker_rss(base_task, args.baseline_python)
            assert {k: base_summary[k] for k in COUNTS} == {k: summary[k] for k in COUNTS}, (base_summary, summary)
            drop_ledger(base_task)
            base_rates.append(args.events / base_secs)
            base_rss_small.append(base_rss / 1024)
            base_cpu_rounds.append({name: seconds / args.events * 1e6 for name, seconds in base_cpu.items()})
        raw_rates.append(args.events / raw_consume(topic, args.events, f"{uid}r{round_no}"))
        print(
            f"round {round_no + 1}: worker {worker_rates[-1]:,.0f} ev/s, "
            + (f"baseline worker {base_rates[-1]:,.0f} ev/s, " if base_rates else "")
            + f"raw consume {raw_rates[-1]:,.0f} ev/s"
        )
    kcat_secs = kcat(topic)
    seed_secs = seed_approach(topic, args.seed_events, uid)
    seed_rate = args.seed_events / seed_secs
    worker_rate, raw_rate = statistics.median(worker_rates), statistics.median(raw_rates)
    cpu_split = {name: statistics.median(r[name] for r in cpu_rounds) for name in cpu_rounds[0]}
    rows: dict[str, object] = {
        "worker_events_per_s": worker_rate,
        "worker_events_per_s_rounds": worker_rates,
        "seed_events_per_s": seed_rate,
        "raw_consume_events_per_s": raw_rate,
        "raw_consume_events_per_s_rounds": raw_rates,
        "kcat_events_per_s": args.events / kcat_secs if kcat_secs else None,
        "worker_vs_seed": worker_rate / seed_rate,
        "worker_vs_raw_consume": worker_rate / raw_rate,
        "worker_vs_raw_consume_rounds": [w / r for w, r in zip(worker_rates, raw_rates, strict=True)],
        "peak_rss_mib_small": max(rss_small),
        "redis_bytes_per_entry_info": used / max(1, marks),
        "redis_bytes_per_entry_memory_usage": bytes_per_entry,
        "cpu_us_per_event": cpu_split,
        "cpu_us_per_event_rounds": cpu_rounds,
        "summary": summary,
    }
    if args.baseline_python:
        base_rate = statistics.median(base_rates)
        rows["baseline"] = {
            "python": args.baseline_python,
            "worker_events_per_s": base_rate,
            "worker_events_per_s_rounds": base_rates,
            "worker_vs_seed": base_rate / seed_rate,
            "worker_vs_raw_consume": base_rate / raw_rate,
            "peak_rss_mib_small": max(base_rss_small),
            "cpu_us_per_event": {
                name: statistics.median(r[name] for r in base_cpu_rounds) for name in base_cpu_rounds[0]
            },
            "cpu_us_per_event_rounds": base_cpu_rounds,
        }
    if args.large:
        print(f"seeding {args.large:,} events for the memory check ...", flush=True)
        seed(big, args.large)
        large_task = task_for(big, args.large, uid + "b")
        topics += [big, large_task.output.sandbox_topic, large_task.output.dead_letter_topic]
        big_secs, big_rss, _, _ = run_worker_rss(large_task)
        drop_ledger(large_task)
        rows["peak_rss_mib_large"] = big_rss / 1024
        rows["worker_events_per_s_large"] = args.large / big_secs
        if args.baseline_python:
            base_large = task_for(big, args.large, uid + "bb")
            topics += [base_large.output.sandbox_topic, base_large.output.dead_letter_topic]
            base_big_secs, base_big_rss, _, _ = run_worker_rss(base_large, args.baseline_python)
            drop_ledger(base_large)
            rows["baseline"]["peak_rss_mib_large"] = base_big_rss / 1024  # type: ignore[index]
            rows["baseline"]["worker_events_per_s_large"] = args.large / base_big_secs  # type: ignore[index]
    drop_topics(topics)
    if args.formats:
        from bench_formats import compare, table  # it imports this module's helpers: imported when asked

        print(f"formats: {args.formats:,} orders per mode, {args.rounds} interleaved rounds ...", flush=True)
        rows["formats"] = compare(args.formats, args.rounds)
    print(json.dumps(rows, indent=2))
    print(
        f"\nworker {worker_rate:,.0f} ev/s | seed {seed_rate:,.0f} ev/s ({worker_rate / seed_rate:.1f}x) | "
        f"raw consume {raw_rate:,.0f} ev/s (worker = {100 * worker_rate / raw_rate:.0f} %)"
        + (f" | kcat {rows['kcat_events_per_s']:,.0f} ev/s" if kcat_secs else "")
        + f" | peak RSS {rows['peak_rss_mib_small']:.0f} MiB"
        + (f" / {rows['peak_rss_mib_large']:.0f} MiB at {args.large:,}" if args.large else "")
        + f" (medians of {args.rounds} interleaved rounds)"
    )
    print(summary_line(rows))
    if args.baseline_python:
        print(side_by_side(rows))
    if args.formats:
        print(table(rows["formats"]))  # type: ignore[arg-type]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_worker-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
