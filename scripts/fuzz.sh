#!/usr/bin/env bash
# Builds and runs one libFuzzer target (Fuzz/Targets/<target>.swift) with AddressSanitizer.
#
#   scripts/fuzz.sh                      list the targets
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#                                        build TARGET and fuzz it for SECONDS; new inputs go to
#                                        .build-fuzz/corpus/TARGET, crashes to .build-fuzz/artifacts/TARGET/
#   scripts/fuzz.sh TARGET run FILE...   build TARGET and run it once on each FILE (reproduce a crash)
#   scripts/fuzz.sh seeds                regenerate Fuzz/Corpus (the committed seeds)
#
# The targets are compiled here with swiftc, not by SwiftPM, so `swift build` and `swift test` never see
# them: the module under test (RouterCore or MemoryStore) is compiled once into .build-fuzz with
# `-sanitize=fuzzer,address -enable-testing`, and each target `@testable import`s it. No source changes.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH=/opt/swift/usr/bin:$PATH
BUILD=.build-fuzz
FLAGS=(-O -g -sanitize=fuzzer,address -swift-version 6
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
    -enable-upcoming-feature InternalImportsByDefault)

# target -> the module it tests
declare -A MODULE=(
    [http-head]=RouterCore [frames]=RouterCore [utf8]=RouterCore [inflate]=RouterCore
    [extension-header]=RouterCore [client-message]=RouterCore [log-reader]=MemoryStore
)

list() {
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...] | TARGET run FILE... | seeds"
    echo "targets:"
    for target in $(printf '%s\n' "${!MODULE[@]}" | sort); do
        echo "  $target ($(head -1 "Fuzz/Targets/$target.swift" | sed 's|^// Fuzz target: ||'))"
    done
}

# Compiles Sources/$1 into $BUILD/lib$1.a (+ its module) when a source is newer than the library.
build_module() {
    local module=$1 library=$BUILD/lib$1.a
    mkdir -p "$BUILD"
    if [ -f "$library" ] && [ -z "$(find "Sources/$module" -name '*.swift' -newer "$library" | head -1)" ]; then
        return
    fi
    echo "building $module with -sanitize=fuzzer,address (a few minutes)..." >&2
    swiftc -emit-library -static -emit-module -wmo -num-threads 2 -parse-as-library -enable-testing \
        -module-name "$module" -package-name MemoryRouter "${FLAGS[@]}" \
        -I Sources/CZlib -I Sources/CLinuxShims \
        -emit-module-path "$BUILD/$module.swiftmodule" -o "$library" \
        $(find "Sources/$module" -name '*.swift' | sort) 2>&1 | grep -v "Cannot export local symbol" >&2 || true
    [ -f "$library" ] || { echo "building $module failed" >&2; exit 1; }
    touch "$library"
}

build_target() {
    local target=$1 module=${MODULE[$1]}
    build_module "$module"
    local binary=$BUILD/$target
    if [ -f "$binary" ] && [ "$binary" -nt "$BUILD/lib$module.a" ] && [ "$binary" -nt "Fuzz/Targets/$target.swift" ] \
        && [ "$binary" -nt Fuzz/Support/FuzzInput.swift ]; then
        return
    fi
    echo "building fuzz target $target..." >&2
    swiftc -parse-as-library "${FLAGS[@]}" -I "$BUILD" -I Sources/CZlib -I Sources/CLinuxShims \
        Fuzz/Support/FuzzInput.swift "Fuzz/Targets/$target.swift" "$BUILD/lib$module.a" -lz -o "$binary" \
        2>&1 | grep -v "Cannot export local symbol" >&2 || true
    [ -x "$binary" ] || { echo "building $target failed" >&2; exit 1; }
}

seeds() {
    python3 Fuzz/Seeds/make-seeds.py
    mkdir -p "$BUILD/make-log" Fuzz/Corpus/log-reader
    cp Fuzz/Seeds/make-log.swift "$BUILD/make-log/main.swift"
    swiftc -module-name MemoryStore -swift-version 6 $(find Sources/MemoryStore -name '*.swift' | sort) \
        "$BUILD/make-log/main.swift" -o "$BUILD/make-log/make-log"
    "$BUILD/make-log/make-log" Fuzz/Corpus/log-reader
    echo "seeds written to Fuzz/Corpus"
}

if [ $# -eq 0 ]; then list; exit 0; fi
if [ "$1" = seeds ]; then seeds; exit 0; fi
target=$1
[ -n "${MODULE[$target]:-}" ] || { echo "unknown target '$target'" >&2; list >&2; exit 2; }
[ $# -ge 2 ] || { list >&2; exit 2; }
build_target "$target"
if [ "$2" = run ]; then
    shift 2
    exec "$BUILD/$target" "$@"
fi
seconds=$2
shift 2
mkdir -p "$BUILD/corpus/$target" "$BUILD/artifacts/$target"
# New inputs are written to the first directory; the committed seeds are only read.
exec "$BUILD/$target" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$BUILD/artifacts/$target/" "$@" "$BUILD/corpus/$target" "Fuzz/Corpus/$target"
