"""The rollout stage of promotion (`spec.promotion.rollout`): which step's Job runs next, and when
the rollout waits, pauses or aborts. Pure: the facts in, a verdict out (`post_replay.py` acts).

Level-based like every step: a step is done once its Job succeeded and its count is recorded in
status; between steps the rollout waits `pauseSeconds`, then reads the consumer groups' lag (the
facts carry it) and either starts the next step or pauses/aborts. Each step Job promotes up to its
step's per-partition quota (the worker's `RolloutStep`), so a retried or repeated step writes
nothing twice; the last step has no quota and finishes the promotion as a one-shot one does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eventreplay.worker.contract.step_tasks import RolloutStep

from ..api.v1alpha1 import parse_time
from ..api.v1alpha1.rollout import Rollout, RolloutStatus, RolloutStepStatus
from ..job_state import JobView
from ..planner import format_time

Quota = dict[str, int] | None
PAUSED, ABORTED = "PromotionPaused", "PromotionAborted"
STEPPED = "PromotionStep"


def quotas(rollout: Rollout, delta: dict[str, int]) -> list[Quota]:
    """Per step, each sandbox partition's cumulative delta quota; the last step None (all of it)."""
    out: list[Quota] = []
    total = sum(delta.values())
    for step in rollout.steps:
        if step.endswith("%"):
            share = float(step[:-1]) / 100
            quota = {p: min(n, math.ceil(share * n)) for p, n in delta.items()}
        else:
            quota = _split(min(int(step), total), delta)
        if all(quota[p] >= n for p, n in delta.items()):
            break  # this step writes everything: it is the last
        out.append(quota)
    return [*out, None]


def _split(count: int, delta: dict[str, int]) -> dict[str, int]:
    """`count` records over the partitions in proportion to their delta (largest remainder, then by
    partition number: the same split every time)."""
    total = sum(delta.values()) or 1
    exact = {p: count * n / total for p, n in delta.items()}
    quota = {p: math.floor(x) for p, x in exact.items()}
    left = count - sum(quota.values())
    for p in sorted(delta, key=lambda p: (quota[p] - exact[p], int(p)))[:left]:
        quota[p] += 1
    return quota


@dataclass(frozen=True)
class RolloutFacts:
    rollout: Rollout
    quotas: list[Quota]
    status: RolloutStatus | None
    job: JobView | None
    """The newest promotion Job of the report, of any step."""
    handled: int | None
    """Delta records handled so far (the promoters' checkpoints), read once the step Job succeeded."""
    lag: dict[str, int] | None
    """Per consumer group, its lag now (read between steps when the rollout has an analysis)."""
    now: datetime


@dataclass(frozen=True)
class RolloutVerdict:
    status: RolloutStatus
    step: RolloutStep | None = None
    """The step Job to create now."""
    reason: str = STEPPED
    message: str = ""
    follow: bool = False
    """A step Job exists for the next step: the promotion's usual follow/retry logic decides."""
    waiting: bool = field(default=False)


def decide_rollout(f: RolloutFacts) -> RolloutVerdict:
    total = len(f.quotas)
    st = f.status or RolloutStatus(total_steps=total, phase="Progressing")
    done = len(st.steps)
    if st.phase in ("Aborted", "Completed"):
        return RolloutVerdict(st, reason=ABORTED if st.phase == "Aborted" else STEPPED, message=st.message or "")
    job = f.job
    if job is not None and job.rollout_step == done + 1:
        if job.state != "Succeeded" or done + 1 == total or f.handled is None:
            return RolloutVerdict(st, follow=True, message=f"step {done + 1}/{total}: Job {job.name}")
        record = RolloutStepStatus(index=done + 1, handled=f.handled, completed_at=format_time(f.now))
        st = st.model_copy(update={"steps": [*st.steps, record]})
        done += 1
    if f.rollout.abort:
        msg = f"aborted after step {done}/{total} by spec.promotion.rollout.abort: the rest is never written"
        return RolloutVerdict(st.model_copy(update={"phase": "Aborted", "message": msg}), reason=ABORTED, message=msg)
    if done == 0:
        return _start(st, f, 1, "first step")
    return _between(st, f, done, total)


def _between(st: RolloutStatus, f: RolloutFacts, done: int, total: int) -> RolloutVerdict:
    """After step `done`: resume a pause a person lifted, wait out the pause, analyse, go on."""
    if st.phase == "Paused":
        if f.rollout.resume_after_step == st.paused_after_step:
            steps = [*st.steps[:-1], st.steps[-1].model_copy(update={"verdict": "Resumed"})]
            resumed = st.model_copy(update={"steps": steps, "phase": "Progressing", "paused_after_step": None})
            return _start(resumed, f, done + 1, f"resumed by spec after step {done}")
        return RolloutVerdict(st, reason=PAUSED, message=st.message or "", waiting=True)
    last = st.steps[-1]
    waited = (f.now - parse_time(last.completed_at)).total_seconds()
    if waited < f.rollout.pause_seconds:  # a stable message: each new one is an Event
        at = format_time(parse_time(last.completed_at) + timedelta(seconds=f.rollout.pause_seconds))
        return RolloutVerdict(st, message=f"step {done}/{total} done; the next starts at {at}", waiting=True)
    analysis = f.rollout.analysis
    if analysis is None:
        return _start(st, f, done + 1, f"step {done}/{total} done")
    if f.lag is None:
        return RolloutVerdict(st, message=f"step {done}/{total} done; reading the consumer groups' lag", waiting=True)
    start = st.lag_at_start or {}
    growth = {g: lag - start.get(g, lag) for g, lag in f.lag.items()}
    over = [
        f"{g}: lag {lag}" + (f" > maxLag {analysis.max_lag}" if analysis.max_lag is not None else "")
        for g, lag in f.lag.items()
        if analysis.max_lag is not None and lag > analysis.max_lag
    ] + [
        f"{g}: lag grew {n} > maxLagGrowth {analysis.max_lag_growth}"
        for g, n in growth.items()
        if analysis.max_lag_growth is not None and n > analysis.max_lag_growth
    ]
    verdict = "Passed" if not over else "Failed: " + "; ".join(over)
    steps = [*st.steps[:-1], last.model_copy(update={"lag": dict(f.lag), "lag_growth": growth, "verdict": verdict})]
    st = st.model_copy(update={"steps": steps})
    if not over:
        return _start(st, f, done + 1, f"step {done}/{total} passed its analysis")
    if f.rollout.on_failure == "Abort":
        msg = f"aborted after step {done}/{total}: {'; '.join(over)}"
        return RolloutVerdict(st.model_copy(update={"phase": "Aborted", "message": msg}), reason=ABORTED, message=msg)
    msg = (
        f"paused after step {done}/{total}: {'; '.join(over)}; set spec.promotion.rollout.resumeAfterStep: {done} "
        "to go on, or abort: true"
    )
    paused = st.model_copy(update={"phase": "Paused", "paused_after_step": done, "message": msg})
    return RolloutVerdict(paused, reason=PAUSED, message=msg, waiting=True)


def _start(st: RolloutStatus, f: RolloutFacts, index: int, why: str) -> RolloutVerdict:
    """Step `index`'s Job: its quota and rate; the lag it starts from, for the growth check."""
    step = RolloutStep(index=index, quota=f.quotas[index - 1], max_records_per_second=f.rollout.max_records_per_second)
    started = st.model_copy(update={"lag_at_start": dict(f.lag) if f.lag is not None else None, "message": None})
    msg = f"{why}: step {index}/{len(f.quotas)} promoting"
    return RolloutVerdict(started, step=step, message=msg)
