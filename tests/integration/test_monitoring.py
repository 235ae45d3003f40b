"""The chart's monitoring kit against a real run: the alert rules checked and unit-tested by promtool
on series scraped from the operator's /metrics, the dashboard's queries naming only scraped metrics,
and a deleted replay's series gone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.chart_render import ChartDriver
from support.operator_driver import OperatorDriver
from support.operator_process import free_port
from support.prom_rules import (
    Sample,
    build_promtool,
    input_series,
    names_of,
    promtool,
    rule_groups,
    samples_of,
    scrape,
    scrape_text,
    series_name,
)
from support.reconciliation_checks import replay_spec
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack

RELEASE = "er"
JOB = f"{RELEASE}-eventreplay-operator-metrics"
"""The scrape job of the chart's metrics Service (a ServiceMonitor names the job after it)."""
BLOCKED = ("EventReplayPoisonBreakerTripped", "EventReplayPartitionsFailed", "EventReplayPromotionBlocked")
WATCH = ("EventReplayWatchGapFound", "EventReplayWatchScansFailing", "EventReplayWatchScanStale")


@pytest.fixture(scope="module")
def promtool_bin() -> Path:
    return build_promtool()


def test_rules_and_dashboard_hold_on_a_real_run_and_a_deleted_replay_leaves_no_series(
    steps: StepDriver, driver: OperatorDriver, chart: ChartDriver, promtool_bin: Path, *, unique: str, tmp_path: Path
) -> None:
    sc = steps.build(per_partition=300, seed=31, run_workers=False)
    port = free_port()
    ours = {"namespace": driver.namespace, "replay": "gated"}
    with driver.running({"EVENTREPLAY_METRICS_PORT": str(port)}):
        driver.create("gated", replay_spec(sc, unique, {"policy": "Manual"}))
        driver.wait_for_replay(
            "gated", lambda r: driver.condition(r, "Promoted").get("reason") == "AwaitingApproval", "the Manual gate"
        )
        waiting = series_name("eventreplay_replay_gate_waiting_seconds", ours)
        driver.wait_for(lambda: value(scrape(port), waiting) > 1, 60, "the gate's waiting seconds")
        text = scrape_text(port)
        samples = samples_of(text)
        driver.k.call("DELETE", f"/apis/eventreplay.io/v1alpha1/namespaces/{driver.namespace}/eventreplays/gated")
        driver.wait_for(lambda: not mine(scrape(port), ours), 60, "the deleted replay's series to go")
    assert mine(samples, ours), "the replay had series while it existed"
    check_rules(chart, promtool_bin, samples, ours, tmp_path)
    check_dashboard(chart, names_of(text))


def value(samples: list[Sample], key: str) -> float:
    return next((v for n, labels, v in samples if series_name(n, labels) == key), 0.0)


def mine(samples: list[Sample], ours: dict[str, str]) -> list[Sample]:
    return [s for s in samples if all(s[1].get(k) == v for k, v in ours.items())]


def expected(rule: dict[str, Any], labels: dict[str, str], value_text: str) -> dict[str, Any]:
    """An alert as promtool reports it: its labels and its annotations with $labels / $value filled in."""
    notes = {}
    for key, template in rule["annotations"].items():
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
        notes[key] = re.sub(r"\{\{ \$value[^}]*\}\}", value_text, text)
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": notes}


