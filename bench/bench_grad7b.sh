#!/bin/sh
# bench/bench_grad7b.sh: anonymous memory and time of a gradient pass
# (GBLM's l1/l2 accumulators in a --grad-scratch file) on the 32-layer
# LLaMA-7B-shaped bf16 model, through bench_grad_mem (bench/bench_grad_mem.c:
# the model mmapped, RssAnon sampled every 20 ms, progress on stderr).
# The forward pass checkpoints all 32 layers; the backward pass runs from
# layer 31 down to GRAD7B_FIRST and keeps those layers' accumulators (one
# layer slab in RAM, the rest in the scratch file), so the peak memory is
# that of a full pass (the slab is one layer whatever the range) while the
# time and the scratch file cover 32 - FIRST layers; the full pass's time
# is projected from the measured per-layer backward time.
# Knobs (environment): GRAD7B_MODEL (a 32-layer model from `cprune synth
# --hidden 4096 --intermediate 11008 --layers 32 --heads 32 --vocab 32000
# --context 4096 --dtype bf16`), GRAD7B_TOKENS (128), GRAD7B_WINDOWS (2),
# GRAD7B_FIRST (30), GRAD7B_GROUP (0 = auto), GRAD7B_SCRATCH (/tmp; needs
# (32 - FIRST) x 1.51 GiB). Appends to bench/results/grad.txt; writes
# bench/results/grad_mem.json. On the shared machine run it as
#   flock /work/big/heavy.lock nice sh bench/bench_grad7b.sh
set -u
B=${1:-build}
M=${GRAD7B_MODEL:-/work/big/lead/7b/llama7b-bf16}
T=${GRAD7B_TOKENS:-128}
W=${GRAD7B_WINDOWS:-2}
F=${GRAD7B_FIRST:-30}
G=${GRAD7B_GROUP:-0}
S=${GRAD7B_SCRATCH:-/tmp}
OUT=bench/results/grad.txt
if [ ! -e "$M" ]; then echo "SKIP bench_grad7b: no model at $M"; exit 0; fi
mkdir -p bench/results
log=$(mktemp)
start=$(date -u +%Y-%m-%dT%H:%MZ)
"$B/bench_grad_mem" 1 "$T" "$S" "$W" "$G" "$M" "$F" >"$log" 2>&1
rc=$?
{
    echo
    echo "bench_grad7b ($start, load $(cut -d' ' -f1-3 /proc/loadavg)):" \
        "bench_grad_mem 1 $T $S $W $G $M $F -> rc $rc"
    grep -E '^\[|tokens:' "$log" | sed 's/^/    /'
} | tee -a "$OUT"
rm -f "$log"
exit $rc
