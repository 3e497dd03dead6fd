#!/bin/sh
# bench/grids/llmpruner_tiny.sh: the table of bench/results/llmpruner_tiny.md
# (LLM-Pruner's block-wise Taylor importance and its baselines on the two
# real tiny models, next to FLAP and Wanda-sp). llm-pruner is a separate
# branch of `cprune prune` with its own JSON record, so this script is its
# grid: 2 models x (5 llm-pruner variants + flap + wanda-sp) x 3 ratios.
# llm-pruner: every layer (--layers 0:N: the reference's 3:31 would leave
# the 2-layer model untouched), gradients from 10 x 64 sequential
# tinystories tokens (the reference's sample count and length); flap /
# wanda-sp: 128 x 512 tokens as bench/grids/methods_tiny_struct.sh.
# Evaluation: tinystories (eval) and wikitext2 (test), hf protocol, the
# first GRID_CHUNKS (default 40) chunks of 512 tokens.
# Usage: sh bench/grids/llmpruner_tiny.sh [BUILD] [OUTDIR]
set -u
B=${1:-build}
W=${2:-/tmp/llmpruner_tiny}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
OUT=bench/results/llmpruner_tiny.md
CH=${GRID_CHUNKS:-40}
mkdir -p "$W"
MODELS="stories260K tinystories-656k"
VARIANTS="param_mix param_first vectorize l1 random flap wanda-sp"
RATIOS="0.2 0.3 0.5"
for m in $MODELS; do
    nl=5
    [ "$m" = tinystories-656k ] && nl=2
    for v in $VARIANTS; do
        case $v in
        param_*|vectorize) a="--method llm-pruner --taylor $v --layers 0:$nl --calib tinystories" ;;
        l1|random) a="--method llm-pruner --importance $v --layers 0:$nl" ;;
        *) a="--method $v --calib tinystories --nsamples 128 --seqlen 512" ;;
        esac
        for r in $RATIOS; do
            j="$W/$m-$v-$r.json"
            [ -f "$j" ] && continue
            "$P" prune --model "$D/models/$m" $a --sparsity "$r" \
                --eval tinystories,wikitext2 --max-chunks "$CH" --quiet --json "$j.tmp" \
                >"$W/$m-$v-$r.log" 2>&1 && mv "$j.tmp" "$j" ||
                echo "FAIL $m $v $r: $(tail -1 "$W/$m-$v-$r.log")"
        done
    done
    for ds in tinystories wikitext2; do
        [ -f "$W/$m-dense-$ds.json" ] ||
            "$P" eval --model "$D/models/$m" --dataset $ds --max-chunks "$CH" --quiet \
                --json "$W/$m-dense-$ds.json" >/dev/null 2>&1
    done
done
python3 - "$W" "$OUT" "$MODELS" "$VARIANTS" "$RATIOS" <<'PY'
import json, os, sys
w, out, models, variants, ratios = sys.argv[1], sys.argv[2], *[a.split() for a in sys.argv[3:]]
label = {"param_mix": "llm-pruner param_mix", "param_first": "llm-pruner param_first",
         "vectorize": "llm-pruner vectorize", "l1": "llm-pruner l1",
         "random": "llm-pruner random (seed 0)", "flap": "flap (wifv, al-am)",
         "wanda-sp": "wanda-sp"}
lines = ["# LLM-Pruner on the tiny models", "",
         "Perplexity (lower is better) after removing KV groups and MLP channels "
         "at each pruning ratio (columns, the reference's pruning_ratio); in "
         "parentheses the achieved fraction of decoder-linear parameters removed "
         "(exact counts in the JSON records). llm-pruner: block-wise, every layer "
         "(--layers 0:N), per-layer selection, gradients of the dense loss over "
         "10 x 64 sequential tinystories tokens; flap and wanda-sp: 128 x 512 tokens. "
         "No fine-tuning after pruning (the LLM-Pruner paper recovers with LoRA). "
         f"hf protocol, seqlen 512, the first {os.environ.get('GRID_CHUNKS', '40')} "
         "chunks of each corpus. Written by bench/grids/llmpruner_tiny.sh.", ""]
for ds, lab in (("tinystories", "tinystories (split eval)"), ("wikitext2", "wikitext2 (split test)")):
    lines += [f"## {lab}", ""]
    cols = [f"{m} {int(float(r)*100)}%" for m in models for r in ratios]
    lines += ["| Method | " + " | ".join(cols) + " |", "|:---|" + "---:|" * len(cols)]
    row = ["Dense"]
    for m in models:
        d = json.load(open(os.path.join(w, f"{m}-dense-{ds}.json")))
        row += [f"{d['ppl']:.2f}"] * len(ratios)
    lines.append("| " + " | ".join(row) + " |")
    for v in variants:
        row = [label[v]]
        for m in models:
            for r in ratios:
                p = os.path.join(w, f"{m}-{v}-{r}.json")
                if not os.path.exists(p):
                    row.append("-")
                    continue
                j = json.load(open(p))
                e = [x for x in j["eval"] if x["dataset"] == ds][0]
                row.append(f"{e['ppl']:.2f} ({100*j['linear_params_removed_fraction']:.1f}%)")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
open(out, "w").write("\n".join(lines))
print(open(out).read())
PY
