#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client against router-host's echo endpoint and prints the summary.
#   scripts/conformance.sh            all server cases (1-7, 9, 10, 12, 13; ~10 min on 2 cores)
#   QUICK=1 scripts/conformance.sh    skips 9.*, 12.*, 13.* (~15 s)
#   scripts/conformance.sh '6.*,7.*'  selected cases
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${AUTOBAHN_TOOLS:-../shared/tools/autobahn}
[ -d "$TOOLS" ] || { echo "Autobahn tools not found at $TOOLS (set AUTOBAHN_TOOLS)" >&2; exit 2; }

swift build -c release --product router-host >/dev/null
PORT=${PORT:-9901}
CONFIG=$(mktemp)
cat >"$CONFIG" <<JSON
{"server": {"port": $PORT, "echoPath": "/ws/echo"},
 "limits": {"maxFrameBytes": 16777216, "maxMessageBytes": 16777216},
 "heartbeat": {"intervalMs": 600000, "timeoutMs": 600000},
 "compression": {"thresholdBytes": 0},
 "logging": {"level": "warning"}}
JSON
.build/release/router-host --config "$CONFIG" &
HOST_PID=$!
trap 'kill $HOST_PID 2>/dev/null; rm -f "$CONFIG"' EXIT
for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
    sleep 0.1
done
[ -d "${AUTOBAHN_VENV:-$HOME/.cache/autobahn-testsuite-venv}" ] || "$TOOLS/setup.sh"
"$TOOLS/run.sh" "ws://127.0.0.1:$PORT/ws/echo" "$@"
