#!/usr/bin/env bash
# Runs every attack of issue 11 against a release router-host while a well-behaved bystander measures
# its request p99, and prints a table: what the server did, bystander p99 during the attack vs idle,
# and peak server RSS. Usage: scripts/abuse-table.sh [PORT]   (needs python3; builds router-host in release)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-0}"   # 0: a free port
swift build -c release --product router-host >/dev/null
BIN="$(swift build -c release --show-bin-path)/router-host"
exec python3 scripts/abuse_table.py "$BIN" "$PORT"
