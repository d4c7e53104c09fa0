#!/usr/bin/env bash
# Resume soak (issue 10), not part of CI: CLIENTS RouterClients run text_stats operations (the
# example Python plugin, a pause per paragraph) back to back against a release router-host for
# DURATION seconds, each dropping its socket at random (mean MEAN_DROP_MS, no close frame), so
# sessions detach and resume all the time. Prints operations started, completed exactly once,
# lost (must be 0), duplicated (must be 0), resumes by outcome and the host's peak RSS; exits 1
# when anything was lost, duplicated or out of order.
#   scripts/soak-resume.sh                       200 clients, 600 s
#   DURATION=60 CLIENTS=50 scripts/soak-resume.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600}
CLIENTS=${CLIENTS:-200}
MEAN_DROP_MS=${MEAN_DROP_MS:-5000}
PORT=${PORT:-18799}
swift build -c release --product router-host >/dev/null
swift build -c release --product router-bench >/dev/null

config=$(mktemp /tmp/soak-resume-XXXXXX.json)
log=$(mktemp /tmp/soak-resume-host-XXXXXX.log)
cat >"$config" <<JSON
{"server": {"host": "127.0.0.1", "port": $PORT},
 "limits": {"maxInFlightTotal": 4096},
 "logging": {"level": "warning"},
 "memory": {"loadSamples": false},
 "plugins": [{"name": "text-stats", "command": ["python3", "$PWD/examples/text_stats_plugin.py"],
              "messageTypes": ["text_stats"], "env": {"PYTHONUNBUFFERED": "1"}}]}
JSON
.build/release/router-host --config "$config" 2>"$log" &
host=$!
trap 'kill "$host" 2>/dev/null; wait "$host" 2>/dev/null; rm -f "$config"' EXIT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
echo "# router-host pid $host (log: $log), $(nproc) cores"
.build/release/router-bench soak-resume --url "ws://127.0.0.1:$PORT/ws/memory" --clients "$CLIENTS" \
    --seconds "$DURATION" --mean-drop-ms "$MEAN_DROP_MS" --server-pid "$host"
