#!/bin/sh
# bench/bench_depth.sh: does depth pruning make the model faster?
# A LLaMA-7B-shaped synthetic bf16 model (hidden 4096, intermediate 11008,
# 32 heads, vocab 32000) with 8 of the 32 layers (DEPTH_LAYERS; disk and
# time on the 2-core build machine), ShortGPT removing 25% of its layers
# (2 of 8);
# parameters, file size and `cprune eval` tokens/s of the dense and the
# pruned models, measured interleaved in one run (dense, pruned, repeated
# DEPTH_REPS times; the median is reported). Results:
# bench/results/depth.txt. The models live in $CPRUNE_BENCH_DIR (default
# /work/big/depth2) and are deleted afterwards. Runs under
# flock /work/big/heavy.lock when that file exists (a multi-GiB job).
set -u
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
DIR=${CPRUNE_BENCH_DIR:-/work/big/depth2}
REPS=${DEPTH_REPS:-3}
TH=${DEPTH_THREADS:-2}
CH=${DEPTH_CHUNKS:-1}
LAYERS=${DEPTH_LAYERS:-8}
OUT=bench/results/depth.txt
if [ ! -f "$TOK" ]; then echo "SKIP bench_depth: $TOK not found"; exit 0; fi
if [ -z "${DEPTH_LOCKED:-}" ] && [ -f /work/big/heavy.lock ]; then
    DEPTH_LOCKED=1 exec flock /work/big/heavy.lock nice sh "$0" "$@"
fi
mkdir -p "$DIR" bench/results
free_gb=$(df -Pk "$DIR" | awk 'NR==2 {print int($4 / 1048576)}')
if [ "$free_gb" -lt 8 ]; then
    echo "SKIP bench_depth: $free_gb GB free in $DIR, 8 needed"; exit 0
fi
M="$DIR/dense"
rm -rf "$M" "$DIR/p25"
"$P" synth --hidden 4096 --intermediate 11008 --layers "$LAYERS" --heads 32 \
    --vocab 32000 --context 512 --dtype bf16 --out "$M" >/dev/null || exit 1
NREM=$((LAYERS / 4))
"$P" prune --model "$M" --tokenizer "$TOK" --method shortgpt \
    --remove-layers "$NREM" --calib tinystories --nsamples 8 --seqlen 128 \
    --threads "$TH" --quiet --out "$DIR/p25" --json "$DIR/p25.json" \
    >"$DIR/p25.log" 2>&1 || { cat "$DIR/p25.log"; exit 1; }
tps() { # tokens/s of one eval run
    "$P" eval --model "$1" --tokenizer "$TOK" --dataset tinystories \
        --max-chunks "$CH" --threads "$TH" --quiet --json "$DIR/e.json" \
        >/dev/null 2>&1 || return 1
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['tokens_per_second'])" "$DIR/e.json"
}
: >"$DIR/t.txt"
i=0
while [ $i -lt "$REPS" ]; do
    for v in dense p25; do echo "$v $(tps "$DIR/$v")" >>"$DIR/t.txt"; done
    i=$((i + 1))
done
med() { grep "^$1 " "$DIR/t.txt" | awk '{print $2}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
js() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j[sys.argv[2]])" "$1" "$2"; }
{
    echo "bench_depth: LLaMA-7B-shaped synthetic bf16 (hidden 4096, intermediate 11008,"
    echo "32 heads, vocab 32000), $LAYERS of 32 layers; ShortGPT removing $NREM layers (25%),"
    echo "removed: $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['removed_layers'])" "$DIR/p25.json"),"
    echo "calibration 8 x 128 tinystories tokens; cprune eval tinystories, $CH chunk(s) of 512,"
    echo "$TH threads, ISA $(python3 -c "import json; print(json.load(open(\"$DIR/e.json\"))[\"isa\"])");"
    echo "dense/pruned interleaved, $REPS rounds, median tokens/s. $(date -u +%F)"
    d=$(med dense)
    printf '%-8s %7s %14s %14s %10s %10s %8s\n' model layers linear_params total_params file_MiB tok/s speedup
    for v in dense p25; do
        if [ $v = dense ]; then ly=$(js "$DIR/p25.json" layers_before); lp=$(js "$DIR/p25.json" linear_params_before); tp=$(js "$DIR/p25.json" params_before)
        else ly=$(js "$DIR/p25.json" layers_after); lp=$(js "$DIR/p25.json" linear_params_after); tp=$(js "$DIR/p25.json" params_after); fi
        sz=$(du -m "$DIR/$v/model.safetensors" | cut -f1)
        t=$(med $v)
        printf '%-8s %7s %14s %14s %10s %10.2f %8.3f\n' $v "$ly" "$lp" "$tp" "$sz" "$t" "$(echo "$t / $d" | bc -l)"
    done
    echo "all runs (tok/s):"
    sed 's/^/  /' "$DIR/t.txt"
} | tee "$OUT"
rm -rf "$M" "$DIR/p25"
