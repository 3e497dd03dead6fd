#!/bin/sh
# bench/bench_struct.sh: does structured pruning make the model faster?
# A LLaMA-7B-shaped synthetic bf16 model (hidden 4096, intermediate 11008,
# 32 heads, vocab 32000) with STRUCT_LAYERS (default 8) of the 32 layers
# (disk, memory and time on the 2-core build machine), pruned with FLAP (WIFV, AL-AM, bias compensation)
# at 20% and 50%; parameters, file size and `cprune eval` tokens/s of the
# dense and the pruned models, measured interleaved in one run (dense,
# 20%, 50%, repeated STRUCT_REPS times, default 5), STRUCT_CHUNKS (default
# 4) chunks of 512 tokens per eval. Reported per model: the median
# tokens/s and its ratio to the dense median, the median of the per-round
# ratios (each pruned run against the dense run of the same round), the
# same per-round median in tokens per CPU-second (eval's cpu_seconds: on a
# loaded machine this is the work saved, where wall time also carries the
# share of the cores each run got), and the arithmetic ratio: multiply-adds
# per token of the decoder linears plus lm_head (vocab x hidden, not
# pruned), dense over pruned; attention, norms and the NLL are outside it,
# so the measured ratio lands a little below it. More layers make lm_head a
# smaller share: with exactly 20% of the linears removed the arithmetic
# ratio is 1.227 at 8 layers, 1.238 at 16, 1.243 at 32 (the dense file is
# 0.4 GiB per layer + 0.5 GiB; the three models must fit in the page cache).
# Results: bench/results/struct.txt. The models live in $CPRUNE_BENCH_DIR
# (default /work/big/struct) and are deleted afterwards. The run holds the
# shared heavy-job lock (STRUCT_LOCK, default /work/big/heavy.lock, when its
# folder exists and flock is installed) so no other multi-GiB job overlaps.
# Then bench_struct_fwd (when built) times the forward pass of the three
# models in one process, interleaved, in process CPU seconds too. FWD_ROUNDS
# (default 5) sets its rounds. Then bench_struct_gemm (when built) times
# every linear of the three models at 512 tokens with their own mapped
# weights (GFLOP per CPU-second per distinct shape, against the dense
# shape of the same role; best of SGEMM_ROUNDS, default 3).
set -u
LOCK=${STRUCT_LOCK:-/work/big/heavy.lock}
if [ -z "${STRUCT_LOCKED:-}" ] && [ -d "$(dirname "$LOCK")" ] &&
    command -v flock >/dev/null 2>&1; then
    STRUCT_LOCKED=1 exec flock "$LOCK" nice sh "$0" "$@"
fi
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
DIR=${CPRUNE_BENCH_DIR:-/work/big/struct}
REPS=${STRUCT_REPS:-5}
TH=${STRUCT_THREADS:-2}
CH=${STRUCT_CHUNKS:-4}
NL=${STRUCT_LAYERS:-8}
OUT=bench/results/struct.txt
if [ ! -f "$TOK" ]; then echo "SKIP bench_struct: $TOK not found"; exit 0; fi
mkdir -p "$DIR" bench/results
free_gb=$(df -Pk "$DIR" | awk 'NR==2 {print int($4 / 1048576)}')
need_gb=$((NL + 2)) # dense 0.5 GB/layer + 0.5 GB embeddings, pruned copies
if [ "$free_gb" -lt "$need_gb" ]; then
    echo "SKIP bench_struct: $free_gb GB free in $DIR, $need_gb needed"; exit 0
fi
M="$DIR/dense"
rm -rf "$M" "$DIR/p20" "$DIR/p50"
"$P" synth --hidden 4096 --intermediate 11008 --layers "$NL" --heads 32 \
    --vocab 32000 --context 512 --dtype bf16 --out "$M" >/dev/null || exit 1
for r in 20 50; do
    "$P" prune --model "$M" --tokenizer "$TOK" --method flap \
        --sparsity 0.$r --calib tinystories --nsamples 8 --seqlen 128 \
        --threads "$TH" --quiet --out "$DIR/p$r" --json "$DIR/p$r.json" \
        >"$DIR/p$r.log" 2>&1 || { cat "$DIR/p$r.log"; exit 1; }
