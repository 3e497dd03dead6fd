#!/bin/sh
# bench/grids/methods_tiny_depth.sh: the table of
# bench/results/methods_tiny_depth.md (the depth methods on the two real
# tiny models). The depth methods are a separate branch of `cprune prune`
# with their own JSON record (cprune sweep drives the pipeline methods), so
# this script is their grid: 2 models x 6 method rows x 3 sizes (1/2/3
# layers for shortgpt and sleb, 2/4/6 attention/MLP sub-blocks for
# blockpruner and finercut), each searching on the default calibration
# (32 x 256 sequential tinystories calibration tokens) and evaluating on
# tinystories (eval) and wikitext2 (test), hf protocol, the first
# GRID_CHUNKS (default 40) chunks of 512 tokens of each corpus. A size the
# model cannot give (tinystories-656k has 2 layers and 4 sub-blocks, one of
# which must stay; SLEB protects the first and last alive layer) is "-".
# Usage: sh bench/grids/methods_tiny_depth.sh [BUILD] [OUTDIR]
set -u
B=${1:-build}
W=${2:-/tmp/methods_tiny_depth}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
OUT=bench/results/methods_tiny_depth.md
CH=${GRID_CHUNKS:-40}
TH=${GRID_THREADS:-2}
mkdir -p "$W"
MODELS="stories260K tinystories-656k"
ROWS="shortgpt shortgpt-angular sleb sleb-nobarrier blockpruner finercut"
opts() { # row -> cprune options for size index $2 (1, 2, 3)
    case $1 in
    shortgpt) echo "--method shortgpt --remove-layers $2" ;;
    shortgpt-angular) echo "--method shortgpt --angular --remove-layers $2" ;;
    sleb) echo "--method sleb --remove-layers $2" ;;
    sleb-nobarrier) echo "--method sleb --early-barrier 0 --latter-barrier 0 --remove-layers $2" ;;
    blockpruner) echo "--method blockpruner --remove-blocks $(($2 * 2))" ;;
    finercut) echo "--method finercut --remove-blocks $(($2 * 2))" ;;
    esac
}
for m in $MODELS; do
    for row in $ROWS; do
        for k in 1 2 3; do
            j="$W/$m-$row-$k.json"
            [ -f "$j" ] && continue
            # shellcheck disable=SC2046
            "$P" prune --model "$D/models/$m" $(opts $row $k) \
                --eval tinystories,wikitext2 --max-chunks "$CH" \
                --threads "$TH" --quiet --json "$j.tmp" \
                >"$W/$m-$row-$k.log" 2>&1 && mv "$j.tmp" "$j" ||
                echo "(no cell) $m $row $k: $(tail -1 "$W/$m-$row-$k.log")"
        done
    done
    for ds in tinystories wikitext2; do
        [ -f "$W/$m-dense-$ds.json" ] ||
        "$P" eval --model "$D/models/$m" --dataset $ds --max-chunks "$CH" \
            --threads "$TH" --quiet --json "$W/$m-dense-$ds.json" >/dev/null 2>&1
    done
done
python3 - "$W" "$OUT" "$MODELS" "$ROWS" <<'PY'
import json, os, sys
w, out = sys.argv[1], sys.argv[2]
models, rows = sys.argv[3].split(), sys.argv[4].split()
ch = os.environ.get("GRID_CHUNKS", "40")
lines = ["# Depth pruning on the tiny models", "",
         "Perplexity (lower is better) after removing whole layers (shortgpt, sleb: "
         "1/2/3 layers) or attention/MLP sub-blocks (blockpruner, finercut: 2/4/6 "
         "sub-blocks); the size columns are k = 1/2/3 units of k layers or 2k "
         "sub-blocks. In parentheses: what was removed (layer indices; attn.L / mlp.L "
         "in removal order) and the achieved fraction of decoder-linear parameters "
         "removed (exact counts in the JSON records). sleb: the code's barriers "
         "(first and last alive layer kept); sleb-nobarrier: --early-barrier 0 "
         "--latter-barrier 0. Calibration: the defaults, 32 x 256 sequential "
         f"tinystories calibration tokens; hf protocol, seqlen 512, the first {ch} "
         "chunks of each corpus. \"-\": the model cannot give that size "
         "(tinystories-656k has 2 layers, 4 sub-blocks, and one sub-block must "
         "stay). The searches' removal orders and perplexities match PyTorch "
         "implementations of the official codes (tests/oracle/depth_oracle.py; "
         "fixtures on 16 x 128 calibration tokens, ppl within 1e-7 relative). "
         f"{os.environ.get('GRID_THREADS', '2')} threads. Written by "
         "bench/grids/methods_tiny_depth.sh.", ""]
dense = {}
for m in models:
    for ds in ("tinystories", "wikitext2"):
        p = os.path.join(w, f"{m}-dense-{ds}.json")
        dense[m, ds] = json.load(open(p))["ppl"] if os.path.exists(p) else float("nan")
lines += ["Dense: " + "; ".join(f"{m} {dense[m, 'tinystories']:.2f} (tinystories) / "
                                f"{dense[m, 'wikitext2']:.2f} (wikitext2)" for m in models), ""]
for ds, label in (("tinystories", "tinystories (split eval)"), ("wikitext2", "wikitext2 (split test)")):
    lines += [f"## {label}", ""]
    cols = [f"{m} k={k}" for m in models for k in (1, 2, 3)]
    lines += ["| Method | " + " | ".join(cols) + " |", "|:---|" + "---:|" * len(cols)]
    for row in rows:
        cells = [row]
        for m in models:
            for k in (1, 2, 3):
                p = os.path.join(w, f"{m}-{row}-{k}.json")
                if not os.path.exists(p):
                    cells.append("-")
                    continue
                j = json.load(open(p))
                e = [x for x in j["eval"] if x["dataset"] == ds][0]
                if "removed_layers" in j:
                    what = ",".join(str(x) for x in j["removed_layers"])
                else:
                    what = " ".join(f"{s['kind']}.{s['layer']}" for s in j["steps"])
                frac = 1 - j["linear_params_after"] / j["linear_params_before"]
                cells.append(f"{e['ppl']:.2f} ({what}; {100 * frac:.1f}%)")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
open(out, "w").write("\n".join(lines))
print(open(out).read())
PY
