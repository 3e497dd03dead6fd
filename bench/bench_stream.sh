#!/bin/sh
# bench/bench_stream.sh: peak anonymous memory and per-block times of
# `cprune prune` on a synthetic LLaMA-2-7B-shaped bf16 model (hidden 4096,
# intermediate 11008, 32 layers, 32 heads, vocab 32000), and of
# `cprune eval` on it. Peak RssAnon / RssFile are sampled from
# /proc/PID/status every 0.2 s (a sampled peak: a spike shorter than that
# can be missed). Results: bench/results/stream.txt.
# The model (13.5 GB) is synthesized once into $CPRUNE_BENCH_DIR (default
# /tmp/cprune-bench-7b); the bench skips with a message when the disk has
# less than 20 GB free. STREAM_NSAMPLES windows of STREAM_SEQLEN tokens
# (default 2 x 2048: the build machine has 2 cores) through blocks 0:2;
# the full 32-block time is projected from the per-block split.
set -u
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
DIR=${CPRUNE_BENCH_DIR:-/tmp/cprune-bench-7b}
NS=${STREAM_NSAMPLES:-2}
SL=${STREAM_SEQLEN:-2048}
TH=${STREAM_THREADS:-2}
OUT=bench/results/stream.txt
M="$DIR/llama7b-bf16"
mkdir -p "$DIR" bench/results
if [ ! -f "$TOK" ]; then echo "SKIP bench_stream: $TOK not found"; exit 0; fi
if [ ! -d "$M" ]; then
    free_gb=$(df -Pk "$DIR" | awk 'NR==2 {print int($4 / 1048576)}')
    if [ "$free_gb" -lt 20 ]; then
        echo "SKIP bench_stream: $free_gb GB free in $DIR, 20 needed"
        exit 0
    fi
    "$P" synth --hidden 4096 --intermediate 11008 --layers 32 --heads 32 \
        --vocab 32000 --context 4096 --dtype bf16 --out "$M" || exit 1
fi

# run LABEL COMMAND...: run it, sample its memory, append one line.
run() {
    label=$1
    shift
    log="$DIR/$label.log"
    "$@" >"$log" 2>&1 &
    pid=$!
    peak_a=0 peak_f=0
    while kill -0 $pid 2>/dev/null; do
        a=$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status 2>/dev/null)
        f=$(awk '/^RssFile:/ {print $2}' /proc/$pid/status 2>/dev/null)
        [ -n "$a" ] && [ "$a" -gt "$peak_a" ] && peak_a=$a
        [ -n "$f" ] && [ "$f" -gt "$peak_f" ] && peak_f=$f
        sleep 0.2
    done
    wait $pid
    rc=$?
    printf '%-28s rc %d  peak RssAnon %.2f GiB  peak RssFile %.2f GiB\n' \
        "$label" $rc "$(echo "$peak_a / 1048576" | bc -l)" \
        "$(echo "$peak_f / 1048576" | bc -l)" | tee -a "$OUT"
    grep -E '^plan:|timing|forward|statistics|pruning|written|ppl|tok/s' \
        "$log" | sed 's/^/    /' | tee -a "$OUT"
}

{
    echo "== bench_stream $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs, threads $TH"
    echo "   model $M; calibration $NS x $SL tokens (tinystories), blocks 0:2"
} | tee -a "$OUT"
C="--model $M --tokenizer $TOK --calib tinystories --nsamples $NS --seqlen $SL --threads $TH --blocks 0:2 --sparsity 0.5"
# shellcheck disable=SC2086
run wanda-bf16-act-shards "$P" prune $C --method wanda --calib-dtype bf16 \
    --shards --out "$DIR/out-wanda" --force --json "$DIR/wanda.json"
# shellcheck disable=SC2086
run wanda-f32-act "$P" prune $C --method wanda --json "$DIR/wanda-f32.json"
# shellcheck disable=SC2086
run sparsegpt-bf16-act "$P" prune $C --method sparsegpt --calib-dtype bf16 \
    --json "$DIR/sparsegpt.json"
for j in wanda wanda-f32 sparsegpt; do
    python3 - "$DIR/$j.json" <<'PY' | tee -a "$OUT"
import json, sys
d = json.load(open(sys.argv[1]))
def find(o, k):
    if isinstance(o, dict):
        if k in o: return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None: return r
    return None
keys = ["forward", "statistics", "pruning", "diagnostics", "writing_blocks"]
t = {k: find(d, k) for k in keys}
print("   %s: seconds for 2 blocks: %s" % (sys.argv[1].split("/")[-1],
      ", ".join("%s %.1f" % (k, v) for k, v in t.items() if isinstance(v, (int, float)))))
PY
done
# shellcheck disable=SC2086
run eval-bf16 "$P" eval --model "$M" --tokenizer "$TOK" --dataset tinystories \
    --seqlen 128 --max-chunks 1 --threads $TH
