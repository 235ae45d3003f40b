#!/usr/bin/env bash
# Builds the local schema registry (Apicurio, see pom.xml) from Maven Central into a cache folder
# keyed by the pom, ~/.cache/eventreplay/registry-<version>-<key>/. Prints the runnable jar.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${EVENTREPLAY_CACHE:-$HOME/.cache/eventreplay}"
VERSION=$(sed -n 's|.*<apicurio.version>\(.*\)</apicurio.version>.*|\1|p' "$HERE/pom.xml")
KEY=$(sha256sum "$HERE/pom.xml" | cut -c1-12)
OUT="$CACHE/registry-$VERSION-$KEY"
JAR="$OUT/app/registry-1.0-runner.jar"
if [ -f "$OUT/.complete" ]; then echo "$JAR"; exit 0; fi
rm -rf "$OUT"; mkdir -p "$OUT/build"
cp "$HERE/pom.xml" "$OUT/build/pom.xml"
# -DskipDefault: the parent pom's profile that adds repositories other than Maven Central.
MAVEN_OPTS="${MAVEN_OPTS:--Xmx1500m}" mvn -B -q -f "$OUT/build/pom.xml" -DskipDefault -DskipTests package >&2
mkdir -p "$OUT/app"
cp "$OUT/build/target/registry-1.0-runner.jar" "$OUT/app/"
cp -r "$OUT/build/target/lib" "$OUT/app/lib"
rm -rf "$OUT/build"
touch "$OUT/.complete"
echo "$JAR"
