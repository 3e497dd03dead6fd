#!/bin/sh
# tests/cli_llmpruner.sh: `cprune prune --method llm-pruner`.
# Usage errors; agreement with the PyTorch oracle of the official
# LLM-Pruner code (tests/oracle/llmpruner_oracle.py ->
# tests/fixtures/llmpruner_oracle_*.json: identical kept KV groups and
# channels, identical parameter counts, dense loss within 1e-5 and ppl
# within 1e-4 relative, every run of both fixtures); the written smaller
# model reloads to the same perplexity (checked by the command itself, exit
# 1 otherwise); 1 and 2 threads give the same record.
NAME=cli_llmpruner
. "$(dirname "$0")/cli_common.sh"
F=tests/fixtures
LP="--method llm-pruner"

"$P" prune --method llm-pruner --help 2>&1 | grep -q -- "--taylor" && ok || bad "--method llm-pruner --help"
expect 2 "--sparsity is required" "$P" prune --model "$M" $LP --calib tinystories
expect 2 "--calib is required" "$P" prune --model "$M" $LP --sparsity 0.2
expect 2 "--importance" "$P" prune --model "$M" $LP --sparsity 0.2 --importance hessian
expect 2 "--taylor" "$P" prune --model "$M" $LP --sparsity 0.2 --calib tinystories --taylor first
expect 2 "needs --importance taylor" "$P" prune --model "$M" $LP --sparsity 0.2 --importance l1 --taylor vectorize
expect 2 "--layers" "$P" prune --model "$M" $LP --sparsity 0.2 --importance l1 --layers 3:2
expect 2 "has 5 layers" "$P" prune --model "$M" $LP --sparsity 0.2 --importance l1 --layers 0:6
expect 2 "default layers 3:31" "$P" prune --model "$D/models/tinystories-656k" $LP --sparsity 0.2 --importance l1
expect 2 "sparsity" "$P" prune --model "$M" $LP --sparsity 1 --importance l1
expect 2 "every KV group" "$P" prune --model "$M" $LP --sparsity 0.99 --importance l1
expect 2 "out-format" "$P" prune --model "$M" $LP --sparsity 0.2 --importance l1 --out-format llama2c --out "$T/x.bin"

# oracle agreement, every run of both fixtures
for m in stories260K tinystories-656k; do
    fx="$F/llmpruner_oracle_$m.json"
    [ -f "$fx" ] || { bad "missing $fx"; continue; }
    mp="$D/models/$m"
    [ -d "$mp" ] || continue
    runs=$(python3 -c "import json,sys; print(' '.join(r['spec'] for r in json.load(open(sys.argv[1]))['runs']))" "$fx")
    i=0
    for r in $runs; do
        i=$((i + 1))
        # IMPORTANCE[/TAYLOR]@RATIO@A:B[@global] -> options
        imp=${r%%@*} rest=${r#*@}
        args="--importance ${imp%%/*} --sparsity ${rest%%@*}"
        rest=${rest#*@}
        args="$args --layers ${rest%%@*}"
        case $imp in */*) args="$args --taylor ${imp#*/}" ;; esac
        case $rest in *@global) args="$args --global" ;; esac
        "$P" prune --model "$mp" $LP $args --calib tinystories --nsamples 10 \
            --seqlen 64 --eval tinystories --max-chunks 20 --threads 2 --quiet \
            --json "$T/$m-$i.json" >"$T/out" 2>"$T/err" || {
            bad "$m $r: exit $? -- $(head -c 300 "$T/err")"; continue; }
        if python3 - "$fx" "$T/$m-$i.json" "$r" >"$T/cmp" 2>&1 <<'PY'
import json, sys
fx, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
run = [r for r in fx["runs"] if r["spec"] == sys.argv[3]][0]
errs = []
for i, (a, b) in enumerate(zip(run["layers"], got["layers"])):
    if a["kept_kv_groups"] != b["kept_kv_groups"]:
        errs.append(f"layer {i} kv groups {b['kept_kv_groups']} vs oracle {a['kept_kv_groups']}")
    if a["kept_channels"] != b["kept_channels"]:
        d = sorted(set(a["kept_channels"]) ^ set(b["kept_channels"]))
        errs.append(f"layer {i}: channels differ at {d[:8]}")
if run["linear_params_after"] != got["linear_params_after"]:
    errs.append(f"params {got['linear_params_after']} vs {run['linear_params_after']}")
if run["loss"] is not None:
    lo = got["calibration"]["loss"]
    if abs(lo - run["loss"]) > 1e-5 * run["loss"]:
        errs.append(f"loss {lo} vs oracle {run['loss']}")
p, q = got["eval"][0]["ppl"], run["ppl"]
if abs(p - q) > 1e-4 * q:
    errs.append(f"ppl {p} vs oracle {q}")
