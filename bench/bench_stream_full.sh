#!/bin/sh
# bench/bench_stream_full.sh: issue 12 acceptance (a): `cprune prune` of
# all 32 blocks of a synthetic LLaMA-2-7B-shaped bf16 model with
# STREAM_FULL_NSAMPLES x 2048 calibration tokens (default 8), --shards,
# --calib-dtype bf16, inside a memory cgroup v1 limited to 16 GiB (page
# cache included). Peak anonymous memory: RssAnon of the process sampled
# every 0.5 s from /proc/PID/status (the cgroup's max_usage_in_bytes counts
# page cache too, so it is reported only as the cgroup's own peak).
# Per-block split from --json (seconds_per_block). Appends to
# bench/results/stream.txt. Skips (exit 0, saying why) when not root, when
# the cgroup v1 memory controller is missing, or when the model is absent
# (bench/bench_stream.sh synthesizes it). Long: ~1 h on 2 shared cores.
#   sh bench/bench_stream_full.sh [BUILD] [METHOD]   (METHOD: wanda)
set -u
B=${1:-build}
METHOD=${2:-wanda}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
DIR=${CPRUNE_BENCH_DIR:-/tmp/cprune-bench-7b}
M="$DIR/llama7b-bf16"
NS=${STREAM_FULL_NSAMPLES:-8}
TH=${STREAM_THREADS:-2}
EXTRA=${STREAM_FULL_EXTRA:-}
MAXS=${STREAM_FULL_MAX_S:-}
OUT=bench/results/stream.txt
CG=/sys/fs/cgroup/memory/cprune-stream-full
LIMIT=$((16 * 1024 * 1024 * 1024))
if [ "$(id -u)" != 0 ]; then
    echo "SKIP bench_stream_full: not root (needs a memory cgroup)"; exit 0; fi
if [ ! -d /sys/fs/cgroup/memory ]; then
    echo "SKIP bench_stream_full: no cgroup v1 memory controller"; exit 0; fi
if [ ! -f "$M/model.safetensors" ] || [ ! -f "$TOK" ]; then
    echo "SKIP bench_stream_full: $M or $TOK missing (run bench_stream.sh)"
    exit 0
fi
mkdir -p "$CG" || exit 1
echo "$LIMIT" >"$CG/memory.limit_in_bytes" || exit 1
echo 0 >"$CG/memory.max_usage_in_bytes" 2>/dev/null
label="full32-$METHOD-${NS}x2048-bf16act-cgroup16G"
log="$DIR/$label.log"
json="$DIR/$label.json"
samples="$DIR/$label.rss"
# The child moves itself into the cgroup before exec'ing cprune.
# shellcheck disable=SC2086
sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
    "$P" prune --model "$M" --tokenizer "$TOK" --calib tinystories \
    --nsamples "$NS" --seqlen 2048 --threads "$TH" --method "$METHOD" \
    --sparsity 0.5 --calib-dtype bf16 --shards --out "$DIR/out-full" --force \
    --json "$json" $EXTRA >"$log" 2>&1 &
pid=$!
t0=$(date +%s)
peak_a=0 peak_f=0
: >"$samples"
while kill -0 $pid 2>/dev/null; do
    a=$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status 2>/dev/null)
    f=$(awk '/^RssFile:/ {print $2}' /proc/$pid/status 2>/dev/null)
    [ -n "$a" ] && [ "$a" -gt "$peak_a" ] && peak_a=$a
    [ -n "$f" ] && [ "$f" -gt "$peak_f" ] && peak_f=$f
    [ -n "$a" ] && echo "$(($(date +%s) - t0)) $a $f" >>"$samples"
    if [ -n "$MAXS" ] && [ $(($(date +%s) - t0)) -gt "$MAXS" ]; then
        kill $pid # STREAM_FULL_MAX_S: stop a run that cannot finish in time
        echo "   stopped after STREAM_FULL_MAX_S=$MAXS s" >>"$log"
    fi
    sleep 0.5
done
wait $pid
rc=$?
t1=$(date +%s)
cgmax=$(cat "$CG/memory.max_usage_in_bytes")
fail=$(cat "$CG/memory.failcnt")
oom=$(awk '/oom_kill / {print $2}' "$CG/memory.oom_control")
{
    echo "== bench_stream_full $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs, threads $TH"
    echo "   model $M (32 blocks); $METHOD 50%, $NS x 2048 tokens (tinystories), --calib-dtype bf16 --shards $EXTRA"
    echo "   inside memory cgroup v1 $CG, limit_in_bytes 16 GiB (page cache included)"
    printf '%-40s rc %d  wall %d s  peak RssAnon %.2f GiB  peak RssFile %.2f GiB (sampled every 0.5 s)\n' \
        "$label" $rc $((t1 - t0)) "$(echo "$peak_a / 1048576" | bc -l)" \
        "$(echo "$peak_f / 1048576" | bc -l)"
    printf '   cgroup: max_usage %.2f GiB (anonymous + page cache), failcnt %s, oom_kill %s\n' \
        "$(echo "$cgmax / 1073741824" | bc -l)" "$fail" "${oom:-?}"
    grep -E '^plan:|^pruned:|^written:|^  block [0-9]*/[0-9]* done in|stopped after' "$log" |
        sed 's/^ */    /'
} | tee -a "$OUT"
if [ -f "$json" ]; then
    python3 - "$json" <<'PY' | tee -a "$OUT"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["seconds_per_block"]
keys = ["forward", "statistics", "pruning", "diagnostics", "writing"]
tot = {k: sum(x[k] for x in b) for k in keys}
print("   seconds, all blocks: " + ", ".join("%s %.1f" % (k, v) for k, v in tot.items())
      + "; run total %.1f" % d["seconds"]["total"])
mid = sorted(b[1:], key=lambda x: x["total"])[len(b[1:]) // 2]
print("   median block (%d): " % mid["block"] + ", ".join("%s %.1f" % (k, mid[k]) for k in keys))
print("   block 0 (with the embedding): " + ", ".join("%s %.1f" % (k, b[0][k]) for k in keys))
PY
fi
rmdir "$CG" 2>/dev/null
exit $rc
