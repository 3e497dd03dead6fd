# tests/cli_common.sh: the prelude of the CLI test scripts, sourced after
# setting NAME (the script's name in messages):
#   . "$(dirname "$0")/cli_common.sh"
# Sets B (build folder, $1, default build), P (the cprune binary), D
# (the data folder), M (the stories260K model; when it is missing the
# script is skipped with exit 0), T (a temporary folder removed on exit),
# the pass/fails counters, and:
#   ok                       count a passed check
#   bad MESSAGE              count and print a failed check
#   expect STATUS NEEDLE COMMAND...
#                            COMMAND's exit status is STATUS and its
#                            stderr contains NEEDLE (when not empty)
set -u
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
M="$D/models/stories260K"
if [ ! -d "$M" ]; then
    echo "SKIP $NAME: $M not found (set CPRUNE_DATA)"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $NAME: $*"; fails=$((fails + 1)); }

expect() {
    want=$1 needle=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" != "$want" ]; then
        bad "exit $got (want $want): $* -- $(head -c 300 "$T/err")"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err"; then
        bad "stderr lacks '$needle': $* -- $(head -c 300 "$T/err")"
    else
        ok
    fi
}
