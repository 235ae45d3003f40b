#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping (eventreplay.operator <- operator/ ...), so
# lint type-checks a link tree with the installed layout: .mypy_layout/eventreplay/{operator,...}.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .mypy_layout && mkdir -p .mypy_layout/eventreplay
for f in eventreplay/*.py eventreplay/py.typed; do ln -s "../../$f" ".mypy_layout/$f"; done
for d in operator worker cli; do ln -s "../../$d" ".mypy_layout/eventreplay/$d"; done
