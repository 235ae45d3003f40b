"""The worker stands alone; the operator and the CLI reach it only through its contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "eventreplay.worker.contract"


def imported_modules(path: Path, package: str) -> list[str]:
    """Absolute names of every module `path` imports (relative imports resolved within `package`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = [package, *path.relative_to(ROOT).parent.parts[1:]]
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from eventreplay.worker import engine` imports a submodule: name it.
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def is_worker(module: str) -> bool:
    return module == "eventreplay.worker" or module.startswith("eventreplay.worker.")


def is_contract(module: str) -> bool:
    return module == CONTRACT or module.startswith(f"{CONTRACT}.")


@pytest.mark.parametrize("path", sources("worker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_worker_imports_nothing_of_the_operator_or_the_cli(path: Path) -> None:
    bad = [
        m
        for m in imported_modules(path, "eventreplay.worker")
        if m.startswith(("eventreplay.operator", "eventreplay.cli"))
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    ("path", "package"),
    [(p, "eventreplay.operator") for p in sources("operator")] + [(p, "eventreplay.cli") for p in sources("cli")],
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_the_operator_and_the_cli_import_only_the_workers_contract(path: Path, package: str) -> None:
    bad = [m for m in imported_modules(path, package) if is_worker(m) and not is_contract(m)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: only {CONTRACT} crosses the boundary"


def test_the_scan_sees_relative_and_submodule_imports(tmp_path: Path) -> None:
    # The scan itself must catch the forms a violation would take.
    assert is_worker("eventreplay.worker.replay.engine") and not is_contract("eventreplay.worker.replay.engine")
    assert is_contract("eventreplay.worker.contract.names") and not is_contract("eventreplay.worker.contractual")
    found = imported_modules(ROOT / "operator" / "jobs.py", "eventreplay.operator")
    assert "eventreplay.operator.config.OperatorConfig" in found
    assert any(is_contract(m) for m in found)


JOB_WINGS = ("replay", "windows", "reconciliation", "promotion", "gaps")
"""One wing per Job; `ledger`, `runtime` and `contract` are shared by them."""


def wing_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["eventreplay", "worker"] else None


@pytest.mark.parametrize("path", sources("worker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_wing_imports_no_other_jobs_wing(path: Path) -> None:
    own = path.relative_to(ROOT / "worker").parts[0]
    bad = [
        m
        for m in imported_modules(path, "eventreplay.worker")
        if wing_of(m) in JOB_WINGS and wing_of(m) != own and own != "jobs.py"
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: a Job's wing shares only runtime, ledger and contract"


def test_every_worker_module_is_in_a_wing() -> None:
    loose = {p.name for p in (ROOT / "worker").glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "jobs.py"}, f"worker modules outside a wing: {loose}"
    wings = {p.name for p in (ROOT / "worker").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert wings == {*JOB_WINGS, "ledger", "runtime", "contract"}
