#!/usr/bin/env bash
# Search against real engines (issue 13): the corpus and queries of `router-bench search`, exported with
# `router-bench export`, through tantivy (BM25), SQLite FTS5 (bm25(), Python's own sqlite3) and faiss-cpu
# IndexFlatIP (exact inner product on normalised vectors = cosine), side by side with `router-bench search`
# in BM25-only and cosine-only modes, both through the request path (`router`: what a client gets, with
# highlights and result encoding) and as a bare SearchSnapshot.search call (`router-store`: the part that
# compares with a bare engine call). Everything single-threaded and pinned with taskset to one core;
# engines interleaved (router, tantivy, fts5, faiss, repeat) for ROUNDS rounds; the table shows medians
# over rounds. Index/build time is reported separately and never counted in query latency.
#
#   ENTRIES="100000 1000000" ROUNDS=3 ITERATIONS=100 CPU=1 scripts/bench-search-anchors.sh
#
# ENTRIES     corpus sizes (default 100000)          ROUNDS      interleaved rounds (default 3)
# ITERATIONS  timed queries per engine and round (default 100, after 3 warm-up queries; 64 distinct queries)
# CPU         the core everything is pinned to (default 1)
# VENV        Python venv, created with tantivy, faiss-cpu, numpy from PyPI if missing
#             (default ~/.cache/memory-router-anchors-venv)
# DATA        exported corpora and built indexes (default ~/.cache/memory-router-search-anchors; 1 M ≈ 2 GB)
set -euo pipefail
cd "$(dirname "$0")/.."

ENTRIES=${ENTRIES:-100000}
ROUNDS=${ROUNDS:-3}
ITERATIONS=${ITERATIONS:-100}
CPU=${CPU:-1}
VENV=${VENV:-$HOME/.cache/memory-router-anchors-venv}
DATA=${DATA:-$HOME/.cache/memory-router-search-anchors}
PIN=(taskset -c "$CPU")

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tantivy, faiss, numpy" 2>/dev/null; then
    echo "creating $VENV (tantivy, faiss-cpu, numpy from PyPI)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q tantivy faiss-cpu numpy
fi
PY="$VENV/bin/python"
ANCHORS=scripts/search_anchors.py

swift build -c release --product router-bench >/dev/null
BENCH="$(swift build -c release --show-bin-path)/router-bench"

RESULTS=$(mktemp)
BUILDS=$(mktemp)
ROUTER_OUT=$(mktemp)
trap 'rm -f "$RESULTS" "$BUILDS" "$ROUTER_OUT"' EXIT

echo "setup: $(nproc) cores, pinned to CPU $CPU, load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$PY" -c 'import sys, sqlite3; from importlib.metadata import version as v; print("python", sys.version.split()[0], "tantivy", v("tantivy"), "faiss-cpu", v("faiss-cpu"), "numpy", v("numpy"), "sqlite", sqlite3.sqlite_version)')"

for N in $ENTRIES; do
    CORPUS="$DATA/corpus-$N"
    if ! grep -q "\"entries\":$N," "$CORPUS/manifest.json" 2>/dev/null; then
        "$BENCH" export --directory "$CORPUS" --entries "$N"
    fi
    for engine in tantivy fts5; do
        "${PIN[@]}" "$PY" "$ANCHORS" build "$engine" "$CORPUS" "$DATA/index-$N/$engine" | tee -a "$BUILDS"
    done
    for round in $(seq 1 "$ROUNDS"); do
        echo "== $N entries, round $round/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))"
        "${PIN[@]}" "$BENCH" search --sizes "$N" --modes bm25,cosine --store-modes bm25,cosine --no-cancel --no-index \
            --iterations "$ITERATIONS" >"$ROUTER_OUT"
        "$PY" "$ANCHORS" router "$ROUTER_OUT" | tee -a "$RESULTS"
        for engine in tantivy fts5 faiss; do
            "${PIN[@]}" "$PY" "$ANCHORS" query "$engine" "$CORPUS" "$DATA/index-$N/$engine" "$ITERATIONS" \
                2>/dev/null | tee -a "$RESULTS"
        done
    done
done

echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "index/build (separate from query latency): tantivy and fts5 built once per size on disk (BUILD engine entries seconds):"
sed 's/^/  /' "$BUILDS"
echo "  last column below, per round: router = in-memory index build (after generating the corpus), faiss = load +"
echo "  normalise + IndexFlatIP.add, tantivy/fts5 = opening the prebuilt index"
echo
"$PY" "$ANCHORS" table "$RESULTS"
