"""The tests' import boundary, by a scan of the files (no stack needed): no test module imports
another test module, nor anything in tests/integration/ (shared code lives in tests/support/)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
INTEGRATION = TESTS / "integration"


def _test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _imported(path: Path) -> list[str]:
    """Every module name an import statement in the file names (`from x import y` also gives x.y)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def _forbidden(name: str) -> bool:
    """A test module (by its last part, `test_*`) or a module of tests/integration/ (its files or `integration.`)."""
    parts = name.split(".")
    if any(part.startswith("test_") for part in parts) or name.startswith(("integration.", "tests.integration")):
        return True
    return parts[0] != "conftest" and (INTEGRATION / f"{parts[0]}.py").exists()


def test_no_test_module_imports_another_or_the_integration_folder() -> None:
    modules = _test_modules()
    assert Path(__file__).resolve() in modules and any(p.parent.name == "unit" for p in modules), "the scan sees them"
    wrong = {
        str(path.relative_to(TESTS)): found
        for path in modules
        if (found := sorted({name for name in _imported(path) if _forbidden(name)}))
    }
    assert wrong == {}, f"test modules importing test code (move shared code to tests/support/): {wrong}"
