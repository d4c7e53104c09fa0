#!/usr/bin/env bash
# Runs the dashboard's browser tests (Tests/BrowserTests) in headless Chromium against a freshly
# built router-host. Screenshots land in artifacts/screenshots/, process logs in artifacts/logs/.
#   scripts/browser-test.sh            # all browser tests
#   scripts/browser-test.sh legacy     # only tests whose name matches "legacy"
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && [ -z "${CHROMIUM:-}" ]; then
    echo "chromium is not installed: apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)" >&2
    exit 2
fi

swift build --build-tests
filter="BrowserTests"
[ $# -gt 0 ] && filter="BrowserTests.*$1"
status=0
swift test --skip-build --filter "$filter" || status=$?
echo "screenshots:"
ls -1 artifacts/screenshots/ 2>/dev/null | sed 's/^/  artifacts\/screenshots\//' || true
exit $status