def check_rules(chart: ChartDriver, promtool_bin: Path, samples: list[Sample], ours: dict[str, str], tmp: Path) -> None:
    """promtool check rules, then promtool test rules on the scraped series (as run, then flipped)."""
    docs = chart.render(
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "metrics.prometheusRule.gateWaitingSeconds=1",
        release=RELEASE,
    )
    rules_file = rule_groups(docs, tmp)
    assert "SUCCESS: 10 rules found" in promtool(promtool_bin, "check", "rules", str(rules_file))
    rules = {r["alert"]: r for r in yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]}
    waited = value(samples, series_name("eventreplay_replay_gate_waiting_seconds", ours))
    assert waited > 1 and value(samples, series_name("eventreplay_replay_progress_ratio", ours)) == 1.0
    # As scraped (the operator up): only the gate alert fires, with the scraped wait.
    as_run = [*input_series(samples, 20), {"series": series_name("up", {"job": JOB}), "values": "1x20"}]
    held = humanize(float(f"{waited:f}"))  # the value as input_series wrote it
    fired = [
        {"alertname": "EventReplayGateWaiting", "exp_alerts": [expected(rules["EventReplayGateWaiting"], ours, held)]}
    ]
    quiet = [
        {"alertname": name, "exp_alerts": []}
        for name in (*BLOCKED, "EventReplayStalled", "EventReplayNotProgressing", "EventReplayOperatorAbsent", *WATCH)
    ]
    # The same series with the blocking figures flipped, the phase Stalled and the operator gone.
    flips = {series_name(f"eventreplay_replay_{k}", ours): 1.0 for k in ("poison_breaker_tripped", "promotion_blocked")}
    flips[series_name("eventreplay_replay_partitions_failed", ours)] = 2.0
    stalled = [s for s in samples if s[0] != "eventreplay_replay_phase" or s[1].get("namespace") != ours["namespace"]]
    stalled.append(("eventreplay_replay_phase", {**ours, "phase": "Stalled"}, 1.0))
    loud = [
        {"alertname": name, "exp_alerts": [expected(rules[name], ours, "2" if name.endswith("Failed") else "1")]}
        for name in (*BLOCKED, "EventReplayStalled")
    ] + [
        {"alertname": "EventReplayOperatorAbsent", "exp_alerts": [expected(rules["EventReplayOperatorAbsent"], {}, "")]}
    ]
    tests = [
        {
            "interval": "1m",
            "input_series": as_run,
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": a["alertname"], "exp_alerts": a["exp_alerts"]} for a in fired + quiet
            ],
        },
        {
            "interval": "1m",
            "input_series": input_series(stalled, 20, flips),
            "alert_rule_test": [{"eval_time": "10m", **a} for a in loud],
        },
    ]
    test_file = tmp / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}))
    assert "SUCCESS" in promtool(promtool_bin, "test", "rules", str(test_file))


def humanize(seconds: float) -> str:
    """Prometheus' humanizeDuration for a test run's waits (1 s to under an hour): under a minute
    four significant digits (Go's %.4g), from a minute on whole minutes and seconds."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs}s" if minutes else f"{seconds:.4g}s"


def check_dashboard(chart: ChartDriver, scraped: set[str]) -> None:
    """Every metric the dashboard's queries name is in the real scrape."""
    docs = chart.render("--set", "metrics.dashboard.enabled=true", release=RELEASE)
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    dashboard = json.loads(cm["data"]["eventreplay.json"])
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    named = {m for q in queries for m in re.findall(r"\beventreplay_[a-z_]+", q)}
    assert named and named <= scraped, f"not in a real scrape: {sorted(named - scraped)}"


def test_watch_rules_fire_on_a_gap_on_failing_scans_and_on_a_stale_scan(
    chart: ChartDriver, promtool_bin: Path, tmp_path: Path
) -> None:
    """The gap watch's alerts on its series as the operator names them (`operator/watch/metrics.py`):
    quiet for a healthy watch; a gap, repeated failures and an old last scan each fire their alert."""
    docs = chart.render(
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "metrics.prometheusRule.watchFailuresWithin=10m",
        "--set",
        "metrics.prometheusRule.watchScanStaleSeconds=300",
        release=RELEASE,
    )
    rules_file = rule_groups(docs, tmp_path)
    rules = {r["alert"]: r for r in yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]}
    ours = {"namespace": "payments", "watch": "orders"}
    missing = series_name("eventreplay_watch_missing_events", ours)
    last_scan = series_name("eventreplay_watch_last_scan_timestamp_seconds", ours)
    failures = series_name("eventreplay_watch_scan_failures_total", ours)
    healthy = [
        {"series": missing, "values": "0x20"},
        {"series": last_scan, "values": "0+60x20"},  # a scan each minute: never older than a minute
        {"series": failures, "values": "0x20"},
    ]
    broken = [
        {"series": missing, "values": "0 0 0 42x17"},
        {"series": last_scan, "values": "0x20"},  # no successful scan since t=0
        {"series": failures, "values": "0 1 2 3 4 5 6 7 8 9 10x10"},
    ]
    quiet = [{"eval_time": "10m", "alertname": name, "exp_alerts": []} for name in WATCH]
    loud = [
        {
            "eval_time": "10m",
            "alertname": "EventReplayWatchGapFound",
            "exp_alerts": [expected(rules["EventReplayWatchGapFound"], ours, "42")],
        },
        {
            "eval_time": "10m",
            "alertname": "EventReplayWatchScansFailing",
            "exp_alerts": [expected(rules["EventReplayWatchScansFailing"], ours, "10")],
        },
        {
            "eval_time": "10m",
            "alertname": "EventReplayWatchScanStale",
            "exp_alerts": [expected(rules["EventReplayWatchScanStale"], ours, "10m 0s")],
        },
    ]
    tests = [
        {"interval": "1m", "input_series": healthy, "alert_rule_test": quiet},
        {"interval": "1m", "input_series": broken, "alert_rule_test": loud},
    ]
    test_file = tmp_path / "watch_rules_test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}))
    assert "SUCCESS" in promtool(promtool_bin, "test", "rules", str(test_file))
