"""The kubectl habits of the CLI: one -o option, --version, completion scripts, the approval patch for Git."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from prometheus_client import REGISTRY
from summary_fixtures import report_summary

from eventreplay import installed_version
from eventreplay.cli import approve, completion, output
from eventreplay.cli.__main__ import _parser
from eventreplay.cli.errors import EXIT_REFUSED, CliError
from eventreplay.operator import metrics
from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.steps.reconciliation import reconciliation_from
from eventreplay.worker.contract.summaries import PlannedRange, ReportSummary

PRINTS_OBJECTS = ("plan", "run", "gaps", "status", "approve")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", PRINTS_OBJECTS)
def test_every_command_that_prints_objects_takes_the_one_output_option(command: str) -> None:
    found = next(a for a in _subcommands()[command]._actions if "--output" in a.option_strings)
    assert found.option_strings == ["-o", "--output"]
    assert tuple(found.choices or ())[:3] == ("table", "json", "yaml") and found.default == "table"


def test_text_is_still_understood_as_table() -> None:
    assert _parser().parse_args(["status", "r", "-o", "text"]).output == "table"
    assert _parser().parse_args(["gaps", "m.yaml", "-o", "manifests"]).output == "manifests"
    with pytest.raises(SystemExit):
        _parser().parse_args(["status", "r", "-o", "manifests"])


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f" {installed_version()}")


def test_the_operator_exports_its_version_as_a_label() -> None:
    assert metrics.BUILD_INFO is not None
    assert REGISTRY.get_sample_value("eventreplay_build_info", {"version": installed_version()}) == 1.0


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_machine_formats_round_trip(fmt: str) -> None:
    data = {"b": 1, "a": {"list": [1, "two"]}}
    text = output.dump(data, fmt)
    assert (json.loads(text) if fmt == "json" else yaml.safe_load(text)) == data
    assert output.machine(fmt) and not output.machine("table")


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_each_script_names_every_subcommand_and_flag(shell: str) -> None:
    script = completion.render(_parser(), shell)
    for name, child in _subcommands().items():
        assert name in script
        for action in child._actions:
            for flag in action.option_strings:
                spelled = flag.lstrip("-") if shell == "fish" else flag  # fish: -l output / -s o
                assert spelled in script, (name, flag)
    assert "table json yaml" in script and "bash zsh fish" in script and "--version" in script.replace("-l ", "--")


def _bash_complete(script: Path, *words: str) -> list[str]:
    """COMPREPLY of the generated function for the command line `words` (the last one being completed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f'source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _eventreplay; echo "${{COMPREPLY[*]}}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_bash_script_loads_and_completes_commands_flags_and_values(tmp_path: Path) -> None:
    script = tmp_path / "eventreplay.bash"
    script.write_text(completion.render(_parser(), "bash"))
    loaded = subprocess.run(
        ["bash", "-c", f"source {script} && complete -p eventreplay kubectl-eventreplay"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "-F _eventreplay eventreplay" in loaded.stdout and "kubectl-eventreplay" in loaded.stdout
    assert _bash_complete(script, "eventreplay", "sta") == ["status"]
    assert _bash_complete(script, "kubectl-eventreplay", "approve", "r", "--dr") == ["--dry-run"]
    assert _bash_complete(script, "eventreplay", "status", "r", "-o", "") == ["table", "json", "yaml"]
    assert _bash_complete(script, "eventreplay", "completion", "") == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_the_other_scripts_parse_where_the_shell_is_installed(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"eventreplay.{shell}"
    script.write_text(completion.render(_parser(), shell))
    subprocess.run([shell, "-n", str(script)], check=True)


def _replay(**promotion: Any) -> dict[str, Any]:
    return {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "orders", "namespace": "shop", "resourceVersion": "7"},
        "spec": {"promotion": promotion},
        "status": {"reconciliation": {"reportHash": "abc123"}},
    }


def test_the_dry_run_patch_names_its_object_the_hash_and_the_approver() -> None:
    patch = approve.gitops_patch(
        _replay(), approve.approvable_report(_replay(), None), "system:serviceaccount:argocd:x"
    )
    assert patch == {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {
            "name": "orders",
            "namespace": "shop",
            "annotations": {APPROVED_BY: "system:serviceaccount:argocd:x"},
        },
        "spec": {"promotion": {"approvedReportHash": "abc123"}},
    }
    # What the live approve applies is the same patch (plus resourceVersion there): one definition.
    assert approve.approval_patch("abc123", "bob")["spec"] == patch["spec"]
    assert "annotations" not in approve.gitops_patch(_replay(), "abc123", None)["metadata"]


@pytest.mark.parametrize(
    ("replay", "expected", "says"),
    [
        (_replay(policy="Auto"), None, "promotion policy Auto"),
        ({**_replay(), "status": {}}, None, "no reconciliation report yet"),
        (_replay(), "other", "is abc123, not other"),
    ],
)
def test_nothing_to_approve_is_refused(replay: dict[str, Any], expected: str | None, says: str) -> None:
    with pytest.raises(CliError) as refused:
        approve.approvable_report(replay, expected)
    assert refused.value.code == EXIT_REFUSED and says in refused.value.message


def test_status_reconciliation_names_where_the_report_records_are() -> None:
    summary = ReportSummary.from_json(report_summary())
    assert reconciliation_from(summary, "job").report_partitions is None  # a summary from before
    ranges = [PlannedRange(partition=1, start_offset=4, end_offset=9)]
    status = reconciliation_from(msgspec.structs.replace(summary, report_ranges=ranges), "job")
    assert status.report_topic == summary.report_topic
    dumped = status.model_dump(by_alias=True, exclude_none=True)
    assert dumped["reportPartitions"] == [{"partition": 1, "startOffset": 4, "endOffset": 9}]
