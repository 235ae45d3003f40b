#!/usr/bin/env bash
# Builds promtool from the Prometheus Go module into ~/.cache/eventreplay/promtool-$PROMETHEUS_VERSION/bin
# (cached): the monitoring tests check and unit-test the chart's alert rules with it.
set -euo pipefail
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
OUT="$CACHE/promtool-$PROMETHEUS_VERSION/bin"
if [ -x "$OUT/promtool" ]; then echo "$OUT/promtool"; exit 0; fi
mkdir -p "$OUT"
GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$OUT" \
  go install -trimpath -ldflags "-s -w" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
echo "$OUT/promtool"
