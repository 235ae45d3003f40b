#!/usr/bin/env bash
# Builds promtool from the Prometheus Go module into ~/.cache/eventreplay/promtool-$PROMETHEUS_VERSION/bin
# (cached): the monitoring tests check and unit-test the chart's alert rules with it.
set -euo pipefail
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
exec bash "$(dirname "$0")/../go_tool.sh" promtool "promtool-$PROMETHEUS_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
