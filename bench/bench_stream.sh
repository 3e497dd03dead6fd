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
# STREAM_CALIB names the calibration text (default tinystories, which holds
# about 108k LLaMA-2 tokens: use ptb, its train split, for 128 x 2048);
# the full 32-block time is projected from the per-block split.
# Peak anonymous memory at 128 x 2048 is projected from each run's peak
# plus the plan's exact activation bytes times (128 / STREAM_NSAMPLES - 1)
# (the forward state, statistics and scratch do not grow with the windows:
# they are per chunk of 4096 tokens or per block).
# STREAM_PART=blocks|eval|all (default all). The eval part: `cprune eval`
# of the bf16 model, STREAM_EVAL_CHUNKS chunks (default 3) of
# STREAM_EVAL_SEQLEN tokens (default 512); peak RssAnon beyond the mapped
# weights, tokens/s, and the forward's GFLOP/s (2 x (decoder linears +
# lm_head) x tokens + causal attention 2 x seqlen x hidden per token and
# layer) against the f32 GEMM rate the plan measures (a 256 x 1024 x 1024
# product, `prune --plan`, best of 3 just before and best of 3 just after,
# mean of the two: a short measurement, so the best is the peak). Method:
# eval hashes the model through its own mapping before its timer, so every
# weight page is mapped (and read from disk if it was not cached) before
# the timed forward; whether that held is checked, not assumed: the page
# cache's share of the model files before the run (fincore), the page
# faults inside eval's timer (major = read from disk) and the first
# chunk's time reported apart from the others (the ratio is given for the
# chunks after the first and for all). The f32-weight target (0.8x the
# GEMM) needs an f32 model: STREAM_F32_LAYERS=N synthesizes the same
# shapes with N layers in f32 (~0.8 GB per layer + 1 GB embeddings/head;
# pick N so it fits in RAM beside the page cache the rest needs) into
# $CPRUNE_BENCH_DIR/llama7b-f32-lN, or STREAM_F32_MODEL=DIR names an
# existing one; without either the f32 eval is skipped with a message.
# The 32-block cgroup run is bench/bench_stream_full.sh.
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
PART=${STREAM_PART:-all}
CAL=${STREAM_CALIB:-tinystories}
ESEQ=${STREAM_EVAL_SEQLEN:-512}
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
    grep -E '^plan:|timing|forward|statistics|pruning|written|ppl|tok/s|^time:' \
        "$log" | sed 's/^/    /' | tee -a "$OUT"
    act=$(sed -n 's/^plan: *anonymous .* = activations \([0-9.]*\) .*/\1/p' "$log")
    if [ -n "$act" ] && [ "$NS" -lt 128 ]; then
        awk -v p="$peak_a" -v a="$act" -v n="$NS" 'BEGIN {
            printf "    projected peak RssAnon at 128 x 2048: %.2f + %.2f x (128/%d - 1) = %.2f GiB\n",
                   p / 1048576, a, n, p / 1048576 + a * (128 / n - 1) }' | tee -a "$OUT"
    fi
}

# STREAM_RUNS: the labels of the prune runs to do (default all four).
RUNS=${STREAM_RUNS:-wanda-bf16-act-shards wanda-f32-act sparsegpt-bf16-act sparsegpt-f32-act}
want() { case " $RUNS " in *" $1 "*) return 0 ;; esac; return 1; }

gemm_rate() { # the plan's measured f32 GEMM rate (GFLOP/s), best of 3
    for i in 1 2 3; do
        "$P" prune --model "$M" --tokenizer "$TOK" --method wanda --sparsity 0.5 \
            --calib tinystories --nsamples 1 --seqlen 2048 --threads "$TH" --plan \
            2>/dev/null | sed -n 's/.* at \([0-9.]*\) GFLOP.s measured.*/\1/p'
    done | sort -g | tail -1
}

