#!/bin/sh
# bench/bench_struct.sh: does structured pruning make the model faster?
# A LLaMA-7B-shaped synthetic bf16 model (hidden 4096, intermediate 11008,
# 32 heads, vocab 32000) with STRUCT_LAYERS (default 8) of the 32 layers
# (disk, memory and time on the 2-core build machine), pruned with FLAP (WIFV, AL-AM, bias compensation)
# at 20% and 50%; parameters, file size and `cprune eval` tokens/s of the
# dense and the pruned models, measured interleaved in one run (dense,
# 20%, 50%, repeated STRUCT_REPS times; the median is reported).
# Results: bench/results/struct.txt. The models live in $CPRUNE_BENCH_DIR
# (default /work/big/struct) and are deleted afterwards. The run holds the
# shared heavy-job lock (STRUCT_LOCK, default /work/big/heavy.lock, when its
# folder exists and flock is installed) so no other multi-GiB job overlaps.
# Then bench_struct_fwd (when built) times the forward pass of the three
# models in one process, interleaved, in process CPU seconds too: on a
# loaded machine that ratio is the work saved, where `cprune eval` wall
# tokens/s also carry the share of the cores each run got (and eval's
# first chunk pays the page faults of mapping the weights). FWD_ROUNDS
# (default 5) sets its rounds.
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
REPS=${STRUCT_REPS:-3}
TH=${STRUCT_THREADS:-2}
CH=${STRUCT_CHUNKS:-2}
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
tps() { # tokens/s of one eval run
    "$P" eval --model "$1" --tokenizer "$TOK" --dataset tinystories \
        --max-chunks "$CH" --threads "$TH" --quiet --json "$DIR/e.json" \
        >/dev/null 2>&1 || return 1
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['tokens_per_second'])" "$DIR/e.json"
}
: >"$DIR/t.txt"
i=0
while [ $i -lt "$REPS" ]; do
    for v in dense p20 p50; do echo "$v $(tps "$DIR/$v")" >>"$DIR/t.txt"; done
    i=$((i + 1))
done
med() { grep "^$1 " "$DIR/t.txt" | awk '{print $2}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
params() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j[sys.argv[2]])" "$1" "$2"; }
{
    echo "bench_struct: LLaMA-7B-shaped synthetic bf16 (hidden 4096, intermediate 11008,"
    echo "32 heads, vocab 32000), $NL of 32 layers; FLAP wifv/al-am/bias, calibration"
    echo "8 x 128 tinystories tokens; cprune eval tinystories, $CH chunks of 512,"
    echo "$TH threads, ISA $(python3 -c "import json; print(json.load(open(\"$DIR/e.json\"))[\"isa\"])");"
    echo "dense/20%/50% interleaved, $REPS rounds, median tokens/s. $(date -u +%F)"
    d=$(med dense)
    printf '%-8s %14s %14s %12s %10s %8s\n' model linear_params total_params file_MiB tok/s speedup
    for v in dense p20 p50; do
        if [ $v = dense ]; then lp=$(params "$DIR/p20.json" linear_params_before); tp=$(params "$DIR/p20.json" total_params_before)
        else lp=$(params "$DIR/$v.json" linear_params_after); tp=$(params "$DIR/$v.json" total_params_after); fi
        sz=$(du -m "$DIR/$v/model.safetensors" | cut -f1)
        t=$(med $v)
        printf '%-8s %14s %14s %12s %10.1f %8.3f\n' $v "$lp" "$tp" "$sz" "$t" "$(echo "$t / $d" | bc -l)"
    done
    echo "all runs (tok/s):"
    sed 's/^/  /' "$DIR/t.txt"
    if [ -x "$B/bench_struct_fwd" ]; then
        echo "forward pass of one 512-token chunk, warm, interleaved (bench_struct_fwd):"
        FWD_THREADS="$TH" FWD_ROUNDS="${FWD_ROUNDS:-5}" "$B/bench_struct_fwd" \
            "$M" "$DIR/p20" "$DIR/p50" | sed 's/^/  /'
    fi
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
rm -rf "$M" "$DIR/p20" "$DIR/p50"
