#!/usr/bin/env bash
# Counts the public API of this package's library modules: public types and public declarations per
# module, as the compiler sees them (swift-symbolgraph-extract over the debug build's modules; synthesized
# members and @_spi symbols are not counted, enum cases are). `package` and internal symbols are not counted.
#
#   scripts/public-api-count.sh                  counts for every library module (builds them first)
#   scripts/public-api-count.sh RouterCore ...   only these modules
#   scripts/public-api-count.sh --list ...       also lists each module's public types
#   scripts/public-api-count.sh --all ...        also lists every public declaration
#   NO_BUILD=1 scripts/public-api-count.sh       uses the modules already built
set -euo pipefail
cd "$(dirname "$0")/.."

list=none
case "${1:-}" in
    --list) list=types; shift ;;
    --all) list=all; shift ;;
esac
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(RouterCore RouterTesting RouterClient RouterHost MemoryStore RedisClient RedisMemory
    SearchPlugin CompressionPlugin StreamingPlugin)

if [ -z "${NO_BUILD:-}" ]; then
    for module in "${modules[@]}"; do swift build --target "$module" >&2; done
fi
bin=$(swift build --show-bin-path)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for module in "${modules[@]}"; do
    mkdir -p "$out/$module"
    swift-symbolgraph-extract -module-name "$module" -target "$(uname -m)-unknown-linux-gnu" \
        -I "$bin/Modules" -I Sources/CZlib -I Sources/CLinuxShims \
        -minimum-access-level public -skip-synthesized-members -output-dir "$out/$module" >&2
done

python3 - "$out" "$list" "${modules[@]}" <<'EOF'
import json, os, sys
out, listing, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
TYPES = {"swift.struct", "swift.enum", "swift.class", "swift.protocol", "swift.typealias"}
total_types = total_decls = 0
print(f"{'module':20} {'types':>6} {'decls':>6}")
for module in modules:
    symbols = []
    for name in sorted(os.listdir(os.path.join(out, module))):  # Module.symbols.json + Module@Other.symbols.json
        with open(os.path.join(out, module, name)) as f:
            symbols += json.load(f)["symbols"]
    types = sorted(".".join(s["pathComponents"]) for s in symbols if s["kind"]["identifier"] in TYPES)
    print(f"{module:20} {len(types):6} {len(symbols):6}")
    total_types += len(types)
    total_decls += len(symbols)
    if listing == "types":
        for name in types:
            print(f"    {name}")
    elif listing == "all":
        for s in sorted(symbols, key=lambda s: s["pathComponents"]):
            print(f"    {s['kind']['displayName'].lower():18} {'.'.join(s['pathComponents'])}")
print(f"{'total':20} {total_types:6} {total_decls:6}")
EOF
