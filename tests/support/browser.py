"""Headless Debian chromium for page tests: installed by dev/browser/install.sh, run with the network off."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ("--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")
HEADLESS = ("--headless=new", "--disable-gpu", "--no-sandbox", *OFFLINE)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def chromium() -> str:
    """The browser's path (installed with apt when absent); a failure fails the test with the log tail."""
    done = subprocess.run(
        ["bash", str(ROOT / "dev" / "browser" / "install.sh")], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"chromium could not be installed (exit {done.returncode}):\n{_tail(done.stderr)}")
    return done.stdout.strip().splitlines()[-1]


def _run(browser: str, args: list[str], page: Path) -> str:
    done = subprocess.run(
        [browser, *HEADLESS, *args, page.resolve().as_uri()], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        pytest.fail(f"chromium failed (exit {done.returncode}):\n{_tail(done.stderr)}")
    return done.stdout


def dump_dom(browser: str, page: Path) -> str:
    """The DOM after the page's scripts ran."""
    return _run(browser, ["--dump-dom"], page)


def screenshot(browser: str, page: Path, out: Path) -> Path:
    _run(browser, [f"--screenshot={out}", "--window-size=1280,2000"], page)
    if not out.exists() or out.stat().st_size == 0:
        pytest.fail(f"chromium wrote no screenshot at {out}")
    return out
