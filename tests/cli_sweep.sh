#!/bin/sh
# tests/cli_sweep.sh: `cprune sweep` and `cprune report` end to end on the
# real stories260K model (dense + magnitude and wanda at 2 targets, 4 x 128
# calibration tokens, evaluation on TinyStories; about 50 s on 2 cores):
#   - a bad grid file: exit 2 and a message naming file:line, expected and
#     found; bad --shard; a missing grid file; `exclude` drops exactly its
#     cells and keeps the other ids
#   - the sweep runs, one whole JSON line per cell, ids equal --dry-run's
#     and independent of the order of the grid file
#   - --shard 0/2 and 1/2 run at the same time into one folder give
#     exactly the cells of the unsharded run, and the same lines apart from
#     timing, RSS and thread fields
#   - --resume runs nothing the second time
#   - a failing cell is a "failed" line with its error, the sweep goes on
#     and exits 1; --resume retries it
#   - report: byte-identical output for the same results, the same tables
#     for the sharded and the unsharded results
# usage: tests/cli_sweep.sh BUILD_DIR   (run by `make test`; no python)
NAME=cli_sweep
. "$(dirname "$0")/cli_common.sh"

# The fields that differ between two runs of the same cell: timings, RSS,
# thread counts (results do not depend on them).
strip() {
    sed -E -e 's/"seconds_per_block":\[[^]]*\]//g' -e 's/"seconds":\{[^}]*\}//g' \
        -e 's/"(wall_seconds|cpu_seconds|first_chunk_seconds|minor_faults|major_faults|seconds|tokens_per_second|peak_rss_bytes|threads)":[-0-9.eE+]+//g' "$@"
}
ids() { grep -o '"cell_id":"[0-9a-f]*"' "$1" | sed 's/.*:"\(.*\)"/\1/' | sort; }

# ---- bad grids (exit 2, file:line, expected vs found) ----
printf 'models stories260K\nmodles stories260K\n' >"$T/bad1.grid"
expect 2 "bad1.grid:2: expected a keyword (models, methods, targets, calib, eval, max_chunks, dense, exclude, tasks, task_data, task_limit, kld), found 'modles'" \
    "$P" sweep --grid "$T/bad1.grid" --out "$T/x"
printf 'models stories260K\nmethods magnitude\n\ntargets 0.5 abc\neval tinystories\n' >"$T/bad2.grid"
expect 2 "bad2.grid:4: targets: expected a sparsity in [0, 1) or a pattern N:M, found 'abc'" \
    "$P" sweep --grid "$T/bad2.grid" --out "$T/x"
printf 'models stories260K\nmethods magnitude wandaa\n' >"$T/bad3.grid"
expect 2 "bad3.grid:2: methods: expected a registered method" \
    "$P" sweep --grid "$T/bad3.grid" --out "$T/x"
printf 'models stories260K\nmethods wanda:nope=1\n' >"$T/bad4.grid"
expect 2 "bad4.grid:2: methods: wanda:nope=1:" \
    "$P" sweep --grid "$T/bad4.grid" --out "$T/x"
printf 'models stories260K\nmethods magnitude\ntargets 0.5\ncalib tinystories nsamples=x\n' >"$T/bad5.grid"
expect 2 "bad5.grid:4: calib: nsamples: expected an integer" \
    "$P" sweep --grid "$T/bad5.grid" --out "$T/x"
printf 'models stories260K\nmethods wanda\ntargets 0.5\n' >"$T/bad6.grid"
expect 2 "bad6.grid: expected a 'eval' line" \
    "$P" sweep --grid "$T/bad6.grid" --out "$T/x"
printf 'models stories260K\nmethods wanda\ntargets 0.5\neval tinystories\n' >"$T/bad7.grid"
expect 2 "needs calibration" "$P" sweep --grid "$T/bad7.grid" --out "$T/x"
printf 'models stories260K\nmethods magnitude\ntargets 0.5\neval tinystories\nexclude wanda 0.5\n' >"$T/bad8.grid"
expect 2 "bad8.grid:5: exclude: expected a method of the methods lines, found 'wanda'" \
    "$P" sweep --grid "$T/bad8.grid" --out "$T/x"
printf 'models stories260K\nmethods magnitude\ntargets 0.5\neval tinystories\nexclude magnitude 0.6\n' >"$T/bad9.grid"
expect 2 "bad9.grid:5: exclude: expected a target of the targets lines, found '0.6'" \
    "$P" sweep --grid "$T/bad9.grid" --out "$T/x"
