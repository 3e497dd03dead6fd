#!/bin/sh
# tests/check_deps.sh: enforce the one-way include layering
# (../shared/docs/HOUSE_STYLE.md A.1). Project headers are included as
# "dir/file.h" from the repository root.
#
#   simd/     -> simd/ only (plus libc, libm, intrinsics)
#   core/     -> core/, simd/
#   data/     -> data/, core/
#   methods/  -> methods/, core/, simd/
#   eval/     -> eval/, core/, simd/
#   cli/      -> cli/, core/, simd/, data/, methods/, eval/
#   tests/, bench/ -> anything; nothing includes tests/ or bench/ except
#                     themselves.
# Exit status 1 and one line per violation when the layering is broken.
cd "$(dirname "$0")/.." || exit 2
allowed() {
    case "$1" in
    simd) echo "simd" ;;
    core) echo "core simd" ;;
    data) echo "data core" ;;
    methods) echo "methods core simd" ;;
    eval) echo "eval core simd" ;;
    cli) echo "cli core simd data methods eval" ;;
    tests) echo "tests core simd data methods eval cli bench" ;;
    bench) echo "bench core simd data methods eval tests" ;;
    esac
}
bad=0
for dir in simd core data methods eval cli tests bench; do
    [ -d "$dir" ] || continue
    ok=$(allowed "$dir")
    for f in $(find "$dir" -name '*.c' -o -name '*.h'); do
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        while IFS= read -r line; do
            inc=$(echo "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
            top=${inc%%/*}
            [ "$top" = "$inc" ] && top="(none)"
            case " $ok " in
            *" $top "*) ;;
            *)
                # test_suites.h is generated into the build folder
                [ "$dir" = tests ] && [ "$inc" = test_suites.h ] && continue
                echo "check-deps: $f:${line%%:*}: $dir/ may not include \"$inc\" (allowed: $ok)"
                echo x >> "${TMPDIR:-/tmp}/cprune_check_deps.$$"
                ;;
            esac
        done
    done
done
if [ -s "${TMPDIR:-/tmp}/cprune_check_deps.$$" ]; then
    rm -f "${TMPDIR:-/tmp}/cprune_check_deps.$$"
    exit 1
fi
rm -f "${TMPDIR:-/tmp}/cprune_check_deps.$$"
echo "check-deps: layering ok"
