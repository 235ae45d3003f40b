#!/usr/bin/env bash
# Debian's chromium for the HTML report's browser test (tests/integration/test_report_html.py):
# installed with apt when absent; prints its path. Nothing else is cached or downloaded.
set -euo pipefail
found=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$found" ]; then
  sudo_=""
  [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q chromium >&2
  found=$(command -v chromium || command -v chromium-browser)
fi
echo "$found"
