"""`eventreplay report` on a real replay's report: every id listed, and the HTML page in a real browser.

The operator replays the seeded scenario to a report behind a Manual gate; the CLI lists the
report (changed, missing and extra ids) and renders the page; headless chromium opens it with the
network off: the scripts ran, every chart drew, and every figure on the page equals the replay's
status.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devstack import config
from support.browser import chromium, dump_dom, screenshot
from support.cli_run import cli
from support.operator_driver import OperatorDriver
from support.reconciliation_checks import replay_spec
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack
FIGURES = ("changed", "missing", "extra", "unchanged", "replayedIds", "existingIds", "duplicates", "superseded")


def test_report_lists_every_delta_and_extra_id_and_its_page_draws_in_a_browser(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, unique: str, tmp_path: Path
) -> None:
    browser = chromium()  # first: a missing browser fails fast, before the replay
    sc = steps.build(per_partition=400, seed=29, run_workers=False)
    env = {"KUBECONFIG": str(config.kubeconfig_path())}
    with driver.running():
        driver.create("report", replay_spec(sc, unique, {"policy": "Manual"}))
        got = driver.wait_for_condition("report", "Reconciled", timeout=300)
        # Read while the replay exists: the block's end deletes it.
        rec = got["status"]["reconciliation"]
        assert rec["changed"] + rec["missing"] > 0

        listed = cli("report", "report", "-n", namespace, "-o", "json", env=env)
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert sum(r["class"] == "changed" for r in rows) == rec["changed"]
        assert sum(r["class"] == "missing" for r in rows) == rec["missing"]
        extra = [r for r in rows if r["class"] == "extra"]  # the report topic lists them too
        assert {r["id"] for r in extra} == sc.extra and len(extra) == rec["extra"] > 0
        assert all(r["existing"]["event_id"] == r["id"] and "partition" not in r for r in extra)
        assert len({r["id"] for r in rows}) == len(rows)
        assert all(r["changes"] for r in rows if r["class"] == "changed")  # a changed id differs in some field

        page = tmp_path / "report.html"
        made = cli("report", "report", "-n", namespace, "--html", str(page), env=env)
        assert made.returncode == 0, made.stderr
        dom = dump_dom(browser, page)
        assert 'data-ready="true"' in dom  # the inline script ran with the network off
        drawn = re.findall(r'<svg [^>]*data-chart="([^"]+)"[^>]*data-drawn="(\d+)"', dom)
        charts = dict(drawn)
        assert set(charts) == {"timeline", "partitions", "fields", "dead-letters"}
        assert all(int(charts[c]) > 0 for c in ("timeline", "partitions", "fields")), charts
        if (got["status"].get("totals") or {}).get("deadLetterReasons"):
            assert int(charts["dead-letters"]) > 0
        figures = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', dom))
        for name in FIGURES:
            assert figures[name] == str(rec.get(name, 0)), name
        for name in ("changed", "missing", "extra"):  # counted from the report topic, equal to status
            assert figures[f"listed-{name}"] == str(rec[name]), name
        assert figures["reportHash"] == rec["reportHash"]
        assert figures["planHash"] == got["status"]["plan"]["hash"]
        assert figures["approval"].startswith("awaiting approval")
        assert screenshot(browser, page, tmp_path / "report.png").stat().st_size > 10_000
