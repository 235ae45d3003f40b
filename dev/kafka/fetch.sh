#!/usr/bin/env bash
# Copies the Kafka broker's runtime jars from Maven Central into a versioned cache folder.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
VERSION=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$HERE/pom.xml")
OUT="$CACHE/kafka-$VERSION/libs"
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
rm -rf "$OUT"; mkdir -p "$OUT"
mvn -B -q -f "$HERE/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$OUT" >&2
touch "$OUT/.complete"
echo "$OUT"
