#!/usr/bin/env bash
# Builds helm from its Go module into ~/.cache/eventreplay/helm-v$HELM_VERSION/bin (cached).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-3.19.0}"
exec bash "$(dirname "$0")/../go_tool.sh" helm "helm-v$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