print("; ".join(errs) if errs else f"ok ppl {p} oracle {q}")
sys.exit(1 if errs else 0)
PY
        then ok; else bad "$m $r: $(cat "$T/cmp")"; fi
    done
done

# written output reloads to the same ppl (the command checks; exit 1 if not)
"$P" prune --model "$M" $LP --sparsity 0.5 --calib tinystories --layers 0:5 \
    --eval tinystories --max-chunks 4 --quiet --out "$T/o" --json "$T/o.json" \
    >"$T/out" 2>"$T/err" && ok || bad "--out: $(head -c 300 "$T/err")"
grep -q '"cprune_layer_shapes"' "$T/o/config.json" && ok || bad "no per-layer shapes in config.json"
head -c 4096 "$T/o/model.safetensors" | grep -q '"cprune.method":"llm-pruner","cprune.target":"ratio 0.5","cprune.calibration":"tinystories/' && ok || bad "no provenance in the output's __metadata__"
grep -q 'reloaded:' "$T/out" && ok || bad "no reload check printed"
"$P" eval --model "$T/o" --dataset tinystories --split eval --max-chunks 4 >"$T/ev" 2>&1 && ok || bad "eval of the output: $(tail -2 "$T/ev")"

# hf-padded: zero-padded back to the stock shapes (no per-layer shapes),
# layers outside the range copied; reloads to the printed ppl (exit 1 if
# not); --out-format without --out is a usage error
"$P" prune --model "$M" $LP --sparsity 0.5 --calib tinystories --layers 1:4 \
    --eval tinystories --max-chunks 4 --quiet --out "$T/pad" \
    --out-format hf-padded --json "$T/pad.json" >"$T/out" 2>"$T/err" &&
    grep -q 'reloaded:' "$T/out" && grep -q '"out_format": "hf-padded"' "$T/pad.json" &&
    ! grep -q '"cprune_layer_shapes"' "$T/pad/config.json" && ok ||
    bad "hf-padded: $(head -c 300 "$T/err")"
expect 2 "--out-format needs --out" "$P" prune --model "$M" $LP --sparsity 0.2 --importance l1 --out-format hf-padded

# the default range on stories260K (5 layers) is 3:5; random is seeded
"$P" prune --model "$M" $LP --sparsity 0.5 --importance random --seed 7 \
    --json "$T/r1.json" --quiet >/dev/null 2>&1 || bad "random"
"$P" prune --model "$M" $LP --sparsity 0.5 --importance random --seed 7 \
    --json "$T/r2.json" --quiet >/dev/null 2>&1 || bad "random"
grep -q '"layer_start": 3' "$T/r1.json" && ok || bad "default layer range"
[ "$(grep -v seconds "$T/r1.json")" = "$(grep -v seconds "$T/r2.json")" ] && ok || bad "random with one seed differs"

# thread count does not change the record
for th in 1 2; do
    "$P" prune --model "$M" $LP --sparsity 0.3 --calib tinystories --layers 0:5 \
        --eval tinystories --max-chunks 4 --quiet --threads $th \
        --json "$T/t$th.json" >/dev/null 2>&1 || bad "threads $th"
done
[ "$(grep -v -e seconds -e "\"threads\"" "$T/t1.json")" = "$(grep -v -e seconds -e "\"threads\"" "$T/t2.json")" ] && ok || bad "1 vs 2 threads differ"

# --grad-scratch: acc (param_mix, the default) in a scratch file gives the
# same record; --plan prints the plan and stops; a bad folder exits 2
"$P" prune --model "$M" $LP --sparsity 0.3 --calib tinystories --layers 0:5 \
    --eval tinystories --max-chunks 4 --quiet --threads 2 --grad-scratch "$T" \
    --json "$T/gs.json" >/dev/null 2>&1 || bad "--grad-scratch run"
[ "$(grep -v -e seconds "$T/t2.json")" = "$(grep -v -e seconds "$T/gs.json")" ] && ok || bad "--grad-scratch changed the record"
"$P" prune --model "$M" $LP --sparsity 0.3 --calib tinystories --grad-scratch "$T" --plan >"$T/out" 2>&1 &&
    grep -q "^plan: .*one layer in RAM" "$T/out" && ! grep -q "^pruned:" "$T/out" && ok || bad "--plan: $(head -c 300 "$T/out")"
expect 2 "--grad-scratch: not a writable directory" "$P" prune --model "$M" $LP --sparsity 0.3 --calib tinystories --grad-scratch "$T/none"
# --plan runs before tokenizer and calibration (the missing calibration
# file is never read)
"$P" prune --model "$M" $LP --sparsity 0.2 --calib "$T/no-such-calib.txt" --plan >"$T/out" 2>&1 &&
    grep -q "^plan: .*acc in RAM" "$T/out" && ok || bad "llm-pruner --plan before calibration: $(head -c 300 "$T/out")"

echo "cli_llmpruner: $pass passed, $fails failed"
[ "$fails" = 0 ]