# eval_one LABEL MODEL TARGET: one `cprune eval` of MODEL (see the header),
# its line and the figures against the plan's f32 GEMM rate.
ECH=${STREAM_EVAL_CHUNKS:-3}
eval_one() {
    label=$1 em=$2 target=$3
    res=$(fincore -b -n -o RES "$em"/*.safetensors 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}')
    size=$(for f in "$em"/*.safetensors; do wc -c < "$f"; done | awk '{s += $1} END {printf "%.0f", s}')
    awk -v l="$label" -v m="$em" -v r="$res" -v s="$size" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
        printf "   %s: model %s; the page cache holds %.2f of its %.2f GiB before the run; load %s\n",
               l, m, r / 2^30, s / 2^30, la }' | tee -a "$OUT"
    g1=$(gemm_rate)
    run "$label" "$P" eval --model "$em" --tokenizer "$TOK" \
        --dataset tinystories --seqlen "$ESEQ" --max-chunks "$ECH" --threads "$TH" \
        --quiet --json "$DIR/$label.json"
    g2=$(gemm_rate)
    python3 - "$DIR/$label.json" "$g1" "$g2" "$em/config.json" "$peak_a" "$peak_f" "$target" <<'PY' | tee -a "$OUT"
import json, sys
e, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[4]))
g = (float(sys.argv[2]) + float(sys.argv[3])) / 2
tgt = float(sys.argv[7])
H, I, L, V = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
lin = L * (4 * H * H + 3 * H * I) + V * H
s, n = e["seqlen"], e["nchunks"]
flop_tok = 2 * lin + 2 * s * H * L  # causal attention: QK^T + PV, s/2 keys avg
sec, first = e["seconds"], e["first_chunk_seconds"]
def rate(tok, t):
    return tok / t, tok / t * flop_tok / 1e9
tps, gf = rate(n * s, sec)
print("   eval: %d chunks of %d tokens in %.1f s (%.1f CPU s) = %.2f tokens/s = %.1f GFLOP/s; "
      "f32 GEMM rate %s / %s -> %.1f GFLOP/s; ratio %.2f (all chunks; target %.1f)"
      % (n, s, sec, e["cpu_seconds"], tps, gf, sys.argv[2], sys.argv[3], g, gf / g, tgt))
if n > 1:
    tps1, gf1 = rate(s, first)
    tps2, gf2 = rate((n - 1) * s, sec - first)
    print("   eval: first chunk %.1f s = %.1f GFLOP/s (ratio %.2f); chunks 2..%d %.1f s = %.2f tokens/s = %.1f GFLOP/s, ratio %.2f (target %.1f)"
          % (first, gf1, gf1 / g, n, sec - first, tps2, gf2, gf2 / g, tgt))
# On a loaded machine the wall rate is the share of the cores eval got;
# the CPU-second rate times the threads is what it does per core it has
# (an estimate that assumes the GEMM measurement got its cores).
gcpu = n * s * flop_tok / 1e9 / e["cpu_seconds"]
print("   eval: per CPU-second %.1f GFLOP x %d threads = %.1f GFLOP/s with its cores to itself; ratio %.2f (loaded-machine estimate)"
      % (gcpu, e["threads"], gcpu * e["threads"], gcpu * e["threads"] / g))
print("   eval: isa %s, %d threads; page faults while timed: %d minor, %d major (read from disk)"
      % (e["isa"], e["threads"], e["minor_faults"], e["major_faults"]))
print("   eval: peak RssAnon %.2f GiB beyond the mapped weights (RssFile %.2f GiB; target <= 1.5 GiB)"
      % (int(sys.argv[5]) / 1048576, int(sys.argv[6]) / 1048576))
PY
}

# eval_part: the bf16 eval, then the f32 one when a model is named.
eval_part() {
    echo "== bench_stream eval $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs, threads $TH" | tee -a "$OUT"
    eval_one eval-bf16-seq$ESEQ "$M" 1.5
    F32=${STREAM_F32_MODEL:-}
    if [ -z "$F32" ] && [ -n "${STREAM_F32_LAYERS:-}" ]; then
        F32="$DIR/llama7b-f32-l$STREAM_F32_LAYERS"
        if [ ! -f "$F32/config.json" ]; then
            "$P" synth --hidden 4096 --intermediate 11008 --layers "$STREAM_F32_LAYERS" \
                --heads 32 --vocab 32000 --context 4096 --dtype f32 --out "$F32" || return 1
        fi
    fi
    if [ -z "$F32" ]; then
        echo "   eval f32: skipped (set STREAM_F32_LAYERS=N or STREAM_F32_MODEL=DIR)" | tee -a "$OUT"
        return 0
    fi
    eval_one eval-f32-seq$ESEQ "$F32" 0.8
}

if [ "$PART" = eval ]; then
    eval_part
    exit 0
fi

{
    echo "== bench_stream $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs, threads $TH"
    echo "   model $M; calibration $NS x $SL tokens ($CAL), blocks 0:2"
} | tee -a "$OUT"
C="--model $M --tokenizer $TOK --calib $CAL --nsamples $NS --seqlen $SL --threads $TH --blocks 0:2 --sparsity 0.5"
# shellcheck disable=SC2086
want wanda-bf16-act-shards && run wanda-bf16-act-shards "$P" prune $C --method wanda --calib-dtype bf16 \
    --shards --out "$DIR/out-wanda" --force --json "$DIR/wanda.json"
# shellcheck disable=SC2086
want wanda-f32-act && run wanda-f32-act "$P" prune $C --method wanda --json "$DIR/wanda-f32.json"
# shellcheck disable=SC2086
want sparsegpt-bf16-act && run sparsegpt-bf16-act "$P" prune $C --method sparsegpt --calib-dtype bf16 \
    --json "$DIR/sparsegpt.json"
# shellcheck disable=SC2086
want sparsegpt-f32-act && run sparsegpt-f32-act "$P" prune $C --method sparsegpt \
    --json "$DIR/sparsegpt-f32.json"
for j in wanda wanda-f32 sparsegpt sparsegpt-f32; do
    [ -f "$DIR/$j.json" ] || continue
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
keys = ["calibration_forward", "statistics", "pruning", "diagnostics", "writing_blocks"]
t = {k: find(d, k) for k in keys}
print("   %s: seconds for 2 blocks: %s" % (sys.argv[1].split("/")[-1],
      ", ".join("%s %.1f" % (k, v) for k, v in t.items() if isinstance(v, (int, float)))))
PY
done
[ "$PART" = blocks ] && exit 0
eval_part
