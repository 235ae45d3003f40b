#!/usr/bin/env bash
# A local Flink for the exported SQL: the runtime jars from Maven Central and RunSql compiled
# against them, cached in ~/.cache/eventreplay/flink-<version>/ (libs/ and classes/). Prints the
# classpath to run `java -cp <it> RunSql SCRIPT.sql`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
VERSION=$(sed -n 's|.*<flink.version>\(.*\)</flink.version>.*|\1|p' "$HERE/pom.xml")
OUT="$CACHE/flink-$VERSION"
KEY=$(cat "$HERE/pom.xml" "$HERE/RunSql.java" | sha256sum | cut -c1-16)
if [ ! -f "$OUT/.complete-$KEY" ]; then
  rm -rf "$OUT"; mkdir -p "$OUT/libs" "$OUT/classes"
  mvn -B -q -f "$HERE/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$OUT/libs" >&2
  javac -d "$OUT/classes" -cp "$OUT/libs/*" "$HERE/RunSql.java" >&2
  touch "$OUT/.complete-$KEY"
fi
echo "$OUT/classes:$OUT/libs/*"
