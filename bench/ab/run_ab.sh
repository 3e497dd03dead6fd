#!/bin/sh
# bench/ab/run_ab.sh: before/after timing of the GEMM, SYRK and Cholesky
# kernels of two library builds, alternated case by case (old, new, then
# new, old in the next round) so that load from other processes on a shared
# machine hits both alike. Each figure is the best over rounds of the best
# of REPS calls (column 6 of the case list) on THREADS threads (1: thread
# CPU time, robust to time slicing on a loaded machine; else wall time).
#
# usage: bench/ab/run_ab.sh OLD_TREE NEW_TREE ROUNDS THREADS OUT.tsv [CASES]
#   CASES: a file of lines "op isa m n k reps" replacing the built-in list
#   *_TREE: a source tree whose build/libcprune.a is built (make -j2 build/libcprune.a)
set -eu
old=$1 new=$2 rounds=$3 threads=$4 out=$5
tmp=$(mktemp -d)
for t in old new; do
    eval tree=\$$t
    cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$tree" "$(dirname "$0")/ab_kernels.c" \
       "$tree/bench/bench_util.c" "$tree/build/libcprune.a" -lm -lpthread -o "$tmp/ab_$t"
done
# op isa m n k reps
cases="gemm_bf16w avx512bf16 512 4096 4096 2
gemm_bf16w avx512bf16 512 11008 4096 2
gemm_bf16w avx512bf16 512 4096 11008 2
gemm_bf16w avx512bf16 2048 4096 4096 2
gemm_bf16w avx512bf16 32 256 4096 200
gemm_f32 avx512 512 4096 4096 2
gemm_f32 avx512 512 11008 4096 2
gemm_f32 avx512 512 4096 11008 2
gemm_f32 avx512 2048 4096 4096 2
gemm_f32 avx512 32 256 4096 200
gemm_f32 avx512 4 4096 4096 200
gemm_bf16w avx512 512 4096 4096 2
gemm_bf16w avx512 512 11008 4096 2
gemm_f16w avx512 512 4096 4096 2
gemm_f32 avx2 512 4096 4096 2
gemm_f32 avx2 512 11008 4096 2
gemm_f32 avx2 32 256 4096 200
gemm_bf16w avx2 512 4096 4096 2
gemm_f16w avx2 512 4096 4096 2
syrk avx512 0 4096 2048 2
syrk avx2 0 4096 2048 2
cholesky avx512 0 4096 0 2
cholesky avx2 0 4096 0 2"
if [ $# -ge 6 ]; then cases=$(cat "$6"); fi
: > "$out"
r=1
while [ $r -le "$rounds" ]; do
    echo "$cases" | while read -r op isa m n k reps; do
        if [ $((r % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
        for t in $order; do
            res=$("$tmp/ab_$t" "$op" "$isa" "$m" "$n" "$k" "$reps" "$threads")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$threads" "$op" "$isa" "$m" "$n" "$k" "$res" >> "$out"
        done
    done
    r=$((r + 1))
done
rm -rf "$tmp"
