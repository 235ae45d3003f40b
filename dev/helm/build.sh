#!/usr/bin/env bash
# Builds helm from its Go module into ~/.cache/eventreplay/helm-v$HELM_VERSION/bin (cached).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-3.19.0}"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
OUT="$CACHE/helm-v$HELM_VERSION/bin"
if [ -x "$OUT/helm" ]; then echo "$OUT/helm"; exit 0; fi
mkdir -p "$OUT"
GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$OUT" \
  go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
echo "$OUT/helm"
