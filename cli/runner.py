"""`eventreplay run`, execution: one worker process per partition, retries, live progress, the result.

Each worker is `python -m eventreplay.worker run` with its task in $EVENTREPLAY_TASK: the same code
and checkpoints as a Job. At most spec.worker.parallelism run at once. Exit codes are handled as the
Job's podFailurePolicy does: permanent (10) fails the partition at once; anything else is retried
with exponential backoff up to spec.worker.backoffLimit times. Progress is read from the Redis
checkpoint mirror (`names.checkpoint_key`), never from the workers' output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import redis

from eventreplay.operator.api.v1alpha1 import Plan
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.environment import METRICS_PORT_ENV, TASK_ENV, TERMINATION_LOG_ENV
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.names import checkpoint_key
from eventreplay.worker.contract.tasks import Task

from .bars import LiveDisplay, RateTracker, Row, eta_text, rate_text, render_row, render_rows
from .errors import EXIT_INTERRUPTED, CliError

TICK = 0.25
BACKOFF_CAP = 30.0
WORKER_COMMAND = (sys.executable, "-m", "eventreplay.worker", "run")


def backoff(attempt: int, base: float = 1.0) -> float:
    """Seconds before retry `attempt` (1-based): 1, 2, 4, ... capped at 30 (a Job uses 10s, 20s, ...)."""
    return min(BACKOFF_CAP, base * 2.0 ** (attempt - 1))


@dataclass
class Worker:
    partition: int
    attempt: int
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    files: list[IO[bytes]] = field(default_factory=list)


def worker_message(stderr_path: Path, code: int) -> str:
    """The worker's one-line reason (`eventreplay-worker: kind: why`), else its last line."""
    try:
        lines = [ln.strip() for ln in stderr_path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    mine = [ln for ln in lines if ln.startswith("eventreplay-worker:")]
    text = (mine or lines or [""])[-1].removeprefix("eventreplay-worker:").strip()
    return text or f"worker exited with code {code}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Runner:
    def __init__(
        self,
        plan: Plan,
        uid: str,
        tasks: dict[int, Task],
        client: redis.Redis,
        *,
        parallelism: int,
        backoff_limit: int,
        log_dir: Path,
        display: LiveDisplay,
        backoff_base: float = 1.0,
        command: Sequence[str] = WORKER_COMMAND,
    ) -> None:
        self.plan, self.uid, self.tasks, self.redis = plan, uid, tasks, client
        self.parallelism, self.backoff_limit, self.backoff_base = parallelism, backoff_limit, backoff_base
        self.log_dir, self.display, self.command = log_dir, display, list(command)
        self.spans = {p.partition: p for p in plan.partitions}
        self.running: dict[int, Worker] = {}
        self.retry_at: dict[int, float] = {}
        self.attempts: dict[int, int] = {}
        self.failures: dict[int, str] = {}
        self.notes: dict[int, str] = {}
        self.done: set[int] = set()
        self.rates = RateTracker()
        self.checkpoints: dict[int, Checkpoint] = {}

    def run(self) -> tuple[dict[int, Checkpoint], dict[int, str]]:
        """Run every partition to done or failed; Ctrl-C stops the workers (re-running resumes)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Empty ranges need no worker (as the operator starts no Job for them).
        queue = deque(p.partition for p in self.plan.partitions if p.records > 0)
        self.done.update(p.partition for p in self.plan.partitions if p.records == 0)
        # The workers run in sessions of their own: without this, `kill` (or a closed terminal)
        # would end the CLI and leave them running unattended.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            while queue or self.retry_at or self.running:
                self._start(queue)
                self._reap()
                self._refresh()
                time.sleep(TICK)
        except KeyboardInterrupt:
            self._stop_all()
            raise CliError(
                f"interrupted; committed progress is kept: re-run the same command to resume (uid {self.uid})",
                EXIT_INTERRUPTED,
            ) from None
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._refresh(final=True)
        return self._final(), self.failures

    def _start(self, queue: deque[int]) -> None:
        now = time.monotonic()
        while len(self.running) < self.parallelism:
            due = sorted(p for p, at in self.retry_at.items() if at <= now)
            if due:
                partition = due[0]
                del self.retry_at[partition]
            elif queue:
                partition = queue.popleft()
            else:
                return
            self._spawn(partition)

    def _spawn(self, partition: int) -> None:
        attempt = self.attempts.get(partition, 0)
        base = self.log_dir / f"partition-{partition}.attempt-{attempt}"
        out, err = open(f"{base}.out", "wb"), open(f"{base}.log", "wb")  # noqa: SIM115 - closed when reaped
        env = {**os.environ, TASK_ENV: self.tasks[partition].to_json(), "PYTHONUNBUFFERED": "1"}
        env[TERMINATION_LOG_ENV] = f"{base}.termination"  # not /dev/termination-log
        env.pop(METRICS_PORT_ENV, None)  # parallel workers cannot share one port
        # A session of its own: Ctrl-C reaches the CLI only, which then stops the workers in order.
        proc = subprocess.Popen(
            self.command,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.running[partition] = Worker(partition, attempt, proc, Path(f"{base}.log"), [out, err])
        self.notes.pop(partition, None)

    def _reap(self) -> None:
        for partition, worker in list(self.running.items()):
            code = worker.proc.poll()
            if code is None:
                continue
            del self.running[partition]
            for handle in worker.files:
                handle.close()
            if code == 0:
                self.done.add(partition)
                continue
            message = worker_message(worker.stderr_path, code)
            if code == EXIT_PERMANENT:
                self.failures[partition] = message
                continue
            attempt = self.attempts.get(partition, 0) + 1
            if attempt > self.backoff_limit:
                self.failures[partition] = f"{message} (gave up after {self.backoff_limit} retries)"
                continue
            self.attempts[partition] = attempt
            wait = backoff(attempt, self.backoff_base)
            self.retry_at[partition] = time.monotonic() + wait
            self.notes[partition] = f"retry {attempt}/{self.backoff_limit} in {wait:.0f}s: {message}"[:160]

    def _stop_all(self) -> None:
        for worker in self.running.values():
            if worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.running.values():
            try:
                worker.proc.wait(15)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait(5)
            for handle in worker.files:
                handle.close()
        self.running.clear()

    def _read_checkpoints(self) -> None:
        keys = [checkpoint_key(self.tasks[p].replay.key_tenant, self.uid, p) for p in self.spans]
        try:
            values = self.redis.mget(keys)
        except redis.RedisError:
            return  # progress only: the workers report Redis trouble themselves
        for partition, raw in zip(self.spans, values, strict=True):
            if not raw:
                continue
            ckpt = Checkpoint.from_json(raw)
            span = self.spans[partition]
            if (ckpt.start_offset, ckpt.end_offset) == (span.start_offset, span.end_offset):
                self.checkpoints[partition] = ckpt

    def _state(self, partition: int) -> str:
        if partition in self.failures:
            return "failed"
        if partition in self.done:
            return "done"
        if partition in self.running:
            return "running"
        return "retrying" if partition in self.retry_at else "pending"

    def _refresh(self, final: bool = False) -> None:
        self._read_checkpoints()
        rows: list[Row] = []
        for partition, span in self.spans.items():
            ckpt = self.checkpoints.get(partition)
            done = span.records if partition in self.done else 0
            if ckpt is not None and partition not in self.done:
                done = max(0, ckpt.committed_offset - span.start_offset)
            rate = self.rates.observe(str(partition), done)
            note = self.failures.get(partition) or self.notes.get(partition, "")
            rows.append(Row(str(partition), done, span.records, self._state(partition), rate, note[:160]))
        total_done = sum(r.done for r in rows)
        state = "done" if final else "running"
        overall = Row("all", total_done, self.plan.records, state, self.rates.observe("all", total_done))
        width = max(len(r.label) for r in [*rows, overall])
        lines = render_rows(rows, self.display.max_rows(), unicode=self.display.unicode, label_width=width)
        lines.append(render_row(overall, unicode=self.display.unicode, label_width=width))
        remaining = max(0, self.plan.records - total_done)
        plain = (
            f"progress: {len(self.done)}/{len(self.spans)} partitions done, {total_done}/{self.plan.records} "
            f"offsets, {rate_text(overall.rate)}, {eta_text(remaining, overall.rate)}"
            + (f", {len(self.failures)} failed" if self.failures else "")
        )
        if not final or self.display.tty:  # a pipe gets the summary instead of a last progress line
            self.display.show(lines, plain)
        if final:
            self.display.close()

    def _final(self) -> dict[int, Checkpoint]:
        out = dict(self.checkpoints)
        for partition, span in self.spans.items():
            if span.records == 0 and partition not in out:
                out[partition] = Checkpoint(
                    partition=partition,
                    start_offset=span.start_offset,
                    end_offset=span.end_offset,
                    committed_offset=span.end_offset,
                    state="done",
                )
        return out