done
tps() { # tokens/s and tokens per CPU-second of one eval run
    "$P" eval --model "$1" --tokenizer "$TOK" --dataset tinystories \
        --max-chunks "$CH" --threads "$TH" --quiet --json "$DIR/e.json" \
        >/dev/null 2>&1 || return 1
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['tokens_per_second'], j['nchunks'] * j['seqlen'] / j['cpu_seconds'])" "$DIR/e.json"
}
: >"$DIR/t.txt"
i=0
while [ $i -lt "$REPS" ]; do
    for v in dense p20 p50; do
        t=$(tps "$DIR/$v") || { echo "bench_struct: eval of $v failed"; exit 1; }
        echo "$v $i $t" >>"$DIR/t.txt"
    done
    i=$((i + 1))
done
{
    echo "bench_struct: LLaMA-7B-shaped synthetic bf16 (hidden 4096, intermediate 11008,"
    echo "32 heads, vocab 32000), $NL of 32 layers; FLAP wifv/al-am/bias, calibration"
    echo "8 x 128 tinystories tokens; cprune eval tinystories, $CH chunks of 512,"
    echo "$TH threads, ISA $(python3 -c "import json; print(json.load(open(\"$DIR/e.json\"))[\"isa\"])");"
    echo "dense/20%/50% interleaved, $REPS rounds. $(date -u +%F)"
    python3 - "$DIR" <<'PY'
import json, statistics as st, sys, os
d = sys.argv[1]
runs = {}
for line in open(os.path.join(d, "t.txt")):
    v, r, tps, tpc = line.split()
    runs.setdefault(v, {})[int(r)] = (float(tps), float(tpc))
lm_head = 32000 * 4096  # vocab x hidden, the same in every model
p20 = json.load(open(os.path.join(d, "p20.json")))
print("%-6s %13s %13s %8s %8s %8s %9s %9s %6s" % ("model", "linear_params",
      "total_params", "file_MiB", "tok/s", "speedup", "per-round", "per-CPU-s", "arith"))
dl = p20["linear_params_before"] + lm_head
dense_med = st.median(t for t, _ in runs["dense"].values())
for v in ("dense", "p20", "p50"):
    if v == "dense":
        lp, tp = p20["linear_params_before"], p20["total_params_before"]
    else:
        j = json.load(open(os.path.join(d, v + ".json")))
        lp, tp = j["linear_params_after"], j["total_params_after"]
    mib = os.path.getsize(os.path.join(d, v, "model.safetensors")) >> 20
    med = st.median(t for t, _ in runs[v].values())
    rr = st.median(runs[v][r][0] / runs["dense"][r][0] for r in runs[v])
    rc = st.median(runs[v][r][1] / runs["dense"][r][1] for r in runs[v])
    print("%-6s %13d %13d %8d %8.1f %8.3f %9.3f %9.3f %6.3f" % (v, lp, tp, mib,
          med, med / dense_med, rr, rc, dl / (lp + lm_head)))
print("speedup: median tok/s over the dense median; per-round: median of each")
print("round's tok/s over that round's dense; per-CPU-s: the same in tokens per")
print("CPU-second; arith: (linear + lm_head) multiply-adds per token, dense/model")
print("all runs (round: tok/s, tok/CPU-s, and vs that round's dense):")
for r in sorted(runs["dense"]):
    dt, dc = runs["dense"][r]
    print("  round %d: " % r + "; ".join("%s %.1f %.1f (%.3f %.3f)" % (v,
          runs[v][r][0], runs[v][r][1], runs[v][r][0] / dt, runs[v][r][1] / dc)
          for v in ("dense", "p20", "p50")))
PY
    if [ -x "$B/bench_struct_fwd" ]; then
        echo "forward pass of one 512-token chunk, warm, interleaved (bench_struct_fwd):"
        FWD_THREADS="$TH" FWD_ROUNDS="${FWD_ROUNDS:-5}" "$B/bench_struct_fwd" \
            "$M" "$DIR/p20" "$DIR/p50" | sed 's/^/  /'
    fi
    if [ -x "$B/bench_struct_gemm" ]; then
        echo "GEMM rate of each linear, 512 tokens, own weights (bench_struct_gemm):"
        SGEMM_THREADS="$TH" SGEMM_ROUNDS="${SGEMM_ROUNDS:-3}" "$B/bench_struct_gemm" \
            "$M" "$DIR/p20" "$DIR/p50" | grep -v '^gemm_bf16w\|^kernel \|^wrote ' |
            sed 's/^/  /'
    fi
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
rm -rf "$M" "$DIR/p20" "$DIR/p50"
