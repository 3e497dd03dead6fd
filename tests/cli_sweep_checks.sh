#!/bin/sh
# tests/cli_sweep_checks.sh: `cprune sweep` checks its grid before running
# anything and --resume --dry-run shows only what is left (issue 18):
#   - a missing model, calibration file or corpus is a FILE:LINE error at
#     parse time, also with --dry-run (exit 2)
#   - a target that does not divide a model's widths, a calib seqlen
#     beyond a model's context: FILE:LINE errors at parse time
#   - a method x target pair the method refuses (mixed at 2:4) is a
#     FILE:LINE error unless an exclude line drops it
#   - max_chunks N reaches the cells (quick evaluation)
#   - after a sweep, adding a target and running --resume --dry-run lists
#     only the new cells
#   - --help has defaults and examples
# usage: tests/cli_sweep_checks.sh BUILD_DIR   (run by `make test`)
NAME=cli_sweep_checks
. "$(dirname "$0")/cli_common.sh"

printf 'models stories260K nosuchmodel\nmethods magnitude\ntargets 0.5\neval tinystories\n' >"$T/m.grid"
expect 2 "m.grid:1: models: 'nosuchmodel'" "$P" sweep --grid "$T/m.grid" --dry-run
printf 'models stories260K\nmethods wanda\ntargets 0.5\ncalib %s/nope.txt\neval tinystories\n' "$T" >"$T/c.grid"
expect 2 "c.grid:4: calib:" "$P" sweep --grid "$T/c.grid" --dry-run
printf 'models stories260K\nmethods magnitude\ntargets 0.5\neval tinystories\n' >"$T/e.grid"
mkdir -p "$T/data/models" && ln -s "$(cd "$M" && pwd)" "$T/data/models/stories260K"
CPRUNE_DATA="$T/data" expect 2 "e.grid:4: eval:" "$P" sweep --grid "$T/e.grid" --dry-run
printf 'models stories260K\nmethods magnitude mixed\ntargets 0.5 2:4\ncalib tinystories\neval tinystories\n' >"$T/x.grid"
expect 2 "x.grid:2: methods: mixed at target 2:4: method mixed accepts only" "$P" sweep --grid "$T/x.grid" --dry-run
printf 'exclude mixed 2:4\n' >>"$T/x.grid"
"$P" sweep --grid "$T/x.grid" --dry-run >"$T/out" 2>"$T/err" && grep -q '^4 of 4 cells would run' "$T/out" && ok ||
    bad "exclude mixed 2:4: $(cat "$T/err" "$T/out")"

printf 'models stories260K\nmethods magnitude\ntargets 0.5\n\ntargets 3:7\neval tinystories\n' >"$T/w.grid"
expect 2 "w.grid:5: targets: 3:7 on model stories260K: layers.0.q_proj" "$P" sweep --grid "$T/w.grid" --dry-run
printf 'models stories260K\nmethods wanda\ntargets 0.5\ncalib tinystories seqlen=4096\neval tinystories\n' >"$T/s.grid"
expect 2 "s.grid:4: calib: seqlen 4096 exceeds the context 512 of model stories260K" "$P" sweep --grid "$T/s.grid" --dry-run

# ---- max_chunks and --resume --dry-run ----
printf 'models stories260K\nmethods magnitude\ntargets 0.5\neval tinystories\ndense no\nmax_chunks 2\n' >"$T/r.grid"
"$P" sweep --grid "$T/r.grid" --out "$T/r" >"$T/out" 2>"$T/err" || bad "sweep: $(tail -3 "$T/err")"
grep -q '"nchunks":2' "$T/r/results.jsonl" && ok || bad "max_chunks did not reach the cell: $(head -c 400 "$T/r/results.jsonl")"
printf 'targets 0.6\n' >>"$T/r.grid"
"$P" sweep --grid "$T/r.grid" --out "$T/r" --resume --dry-run >"$T/out" 2>"$T/err" || bad "resume dry-run: $(cat "$T/err")"
[ "$(grep -c '^cell ' "$T/out")" = 1 ] && grep -q '^cell 2/2 .*target=0.6' "$T/out" && ok ||
    bad "--resume --dry-run lists: $(cat "$T/out")"
grep -q '1 of 2 cells would run (2 in this shard, 1 done before)' "$T/out" && ok || bad "dry-run summary: $(tail -1 "$T/out")"

"$P" sweep --help >"$T/help" 2>&1
for k in "(default: sweep-out)" "examples:" "max_chunks N" "--resume --dry-run"; do
    grep -qF -- "$k" "$T/help" && ok || bad "sweep --help lacks '$k'"
done

echo "$NAME: $pass passed, $fails failed"
[ "$fails" = 0 ]
