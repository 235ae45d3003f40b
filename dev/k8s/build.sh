#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl (the default) or the commands named as
# arguments (e.g. `build.sh kubelet`) from the k8s.io/kubernetes Go module.
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with local
# paths), so this wrapper module repeats those replaces with the published v0.X.Y versions.
# Output is cached under ~/.cache/eventreplay/k8s-v$K8S_VERSION/bin, keyed by version.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-1.34.4}"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
OUT="$CACHE/k8s-v$K8S_VERSION/bin"
CMDS=("$@")
[ ${#CMDS[@]} -gt 0 ] || CMDS=(kube-apiserver kube-controller-manager kubectl)
MISSING=()
for cmd in "${CMDS[@]}"; do [ -x "$OUT/$cmd" ] || MISSING+=("$cmd"); done
if [ ${#MISSING[@]} -eq 0 ]; then
  echo "$OUT"; exit 0
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$CACHE/k8s-v$K8S_VERSION/src"
mkdir -p "$WORK" "$OUT"
cp "$HERE/go.mod.in" "$WORK/go.mod"
cd "$WORK"
STG="v0.${K8S_VERSION#1.}"
MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
sed -i "s/@K8S@/v$K8S_VERSION/g; s/@STG@/$STG/g" go.mod
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
go mod download k8s.io/kubernetes >&2
PKGS=("${MISSING[@]/#/k8s.io/kubernetes/cmd/}")
go get "${PKGS[@]/%/@v$K8S_VERSION}" >&2
LDF="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"
# Only the missing commands: a cache with the control plane gains a kubelet without a rebuild.
CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "$LDF" -o "$OUT/" "${PKGS[@]}" >&2
echo "$OUT"
