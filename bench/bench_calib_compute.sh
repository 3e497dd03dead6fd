#!/bin/sh
# bench/bench_calib_compute.sh: `prune --calib-compute bf16` against f32
# (methods/calib_compute.h). Writes bench/results/calib_compute.md:
#  1. pruned perplexity (tinystories eval split, whole split, hf protocol)
#     of Wanda and SparseGPT at 50% on stories260K and tinystories-656k
#     (f32 weights), 128 calibration windows of the model context, with
#     the calibration forward in f32 and in bf16;
#  2. speed: seconds of the calibration forward (--json
#     seconds.calibration_forward) of Wanda on the first 2 blocks of a
#     2-layer LLaMA-2-7B-shaped model (hidden 4096, intermediate 11008,
#     32 heads, vocab 32000; bf16 and f32 weights, synthesized into
#     $CPRUNE_BENCH_DIR), CC_NSAMPLES x 2048 tokens (default 2), f32 and
#     bf16 compute interleaved CC_REPS times (default 3), medians.
# CC_PART=ppl or speed runs one part only (the speed part maps 1.3 + 2.6
# GB of weights and needs ~2 GiB of anonymous memory: run it under the
# shared heavy-job lock on a shared machine); results of a part-only run go
# to calib_compute_PART.md.
#   sh bench/bench_calib_compute.sh [BUILD]
set -u
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
DIR=${CPRUNE_BENCH_DIR:-/tmp/cprune-bench-7b}
NS=${CC_NSAMPLES:-2}
REPS=${CC_REPS:-3}
TH=${CC_THREADS:-2}
DTS=${CC_DTYPES:-bf16 f32}
NB=${CC_BLOCKS:-2}
PART=${CC_PART:-all}
OUT=bench/results/calib_compute.md
[ "$PART" = all ] || OUT=bench/results/calib_compute_$PART.md
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
W="$DIR/calib-compute"
mkdir -p "$W" bench/results
if [ ! -d "$D/models/stories260K" ]; then
    echo "SKIP bench_calib_compute: $D/models not found"; exit 0; fi

ppl_of() { sed -n 's/^eval: .*ppl \([0-9.]*\) .*/\1/p' "$1"; }
{
    echo "# --calib-compute bf16 vs f32"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) CPUs, threads $TH," \
         "$("$P" info 2>/dev/null | sed -n 's/^isa: *\([a-z0-9]*\).*/ISA \1/p');" \
         "binary of commit $(git rev-parse --short HEAD 2>/dev/null)."
    echo
    echo "## Pruned perplexity (50%, 128 windows of the context, tinystories eval)"
    echo
    echo "| model | method | ppl f32 compute | ppl bf16 compute | change |"
    echo "|---|---|---|---|---|"
} >"$OUT.tmp"
[ "$PART" = speed ] && : >"$OUT.tmp"
[ "$PART" = speed ] || for model in stories260K tinystories-656k; do
    for meth in wanda sparsegpt; do
        for cc in f32 bf16; do
            nice "$P" prune --model "$D/models/$model" --method "$meth" \
                --sparsity 0.5 --calib tinystories --nsamples 128 \
                --calib-compute "$cc" --eval tinystories --threads "$TH" \
                --quiet --no-diagnostics >"$W/$model-$meth-$cc.log" 2>&1 ||
                { echo "FAIL $model $meth $cc"; tail -3 "$W/$model-$meth-$cc.log"; exit 1; }
        done
        a=$(ppl_of "$W/$model-$meth-f32.log")
        b=$(ppl_of "$W/$model-$meth-bf16.log")
        awk -v m="$model" -v me="$meth" -v a="$a" -v b="$b" 'BEGIN {
            printf "| %s | %s | %.4f | %.4f | %+.2f%% |\n", m, me, a, b,
                   100 * (b - a) / a }' >>"$OUT.tmp"
    done
done
cat "$OUT.tmp"

# ---- speed on 7B-shaped blocks ----
if [ "$PART" = ppl ]; then mv "$OUT.tmp" "$OUT"; exit 0; fi
if [ ! -f "$TOK" ]; then
    echo "SKIP speed part: $TOK not found" | tee -a "$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
    exit 0
fi
for dt in $DTS; do
    M="$W/llama7b-2l-$dt"
    [ -d "$M" ] || "$P" synth --hidden 4096 --intermediate 11008 --layers 2 \
        --heads 32 --vocab 32000 --context 4096 --dtype "$dt" --out "$M" \
        >/dev/null || exit 1
done
fwd_of() {
    python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["seconds"]["calibration_forward"])' "$1"
}
{
    echo
    echo "## Calibration forward speed (7B-shaped, blocks 0:$NB, $NS x 2048 tokens, wanda)"
    echo
    echo "Seconds of the calibration forward (the statistics passes of blocks"
    echo "0..$NB-1 and the propagation through all but the last; embedding"
    echo "included) from --json, f32 and bf16 compute"
    echo "interleaved $REPS times on a 2-core machine shared with other jobs"
    echo "(noisy: medians)."
    echo
    echo "| weights | f32 compute runs (s) | bf16 compute runs (s) | median f32 | median bf16 | speedup |"
    echo "|---|---|---|---|---|---|"
} >>"$OUT.tmp"
for dt in $DTS; do
    M="$W/llama7b-2l-$dt"
    fa="" fb=""
    for r in $(seq 1 "$REPS"); do
        for cc in f32 bf16; do
            j="$W/speed-$dt-$cc-$r.json"
            nice "$P" prune --model "$M" --tokenizer "$TOK" --method wanda \
                --sparsity 0.5 --calib tinystories --nsamples "$NS" \
                --seqlen 2048 --blocks "0:$NB" --calib-compute "$cc" \
                --threads "$TH" --quiet --no-diagnostics --json "$j" \
                >"$W/speed-$dt-$cc-$r.log" 2>&1 ||
                { echo "FAIL speed $dt $cc"; tail -3 "$W/speed-$dt-$cc-$r.log"; exit 1; }
            v=$(fwd_of "$j")
            if [ "$cc" = f32 ]; then fa="$fa $v"; else fb="$fb $v"; fi
        done
    done
    python3 - "$dt" "$fa" "$fb" <<'PY' >>"$OUT.tmp"
import statistics, sys
dt, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ma, mb = statistics.median(a), statistics.median(b)
print("| %s | %s | %s | %.2f | %.2f | %.2fx |" % (dt, " ".join("%.2f" % x for x in a),
      " ".join("%.2f" % x for x in b), ma, mb, ma / mb))
PY
done
mv "$OUT.tmp" "$OUT"
cat "$OUT"
