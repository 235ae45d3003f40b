"""Across replays, against real Kafka and Redis: the destination's promotion ledger lets no second
replay - sequential or concurrent, any name - write an (event id, content) the sink already got."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.exit_codes import EXIT_DONE, EXIT_RETRIABLE
from support.kafka_tools import read_topic
from support.reconciliation_scenario import DEST_PARTITIONS, SOURCE_PARTITIONS, Scenario
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack


def _delta(report: dict[str, Any]) -> int:
    """What promoting the report writes: the ids changed or missing in the destination."""
    counts = report["report"]["counts"]
    return int(counts["changed"] + counts["missing"])


def _promoted(bootstrap: str, sc: Scenario) -> Counter[str]:
    """Promoted records per id in the destination (committed only)."""
    return Counter(
        rec.key.decode()
        for _, rec in read_topic(bootstrap, sc.destination, DEST_PARTITIONS)
        if rec.key is not None and "er-promoted-by" in rec.headers
    )


def test_a_second_replay_of_a_promoted_window_reports_unchanged_and_writes_nothing(
    steps: StepDriver, kafka_bootstrap: str
) -> None:
    first = steps.build(per_partition=2000, seed=41)
    report = steps.reconciled(first)
    counts = report["report"]["counts"]
    delta = counts["changed"] + counts["missing"]
    assert delta > 0 and counts["alreadyPromoted"] == 0
    assert steps.promoted(first, report["reportHash"])["written"] == delta
    before = _promoted(kafka_bootstrap, first)
    assert set(before) == first.delta and set(before.values()) == {1}

    second = steps.replayed_again(first)
    again = steps.reconciled(second)
    recount = again["report"]["counts"]
    # The existing window (by timestamp) does not see the first promotion; the ledger does.
    assert (recount["changed"], recount["missing"]) == (0, 0)
    assert recount["alreadyPromoted"] == delta
    assert recount["unchanged"] == counts["replayedIds"]
    assert again["reportHash"] != report["reportHash"]
    assert steps.promoted(second, again["reportHash"])["written"] == 0
    assert _promoted(kafka_bootstrap, first) == before
    print(f"second replay: delta {delta} before, {recount['changed'] + recount['missing']} after; wrote 0")


def _until_done(steps: StepDriver, task: Any, deadline: float) -> dict[str, Any]:
    """Run a promoter like a Job with retries: a retriable exit (another promotion's open claim) reruns."""
    proc = steps.start_job(task)
    while True:
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        if proc.returncode == EXIT_DONE:
            return dict(orjson.loads(out))
        assert proc.returncode == EXIT_RETRIABLE, err
        assert "being promoted" in err, err
        assert time.monotonic() < deadline, "concurrent promotions did not settle"
        time.sleep(0.2)
        proc = steps.start_job(task)


def _promote_together(
    steps: StepDriver, replays: tuple[Scenario, ...], reports: list[dict[str, Any]]
) -> tuple[list[int], list[int]]:
    """Start every replay's promoter at once (small transactions, so they interleave); each exit
    retriable on another's open claim reruns, as its Job would. Their counts written and already promoted."""
    tasks = [steps.small_promote_task(sc, r["reportHash"]) for sc, r in zip(replays, reports, strict=True)]
    procs = [steps.start_job(t) for t in tasks]
    deadline = time.monotonic() + 300
    results = []
    for task, proc in zip(tasks, procs, strict=True):
        out, err = proc.communicate(timeout=300)
        if proc.returncode == EXIT_DONE:
            results.append(dict(orjson.loads(out)))
        else:
            assert proc.returncode == EXIT_RETRIABLE, err
            results.append(_until_done(steps, task, deadline))
    return [r["written"] for r in results], [r["alreadyPromoted"] for r in results]


def test_concurrent_replays_of_one_window_both_approved_write_each_correction_once(
    steps: StepDriver, kafka_bootstrap: str
) -> None:
    first, second, reports = steps.replayed_twice(per_partition=3000, seed=43)
    deltas = [_delta(r) for r in reports]
    assert deltas[0] == deltas[1] == len(first.delta) > 0
    before = _promoted(kafka_bootstrap, first)
    assert sum(before.values()) == 0

    written, already = _promote_together(steps, (first, second), reports)
    assert sum(written) == len(first.delta)
    assert [w + a for w, a in zip(written, already, strict=True)] == deltas
    after = _promoted(kafka_bootstrap, first)
    assert set(after) == first.delta
    assert [i for i, n in after.items() if n != 1] == [], "a correction was promoted twice"
    print(f"concurrent: delta {len(first.delta)}; written {written}, already promoted {already}")


def _replayed_ids(bootstrap: str, sc: Scenario) -> set[str]:
    """The event ids a replay's workers wrote into its sandbox."""
    return {rec.key.decode() for _, rec in read_topic(bootstrap, sc.sandbox, SOURCE_PARTITIONS) if rec.key is not None}


def test_concurrent_replays_over_partly_overlapping_windows_write_each_correction_once(
    steps: StepDriver, kafka_bootstrap: str
) -> None:
    per_partition = 2500
    base = steps.build(per_partition=per_partition, seed=53)
    # The first replay covers the first 60 % of each partition, the second the last 60 % of what the
    # generator wrote (the copies appended after it stay out: partition 0's originals win anyway).
    cut_a, cut_b = per_partition * 6 // 10, per_partition * 4 // 10
    first = steps.replayed_again(base, [(0, cut_a)] * SOURCE_PARTITIONS)
    second = steps.replayed_again(base, [(cut_b, per_partition)] * SOURCE_PARTITIONS)
    ids = [_replayed_ids(kafka_bootstrap, sc) for sc in (first, second)]
    both = ids[0] & ids[1]
    assert both and ids[0] - both and ids[1] - both, "the windows must overlap only partly"
    assert ids[0] | ids[1] == set(base.truth)
    own_delta = [base.delta & replayed for replayed in ids]
    assert own_delta[0] & own_delta[1] and own_delta[0] ^ own_delta[1], "corrections in the overlap and outside"

    reports = [steps.reconciled(first), steps.reconciled(second)]  # both reported before either promoted
    for report, delta in zip(reports, own_delta, strict=True):
        counts = report["report"]["counts"]
        assert counts["changed"] + counts["missing"] == len(delta)
        assert counts["alreadyPromoted"] == 0
    before = _promoted(kafka_bootstrap, base)
    assert sum(before.values()) == 0

    written, already = _promote_together(steps, (first, second), reports)
    assert sum(written) == len(base.delta)
    assert [w + a for w, a in zip(written, already, strict=True)] == [len(d) for d in own_delta]
    assert sum(already) <= len(own_delta[0] & own_delta[1])
    after = _promoted(kafka_bootstrap, base)
    assert set(after) == base.delta
    assert [i for i, n in after.items() if n != 1] == [], "a correction was promoted twice"
    # Each promoted record is the replay's truth for its id (the overlap promoted by whichever won).
    promoted = {
        rec.key.decode(): rec.value
        for _, rec in read_topic(kafka_bootstrap, base.destination, DEST_PARTITIONS)
        if rec.key is not None and "er-promoted-by" in rec.headers
    }
    assert all(orjson.loads(v or b"") == orjson.loads(base.truth[i]) for i, v in promoted.items())
    print(
        f"partly overlapping: ids {len(ids[0])} / {len(ids[1])} ({len(both)} shared); deltas "
        f"{len(own_delta[0])} / {len(own_delta[1])} ({len(own_delta[0] & own_delta[1])} shared), union "
        f"{len(base.delta)}; before {sum(before.values())} promoted, written {written}, already promoted "
        f"{already}, after {sum(after.values())} (each id once)"
    )


def test_a_refreshed_report_after_promotion_has_a_new_hash_and_promotes_nothing(
    steps: StepDriver, kafka_bootstrap: str
) -> None:
    sc = steps.build(per_partition=1500, seed=47)
    report = steps.reconciled(sc)
    delta = _delta(report)
    steps.promoted(sc, report["reportHash"])
    before = _promoted(kafka_bootstrap, sc)
    assert sum(before.values()) == delta > 0

    refreshed_task = steps.reconcile_task(sc).model_copy(update={"refresh": 1})
    refreshed = steps.run_job(refreshed_task)
    assert refreshed.returncode == 0, refreshed.stderr
    fresh = orjson.loads(refreshed.stdout)
    assert fresh["reportHash"] != report["reportHash"]  # approval binds to the hash: approve it again
    assert fresh["report"]["plan"]["refresh"] == 1
    recount = fresh["report"]["counts"]
    assert (recount["changed"], recount["missing"], recount["alreadyPromoted"]) == (0, 0, delta)

    stale = steps.run_job(steps.promote_task(sc, report["reportHash"]))  # the old approval no longer promotes
    assert stale.returncode != 0 and "report hash mismatch" in stale.stderr
    assert steps.promoted(sc, fresh["reportHash"])["written"] == 0
    assert _promoted(kafka_bootstrap, sc) == before