expect 2 "nope.grid" "$P" sweep --grid "$T/nope.grid" --out "$T/x"
expect 2 "expected i/n" "$P" sweep --grid "$T/bad7.grid" --shard 2/2
expect 2 "--grid is required" "$P" sweep --out "$T/x"
expect 2 "expected the sweep folder" "$P" report
expect 1 "results.jsonl" "$P" report "$T/empty-dir"
[ ! -e "$T/x" ] && ok || bad "a failed grid left an output folder"

# ---- the grid ----
cat >"$T/g.grid" <<'EOF'
# the test grid: 1 dense + 2 methods x 2 targets = 5 cells
models   stories260K
methods  magnitude wanda
targets  0.5 2:4
calib    tinystories sampling=sequential nsamples=4 seqlen=128 seed=0
eval     tinystories
EOF
# the same cells, written in another order
cat >"$T/g2.grid" <<'EOF'
eval     tinystories        # keywords in any order
targets  2:4
methods  wanda magnitude
calib    tinystories seed=0 seqlen=128 nsamples=4 sampling=sequential
targets  0.5
models   stories260K
EOF
"$P" sweep --grid "$T/g.grid" --dry-run >"$T/dry" 2>&1 || bad "dry-run failed: $(cat "$T/dry")"
"$P" sweep --grid "$T/g2.grid" --dry-run >"$T/dry2" 2>&1 || bad "dry-run 2 failed"
grep -c '^cell ' "$T/dry" | grep -qx 5 && ok || bad "dry-run lists $(grep -c '^cell ' "$T/dry") cells, want 5"
awk '/^cell /{print $3}' "$T/dry" | sort >"$T/dry.ids"
awk '/^cell /{print $3}' "$T/dry2" | sort >"$T/dry2.ids"
cmp -s "$T/dry.ids" "$T/dry2.ids" && ok || bad "cell ids depend on the grid file's order"
# exclude: the named pairs disappear, every other id stays
{ cat "$T/g.grid"; echo "exclude  wanda 2:4   # no such cell"; } >"$T/g3.grid"
"$P" sweep --grid "$T/g3.grid" --dry-run >"$T/dry3" 2>&1 || bad "dry-run 3 failed: $(cat "$T/dry3")"
awk '/^cell /{print $3}' "$T/dry3" | sort >"$T/dry3.ids"
grep 'method=wanda .*target=2:4' "$T/dry" | awk '{print $3}' >"$T/gone"
[ "$(comm -23 "$T/dry.ids" "$T/dry3.ids")" = "$(cat "$T/gone")" ] &&
    [ -z "$(comm -13 "$T/dry.ids" "$T/dry3.ids")" ] && [ -s "$T/gone" ] && ok ||
    bad "exclude did not remove exactly the wanda 2:4 cell: $(cat "$T/dry3")"

# ---- unsharded run (A) and two shards at once into one folder (S) ----
"$P" sweep --grid "$T/g.grid" --out "$T/A" --threads 2 2>"$T/A.log"
[ $? = 0 ] && ok || bad "sweep A failed: $(tail -5 "$T/A.log")"
grep -q 'cell 5/5 .*ppl tinystories' "$T/A.log" && ok || bad "no per-cell progress with ppl: $(tail -3 "$T/A.log")"
n=$(wc -l <"$T/A/results.jsonl")
[ "$n" = 5 ] && ok || bad "A has $n lines, want 5"
[ "$(grep -c '^{"cell_id":"[0-9a-f]\{12\}","status":"ok",.*}$' "$T/A/results.jsonl")" = 5 ] && ok ||
    bad "A: lines are not whole ok records"
ids "$T/A/results.jsonl" >"$T/A.ids"
cmp -s "$T/A.ids" "$T/dry.ids" && ok || bad "results ids differ from --dry-run's"
grep -q '"method":"dense".*"eval":{"tinystories":{' "$T/A/results.jsonl" && ok || bad "no dense line"
grep -q '"grid":{"index":3,"n_cells":5,"model":"stories260K".*"label":"wanda".*"target":"0.5"' "$T/A/results.jsonl" &&
    ok || bad "grid coordinates missing"

"$P" sweep --grid "$T/g.grid" --out "$T/S" --shard 0/2 --threads 1 2>"$T/S0.log" &
p0=$!
"$P" sweep --grid "$T/g.grid" --out "$T/S" --shard 1/2 --threads 1 2>"$T/S1.log" &
p1=$!
wait $p0 && wait $p1 && ok || bad "a shard failed: $(tail -3 "$T/S0.log" "$T/S1.log")"
ids "$T/A/results.jsonl" >"$T/a"
ids "$T/S/results.jsonl" >"$T/s"
cmp -s "$T/a" "$T/s" && ok || bad "shards 0/2 + 1/2 differ from the unsharded cells"
[ -z "$(uniq -d "$T/s")" ] && ok || bad "a cell ran in both shards"
strip "$T/A/results.jsonl" | sort >"$T/a.strip"
strip "$T/S/results.jsonl" | sort >"$T/s.strip"
if cmp -s "$T/a.strip" "$T/s.strip"; then ok; else
    bad "results differ between runs apart from timings:"
    diff "$T/a.strip" "$T/s.strip" | head -c 1500
