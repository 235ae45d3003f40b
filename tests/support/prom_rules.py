"""promtool (built by dev/promtool/build.sh) and the pieces its rule tests are made of: a scrape of the
operator's /metrics as promtool input series, and the chart's rendered PrometheusRule as a rules file."""

from __future__ import annotations

import math
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from devstack import config

Sample = tuple[str, dict[str, str], float]


def build_promtool() -> Path:
    """The promtool binary; a failed build fails loudly with the end of its log (never a skip)."""
    out = subprocess.run(["bash", str(config.REPO / "dev" / "promtool" / "build.sh")], capture_output=True, text=True)
    assert out.returncode == 0, f"building promtool failed:\n{out.stderr[-3000:]}"
    return Path(out.stdout.strip().splitlines()[-1])


def scrape_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def samples_of(text: str) -> list[Sample]:
    """Every sample of a scrape (name, labels, value)."""
    return [(s.name, dict(s.labels), float(s.value)) for f in text_string_to_metric_families(text) for s in f.samples]


def scrape(port: int) -> list[Sample]:
    return samples_of(scrape_text(port))


def names_of(text: str) -> set[str]:
    """Every metric name a scrape shows: its samples' and its declared families' (a counter that never
    counted has its `# TYPE` line and no sample)."""
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return declared | {name for name, _, _ in samples_of(text)}


def series_name(name: str, labels: dict[str, str]) -> str:
    """`name{a="b",...}` as promtool's input_series names a series."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def input_series(samples: list[Sample], minutes: int, override: dict[str, float] | None = None) -> list[dict[str, str]]:
    """Each scraped sample held for `minutes` (one point a minute); `override` sets some series'
    values (by series_name) to what the scenario under test needs. Values are written without an
    exponent (`1e+09` would read as promtool's `a+b` notation)."""
    out = []
    for name, labels, value in samples:
        if name.endswith("_created") or not math.isfinite(value):  # creation stamps, NaN: nothing to alert on
            continue
        key = series_name(name, labels)
        held = (override or {}).get(key, value)
        out.append({"series": key, "values": f"{held:f}x{minutes}"})
    return out


def rule_groups(docs: list[dict[str, Any]], folder: Path) -> Path:
    """The rendered PrometheusRule's groups as a Prometheus rules file."""
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def promtool(binary: Path, *args: str) -> str:
    out = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"promtool {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout
