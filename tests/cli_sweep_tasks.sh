#!/bin/sh
# tests/cli_sweep_tasks.sh: zero-shot tasks and KL divergence in `cprune
# sweep` and `cprune report`, and the sweep's SIGTERM, on stories260K with
# the hand-written task files of tests/fixtures/tasks (about 25 s on 2
# cores; most of it is the KL divergence over the TinyStories validation):
#   - bad tasks / task_data / task_limit / kld lines: exit 2, FILE:LINE,
#     expected vs found, before any cell runs
#   - `kld no` and no task keywords leave the cell ids as they were
#   - SIGTERM while the pruning cell runs: exit 143, the child is gone,
#     nothing recorded for that cell (the dense cell before it is)
#   - --resume finishes it: the prune line carries tasks (boolq,
#     hellaswag, mean_acc) and kld, its command --tasks/--task-data/
#     --task-limit/--kld; the dense line carries tasks in the same shape
#     (from a `cprune tasks` child) and no kld
#   - report: tasks.md (Dense first, one column per task plus Mean),
#     tasks.csv, kld.md, kld.csv; byte-identical when run again
# usage: tests/cli_sweep_tasks.sh BUILD_DIR   (run by `make test`)
NAME=cli_sweep_tasks
. "$(dirname "$0")/cli_common.sh"
F=tests/fixtures/tasks

base='models stories260K
methods magnitude
targets 0.5
eval tinystories
max_chunks 2'

# ---- bad grids ----
printf '%s\ntasks boolq\ntask_data %s\n' "$base" "$T/none" >"$T/b1.grid"
expect 2 "b1.grid:7: task_data: expected a folder of task files, found '$T/none'" \
    "$P" sweep --grid "$T/b1.grid" --out "$T/x"
printf '%s\ntasks boolq nope\ntask_data %s\n' "$base" "$F" >"$T/b2.grid"
expect 2 "b2.grid:6: tasks: 'nope': expected the file $F/nope.jsonl" \
    "$P" sweep --grid "$T/b2.grid" --out "$T/x"
printf '%s\ntasks boolq\n' "$base" >"$T/b3.grid"
expect 2 "b3.grid:6: tasks: expected a 'task_data DIR' line too" \
    "$P" sweep --grid "$T/b3.grid" --out "$T/x"
printf '%s\ntask_limit 0\n' "$base" >"$T/b4.grid"
expect 2 "b4.grid:6: task_limit: expected an integer in [1, 2^40], found '0'" \
    "$P" sweep --grid "$T/b4.grid" --out "$T/x"
printf '%s\nkld maybe\n' "$base" >"$T/b5.grid"
expect 2 "b5.grid:6: kld: expected yes or no, found 'maybe'" \
    "$P" sweep --grid "$T/b5.grid" --out "$T/x"
printf '%s\ntasks ../boolq\ntask_data %s\n' "$base" "$F" >"$T/b6.grid"
expect 2 "b6.grid:6: tasks: expected a task name" \
    "$P" sweep --grid "$T/b6.grid" --out "$T/x"
printf '%s\ntask_data %s\n' "$base" "$F" >"$T/b7.grid"
expect 2 "b7.grid:6: task_data: expected a 'tasks NAME...' line too" \
    "$P" sweep --grid "$T/b7.grid" --out "$T/x"
[ ! -e "$T/x" ] && ok || bad "a failed grid left an output folder"

# ---- ids: unchanged without the new settings ----
printf '%s\n' "$base" >"$T/plain.grid"
printf '%s\nkld no\n' "$base" >"$T/kldno.grid"
"$P" sweep --grid "$T/plain.grid" --dry-run >"$T/dp" 2>&1 || bad "dry-run plain"
"$P" sweep --grid "$T/kldno.grid" --dry-run >"$T/dk" 2>&1 || bad "dry-run kld no"
cmp -s "$T/dp" "$T/dk" && ok || bad "'kld no' changed the cell ids"
grep -q ' tasks=\| kld=' "$T/dp" && bad "plain ids mention tasks/kld" || ok

