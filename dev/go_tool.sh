#!/usr/bin/env bash
# Builds one command from its Go module with `go install` into ~/.cache/eventreplay/DIR/bin (cached,
# so a second call only prints the path) and prints the binary's path. Used by dev/helm/build.sh and
# dev/promtool/build.sh.
# Usage: go_tool.sh NAME DIR PACKAGE@VERSION [-X ... ldflags besides -s -w]
set -euo pipefail
NAME="$1" DIR="$2" PACKAGE="$3" EXTRA_LDFLAGS="${4:-}"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
OUT="$CACHE/$DIR/bin"
if [ -x "$OUT/$NAME" ]; then echo "$OUT/$NAME"; exit 0; fi
mkdir -p "$OUT"
GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$OUT" \
  go install -trimpath -ldflags "-s -w${EXTRA_LDFLAGS:+ $EXTRA_LDFLAGS}" "$PACKAGE" >&2
echo "$OUT/$NAME"