fi

# ---- resume: nothing left to run ----
"$P" sweep --grid "$T/g.grid" --out "$T/A" --resume 2>"$T/R.log"
[ $? = 0 ] && ok || bad "resume failed: $(tail -3 "$T/R.log")"
grep -q 'done: 0 ok, 0 failed, 5 skipped' "$T/R.log" && ok || bad "resume ran cells: $(tail -2 "$T/R.log")"
n=$(wc -l <"$T/A/results.jsonl")
[ "$n" = 5 ] && ok || bad "resume appended lines ($n)"

# ---- a failing cell is recorded and the sweep goes on ----
# (what the grid parse can check fails there; a calibration text with too
# few tokens is found only when the cell tokenizes it)
echo "Once upon a time there was a cat." >"$T/short.txt"
cat >"$T/f.grid" <<EOF
models   stories260K
methods  wanda
targets  0.5 0.6
calib    $T/short.txt nsamples=64 seqlen=128   # too short: both fail
eval     tinystories
dense    no
EOF
expect 1 "FAILED" "$P" sweep --grid "$T/f.grid" --out "$T/F"
[ "$(grep -c '"status":"failed".*"error":"[^"]*the text has' "$T/F/results.jsonl")" = 2 ] && ok ||
    bad "failed cells not recorded with their error: $(head -c 600 "$T/F/results.jsonl")"
expect 1 "done: 0 ok, 2 failed, 0 skipped" "$P" sweep --grid "$T/f.grid" --out "$T/F" --resume

# ---- report ----
"$P" report "$T/A" --out "$T/R1" >/dev/null 2>"$T/rep.err" || bad "report failed: $(cat "$T/rep.err")"
"$P" report "$T/A" --out "$T/R2" >/dev/null 2>&1 || bad "report 2 failed"
"$P" report "$T/S" --out "$T/R3" >/dev/null 2>&1 || bad "report 3 failed"
for f in table.md table.csv table.tex summary.md ppl_vs_sparsity_stories260K_tinystories.svg; do
    if [ ! -s "$T/R1/$f" ]; then bad "report wrote no $f"; continue; fi
    cmp -s "$T/R1/$f" "$T/R2/$f" && ok || bad "report $f differs between two runs"
done
for f in table.md table.csv table.tex; do
    cmp -s "$T/R1/$f" "$T/R3/$f" && ok || bad "$f differs between the sharded and unsharded results"
done
grep -q '^| Dense | [0-9.]* | [0-9.]* |$' "$T/R1/table.md" && ok || bad "table.md has no dense row: $(cat "$T/R1/table.md")"
grep -q '^| wanda | \*\*[0-9.]*\*\* | \*\*[0-9.]*\*\* |$' "$T/R1/table.md" && ok ||
    bad "wanda is not bold in both columns: $(cat "$T/R1/table.md")"
grep -q '\\begin{tabular}' "$T/R1/table.tex" && ok || bad "table.tex has no tabular"
grep -q '^| wanda | [0-9]*\.[0-9][0-9] | [0-9]*\.[0-9][0-9] |$' "$T/R1/times.md" && ok ||
    bad "times.md has no wanda seconds: $(cat "$T/R1/times.md")"
grep -q '^dataset,method,stories260K 50%,stories260K 2:4$' "$T/R1/table.csv" && ok || bad "table.csv header: $(head -1 "$T/R1/table.csv")"
svg="$T/R1/ppl_vs_sparsity_stories260K_tinystories.svg"
# one unstructured target: points (circles) and N:M diamonds, no lines
head -1 "$svg" | grep -q '^<?xml' && grep -q '<circle' "$svg" && grep -q '<polygon' "$svg" &&
    grep -q '</svg>' "$svg" && ok || bad "the plot is not an SVG with points"
"$P" report "$T/F" --out "$T/RF" >/dev/null 2>&1 || bad "report of failed cells failed"
grep -q '## Failed cells' "$T/RF/summary.md" && ok || bad "summary lacks the failed cells"

echo "cli_sweep: $pass passed, $fails failed"
[ "$fails" = 0 ]