# ---- SIGTERM during the pruning cell, then --resume ----
# No max_chunks here: the KL divergence then covers the whole TinyStories
# validation split, which keeps the prune child busy for seconds.
cat >"$T/g.grid" <<EOF
$(printf '%s\n' "$base" | grep -v '^max_chunks')
tasks boolq hellaswag
task_data $F
task_limit 2
kld yes
EOF
"$P" sweep --grid "$T/g.grid" --out "$T/s" --threads 2 >"$T/s.out" 2>"$T/s.err" &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q 'cell 2/2 \[2/2\]' "$T/s.err" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
sleep 1 # the prune child is running (its KLD pass alone takes seconds)
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" = 143 ] && ok || bad "SIGTERM: exit $rc (want 143): $(tail -c 300 "$T/s.err")"
grep -q 'terminated (SIGTERM) in cell 2' "$T/s.err" && ok ||
    bad "SIGTERM: no message: $(tail -c 300 "$T/s.err")"
sleep 0.2
if ps -eo args | grep -F -- "$T/s/tmp/" | grep -vq grep; then
    bad "SIGTERM: the prune child still runs"
else
    ok
fi
n=$(wc -l <"$T/s/results.jsonl" 2>/dev/null || echo 0)
[ "$n" = 1 ] && grep -q '"method":"dense"' "$T/s/results.jsonl" && ok ||
    bad "SIGTERM: want only the dense line, found $n lines"

if "$P" sweep --grid "$T/g.grid" --out "$T/s" --threads 2 --resume >"$T/r.out" 2>"$T/r.err"; then
    ok
else
    bad "resume: $(tail -c 300 "$T/r.err")"
fi
R="$T/s/results.jsonl"
dense=$(grep '"method":"dense"' "$R")
prune=$(grep '"method":"magnitude"' "$R")
for key in '"tasks":{"boolq":{"n":2,"acc":' '"hellaswag":{"n":2,"acc":' '"acc_norm":' '"mean_acc":'; do
    case "$dense" in *"$key"*) ok ;; *) bad "dense line lacks $key" ;; esac
    case "$prune" in *"$key"*) ok ;; *) bad "prune line lacks $key" ;; esac
done
case "$dense" in *'"kld"'*) bad "dense line has kld" ;; *) ok ;; esac
case "$dense" in *'cprune tasks --model'*'--tasks boolq,hellaswag --task-data'*'--limit 2'*) ok ;;
    *) bad "dense command lacks the tasks child" ;; esac
case "$prune" in *'"kld":{"tinystories":{'*'"same_top":'*) ok ;; *) bad "prune line lacks kld" ;; esac
case "$prune" in *'--tasks boolq,hellaswag --task-data'*'--task-limit 2 --kld'*) ok ;;
    *) bad "prune command lacks --tasks/--kld" ;; esac

# ---- report ----
if "$P" report "$T/s" --out "$T/r1" >/dev/null 2>"$T/e1" &&
    "$P" report "$T/s" --out "$T/r2" >/dev/null 2>"$T/e2"; then
    ok
else
    bad "report: $(cat "$T/e1" "$T/e2" | head -c 300)"
fi
grep -q '^| Method | boolq | hellaswag | Mean |$' "$T/r1/tasks.md" && ok ||
    bad "tasks.md: no header row"
# Dense is the first row; the mean is the mean of the two columns.
sed -n '/^| Method/,$p' "$T/r1/tasks.md" | sed -n 3p | grep -q '^| Dense |' && ok ||
    bad "tasks.md: Dense is not the first row"
awk -F'|' '/^\| (Dense|magnitude) \|/ { m = ($3 + $4) / 2; d = m - $5;
    if (d < -0.006 || d > 0.006) bad = 1; n++ }
    END { exit !(n == 2 && !bad) }' "$T/r1/tasks.md" && ok ||
    bad "tasks.md: rows or means wrong: $(cat "$T/r1/tasks.md")"
grep -q '^stories260K,50%,magnitude,hellaswag,2,' "$T/r1/tasks.csv" && ok ||
    bad "tasks.csv lacks the magnitude hellaswag row"
grep -q '^| magnitude | [0-9.]* ([0-9.]*%) |$' "$T/r1/kld.md" && ok ||
    bad "kld.md lacks the magnitude row: $(cat "$T/r1/kld.md")"
grep -q 'Dense' "$T/r1/kld.md" && grep -q '^| Dense' "$T/r1/kld.md" &&
    bad "kld.md has a Dense row" || ok
grep -q '^tinystories,stories260K,50%,magnitude,' "$T/r1/kld.csv" && ok ||
    bad "kld.csv lacks the magnitude row"
for f in tasks.md tasks.csv kld.md kld.csv; do
    cmp -s "$T/r1/$f" "$T/r2/$f" && ok || bad "report $f differs between runs"
done

echo "cli_sweep_tasks: $pass passed, $fails failed"
[ "$fails" = 0 ]
