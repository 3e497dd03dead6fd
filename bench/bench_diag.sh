#!/bin/sh
# bench/bench_diag.sh: the cost of the default diagnostics (per-linear
# reconstruction error on a sample of at most 1024 calibration tokens,
# methods/pipe_diag.h) on one 7B-shaped block: `cprune prune --blocks 0:1`
# of a synthetic LLaMA-2-7B-shaped bf16 model with DIAG_LAYERS layers
# (default 2; only block 0 is pruned), Wanda and SparseGPT, with and
# without --no-diagnostics, interleaved, DIAG_REPS times (default 3). The
# figure is wall time of the whole run with diagnostics over without
# (median of the ratios of adjacent pairs), plus the diagnostics seconds
# from --json. Results: bench/results/diag.txt.
set -u
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
DIR=${CPRUNE_BENCH_DIR:-/tmp/cprune-bench-diag}
L=${DIAG_LAYERS:-2}
NS=${DIAG_NSAMPLES:-4}
SL=${DIAG_SEQLEN:-2048}
TH=${DIAG_THREADS:-2}
REPS=${DIAG_REPS:-3}
OUT=bench/results/diag.txt
M="$DIR/llama7b-${L}l-bf16"
mkdir -p "$DIR" bench/results
if [ ! -f "$TOK" ]; then echo "SKIP bench_diag: $TOK not found"; exit 0; fi
if [ ! -d "$M" ]; then
    free_gb=$(df -Pk "$DIR" | awk 'NR==2 {print int($4 / 1048576)}')
    if [ "$free_gb" -lt $((L + 4)) ]; then
        echo "SKIP bench_diag: $free_gb GB free in $DIR"
        exit 0
    fi
    "$P" synth --hidden 4096 --intermediate 11008 --layers "$L" --heads 32 \
        --vocab 32000 --context 4096 --dtype bf16 --out "$M" || exit 1
fi
echo "== bench_diag $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs," \
    "threads $TH; $M, block 0 only, calibration $NS x $SL tokens" \
    "(tinystories), bf16 activations" | tee -a "$OUT"
C="--model $M --tokenizer $TOK --calib tinystories --nsamples $NS --seqlen $SL --threads $TH --blocks 0:1 --sparsity 0.5 --calib-dtype bf16"
for meth in wanda sparsegpt; do
    : >"$DIR/$meth.ratios"
    r=1
    while [ $r -le "$REPS" ]; do
        for v in on off; do
            flag=""
            [ $v = off ] && flag=--no-diagnostics
            t0=$(date +%s.%N)
            # shellcheck disable=SC2086
            nice "$P" prune $C --method $meth $flag \
                --json "$DIR/$meth-$v.json" >"$DIR/$meth-$v.log" 2>&1 ||
                { echo "FAIL $meth $v"; tail -3 "$DIR/$meth-$v.log"; exit 1; }
            t1=$(date +%s.%N)
            eval "w_$v=\$(echo \"\$t1 - \$t0\" | bc -l)"
        done
        dg=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds']['diagnostics'])" "$DIR/$meth-on.json")
        nt=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('diagnostics_tokens'))" "$DIR/$meth-on.json")
        echo "$w_on $w_off" >>"$DIR/$meth.ratios"
        printf '   %-9s rep %d: wall %.1f s with diagnostics (%.1f s of it, %s tokens), %.1f s without\n' \
            $meth $r "$w_on" "$dg" "$nt" "$w_off" | tee -a "$OUT"
        r=$((r + 1))
    done
    python3 - "$DIR/$meth.ratios" $meth <<'PY' | tee -a "$OUT"
import sys, statistics
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
rat = [a / b for a, b in rows]
print("   %s: with/without diagnostics, median of %d interleaved pairs: "
      "%.3f (+%.1f%%)" % (sys.argv[2], len(rat), statistics.median(rat),
                          100 * (statistics.median(rat) - 1)))
PY
done
