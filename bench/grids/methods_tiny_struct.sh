#!/bin/sh
# bench/grids/methods_tiny_struct.sh: the table of
# bench/results/methods_tiny_struct.md (the structured width methods on the
# two real tiny models). `cprune sweep` drives the pipeline methods of
# cprune's registry; the structured methods are a separate branch of
# `cprune prune` with their own JSON record, so this script is their grid:
# 2 models x 4 methods x 3 ratios, each pruning with 128 x 512 sequential
# tinystories calibration tokens (as bench/grids/methods_tiny.grid) and
# evaluating on tinystories (eval) and wikitext2 (test), hf protocol, the
# first GRID_CHUNKS (default 40) chunks of 512 tokens of each corpus. Usage: sh bench/grids/methods_tiny_struct.sh [BUILD] [OUTDIR]
set -u
B=${1:-build}
W=${2:-/tmp/methods_tiny_struct}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
OUT=bench/results/methods_tiny_struct.md
CH=${GRID_CHUNKS:-40}
mkdir -p "$W"
MODELS="stories260K tinystories-656k"
METHODS="flap wanda-sp magnitude-sp cfsp"
RATIOS="0.2 0.3 0.5"
for m in $MODELS; do
    for me in $METHODS; do
        for r in $RATIOS; do
            j="$W/$m-$me-$r.json"
            [ -f "$j" ] && continue
            "$P" prune --model "$D/models/$m" --method "$me" --sparsity "$r" \
                --calib tinystories --nsamples 128 --seqlen 512 \
                --eval tinystories,wikitext2 --max-chunks "$CH" --quiet --json "$j.tmp" \
                >"$W/$m-$me-$r.log" 2>&1 && mv "$j.tmp" "$j" ||
                echo "FAIL $m $me $r: $(tail -1 "$W/$m-$me-$r.log")"
        done
    done
    "$P" eval --model "$D/models/$m" --dataset tinystories --max-chunks "$CH" --quiet \
        --json "$W/$m-dense-tinystories.json" >/dev/null 2>&1
    "$P" eval --model "$D/models/$m" --dataset wikitext2 --max-chunks "$CH" --quiet \
        --json "$W/$m-dense-wikitext2.json" >/dev/null 2>&1
done
python3 - "$W" "$OUT" "$MODELS" "$METHODS" "$RATIOS" <<'PY'
import json, os, sys
w, out, models, methods, ratios = sys.argv[1], sys.argv[2], *[a.split() for a in sys.argv[3:]]
lines = ["# Structured (width) pruning on the tiny models", "",
         "Perplexity (lower is better) after removing KV groups and MLP channels "
         "with each method (rows) at each pruning ratio (columns, the reference's "
         "pruning_ratio); in parentheses the achieved fraction of decoder-linear "
         "parameters removed (exact counts in the JSON records). FLAP: wifv, al-am, "
         "bias compensation. CFSP: angular, three_w_one_wa, a = b = c = 1, MLP channels only "
         "(as its code), so its ratio removes fewer parameters than the others' at the same "
         "ratio: compare rows at similar achieved fractions. Calibration 128 x 512 tinystories tokens (sequential); "
         f"hf protocol, seqlen 512, the first {os.environ.get('GRID_CHUNKS', '40')} chunks of each corpus. Written by "
         "bench/grids/methods_tiny_struct.sh.", ""]
for ds, label in (("tinystories", "tinystories (split eval)"), ("wikitext2", "wikitext2 (split test)")):
    lines += [f"## {label}", ""]
    cols = [f"{m} {int(float(r)*100)}%" for m in models for r in ratios]
    lines += ["| Method | " + " | ".join(cols) + " |", "|:---|" + "---:|" * len(cols)]
    row = ["Dense"]
    for m in models:
        d = json.load(open(os.path.join(w, f"{m}-dense-{ds}.json")))
        row += [f"{d['ppl']:.2f}"] * len(ratios)
    lines.append("| " + " | ".join(row) + " |")
    for me in methods:
        row = [me]
        for m in models:
            for r in ratios:
                p = os.path.join(w, f"{m}-{me}-{r}.json")
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
