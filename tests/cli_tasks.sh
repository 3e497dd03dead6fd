#!/bin/sh
# tests/cli_tasks.sh: `cprune tasks` and `cprune eval --reference` from the
# command line: exit codes (2 usage, 1 data), the lm-eval results layout,
# --limit, --bos, --samples, a model's KL divergence from itself, and
# prune --tasks / --kld.
# Usage: sh tests/cli_tasks.sh [BUILD]
NAME=cli_tasks
. "$(dirname "$0")/cli_common.sh"
F=tests/fixtures/tasks

# ---- usage errors (2) and data errors (1) ----
expect 2 "--model, --tasks and --task-data are required" "$P" tasks --model "$M"
expect 2 "--limit" "$P" tasks --model "$M" --tasks boolq --task-data "$F" --limit 0
expect 2 "listed twice" "$P" tasks --model "$M" --tasks boolq,boolq --task-data "$F"
expect 2 "unknown option" "$P" tasks --model "$M" --tasks boolq --task-data "$F" --nope
expect 1 "no folder" "$P" tasks --model "$M" --tasks boolq --task-data "$T/none"
expect 1 "no file $F/nope.jsonl" "$P" tasks --model "$M" --tasks nope --task-data "$F" --quiet
mkdir -p "$T/bad"
printf '{"passage":"p","question":"q"}\n' >"$T/bad/boolq.jsonl"
expect 1 "boolq.jsonl:1: field 'label or answer': expected an integer label, found missing" \
    "$P" tasks --model "$M" --tasks boolq --task-data "$T/bad" --quiet
expect 1 "task name" "$P" tasks --model "$M" --tasks ../x --task-data "$F" --quiet
expect 1 "" "$P" eval --model "$M" --reference "$T/none" --dataset tinystories --max-chunks 1 --quiet

# ---- a run: the results layout, --limit, samples ----
if "$P" tasks --model "$M" --tasks boolq,hellaswag,custom --task-data "$F" --limit 2 \
    --json "$T/r.json" --samples "$T/s.jsonl" --quiet >"$T/out" 2>"$T/err"; then
    ok
    for key in '"results"' '"acc,none"' '"acc_stderr,none"' '"acc_norm,none"' \
        '"acc_norm_stderr,none"' '"n-samples"' '"original": 3' '"effective": 2' \
        '"configs"' '"versions"' '"higher_is_better"' '"n-shot"' '"limit": 2' \
        '"config"' '"model_args"'; do
        grep -qF -- "$key" "$T/r.json" && ok || bad "results lack $key"
    done
    [ "$(wc -l <"$T/s.jsonl")" = 6 ] && ok || bad "samples: $(wc -l <"$T/s.jsonl") lines, want 6"
    grep -q '^| acc |' "$T/out" && grep -q '| mean |' "$T/out" && ok || bad "no markdown table"
else
    bad "tasks run: $(head -c 300 "$T/err")"
fi
# --bos: the context starts with BOS (id 1) in every request.
"$P" tasks --model "$M" --tasks boolq --task-data "$F" --limit 1 --bos \
    --samples "$T/b.jsonl" --quiet >/dev/null 2>&1 || bad "bos run"
grep -q '"ctx_ids":\[\[1,' "$T/b.jsonl" && ok || bad "--bos: no BOS first"
grep -q '"ctx_ids":\[\[1,' "$T/s.jsonl" && bad "no --bos: BOS first" || ok

# ---- KL divergence of a model from itself: exactly 0 ----
if "$P" eval --model "$M" --reference "$M" --dataset tinystories --max-chunks 2 --quiet \
    --json "$T/k.json" >"$T/out" 2>"$T/err"; then
    for key in '"kld"' '"mean": 0.0' '"max": 0.0' '"same_top": 1.0' '"rms_dp": 0.0' \
        '"reference_ppl"' '"p999": 0.0' '"median": 0.0' '"mean_stderr"'; do
        grep -qF -- "$key" "$T/k.json" && ok || bad "kld json lacks $key"
    done
else
    bad "eval --reference: $(head -c 300 "$T/err")"
fi

# ---- prune --tasks / --kld ----
expect 2 "--tasks and --task-data go together" "$P" prune --model "$M" --method magnitude \
    --sparsity 0.5 --tasks boolq
expect 2 "give --eval too" "$P" prune --model "$M" --method magnitude --sparsity 0.5 --kld
if "$P" prune --model "$M" --method magnitude --sparsity 0.5 --tasks boolq,custom \
    --task-data "$F" --task-limit 2 --json "$T/p.json" --quiet >"$T/out" 2>"$T/err"; then
    for key in '"tasks"' '"boolq"' '"custom"' '"mean_acc"' '"acc_norm"'; do
        grep -qF -- "$key" "$T/p.json" && ok || bad "prune json lacks $key"
    done
    grep -q '^task: *custom n=2' "$T/out" && ok || bad "prune: no task line"
else
    bad "prune --tasks: $(head -c 300 "$T/err")"
fi

echo "cli_tasks: $pass passed, $fails failed"
[ "$fails" = 0 ]
