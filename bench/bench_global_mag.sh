#!/bin/sh
# bench/bench_global_mag.sh: peak anonymous memory and time of
# `cprune prune --method magnitude --group global` on a synthetic
# LLaMA-2-7B-shaped bf16 model with GLOBAL_LAYERS layers (default 4: the
# machine's disk and RAM are shared), with and without --shards. Peak
# RssAnon sampled from /proc/PID/status every 0.1 s. When CPRUNE_OLD names
# an older cprune binary (one that copied every linear to f32 for the
# global threshold), it is run the same way, interleaved, for comparison,
# and the outputs are compared byte for byte.
# Results: bench/results/global_magnitude.txt.
set -u
B=${1:-build}
P="$B/cprune"
OLD=${CPRUNE_OLD:-}
DIR=${CPRUNE_BENCH_DIR:-/tmp/cprune-bench-global}
L=${GLOBAL_LAYERS:-4}
TH=${GLOBAL_THREADS:-2}
OUT=bench/results/global_magnitude.txt
M="$DIR/llama7b-${L}l-bf16"
mkdir -p "$DIR" bench/results
if [ ! -d "$M" ]; then
    free_gb=$(df -Pk "$DIR" | awk 'NR==2 {print int($4 / 1048576)}')
    if [ "$free_gb" -lt $((L + 4)) ]; then
        echo "SKIP bench_global_mag: $free_gb GB free in $DIR"
        exit 0
    fi
    "$P" synth --hidden 4096 --intermediate 11008 --layers "$L" --heads 32 \
        --vocab 32000 --context 4096 --dtype bf16 --out "$M" || exit 1
fi

run() {
    label=$1
    shift
    t0=$(date +%s.%N)
    "$@" >"$DIR/$label.log" 2>&1 &
    pid=$!
    peak=0
    while kill -0 $pid 2>/dev/null; do
        a=$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status 2>/dev/null)
        [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
        sleep 0.1
    done
    wait $pid
    rc=$?
    t1=$(date +%s.%N)
    printf '%-22s rc %d  peak RssAnon %.2f GiB  wall %.1f s\n' "$label" $rc \
        "$(echo "$peak / 1048576" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" |
        tee -a "$OUT"
}

{
    echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  bench_global_mag: $L layers" \
        "7B-shaped bf16 ($(nproc) cores, $TH threads, sparsity 0.5," \
        "min_density 0.05)"
} | tee -a "$OUT"
for rep in 1 2; do
    for v in new ${OLD:+old}; do
        bin=$P
        [ "$v" = old ] && bin=$OLD
        for sh in "" --shards; do
            o="$DIR/out-$v${sh:+-shards}"
            rm -rf "$o"
            run "$v${sh:+ shards} #$rep" nice "$bin" prune --model "$M" \
                --method magnitude --group global --sparsity 0.5 \
                --opts min_density=0.05 --threads "$TH" $sh --out "$o"
        done
    done
done
if [ -n "$OLD" ]; then
    for sh in "" -shards; do
        if (cd "$DIR/out-new$sh" && for f in *.safetensors; do
                cmp -s "$f" "../out-old$sh/$f" || exit 1; done); then
            echo "outputs new vs old${sh}: identical" | tee -a "$OUT"
        else
            echo "outputs new vs old${sh}: DIFFER" | tee -a "$OUT"
        fi
    done
fi
rm -rf "$DIR"/out-*
