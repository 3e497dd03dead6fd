#!/bin/sh
# tests/cli_calib_compute.sh: prune --calib-compute auto|f32|bf16
# (methods/calib_compute.h). On a model whose linears are already bf16,
# bf16 compute is the auto path (byte-identical output), and f32 compute
# is auto with the exact-widening bf16-weight GEMM (byte-identical to auto
# with the ISA capped at avx512, which differs from the top level only in
# that slot). On an f32 model, bf16 compute changes the result a little
# (perplexity within 2%, not identical), and f32 compute is auto.
NAME=cli_calib_compute
. "$(dirname "$0")/cli_common.sh"

H="$D/models/tinystories-656k"
S="$T/synth"
"$P" synth --hidden 64 --intermediate 160 --layers 3 --heads 4 --kv-heads 2 \
    --vocab 2048 --context 128 --dtype bf16 --seed 5 --init-std 0.05 \
    --tokenizer "$H/tokenizer.json" --out "$S" >/dev/null 2>&1 ||
    bad "synth failed"
ARGS="--method wanda --sparsity 0.5 --calib tinystories --nsamples 4
      --seqlen 64 --threads 2 --quiet --no-diagnostics"
run() { # run OUT [ENV=V] ARGS...: prune into $T/OUT
    o=$1
    shift
    # shellcheck disable=SC2086
    env "$@" $ARGS --out "$T/$o" >"$T/$o.log" 2>&1 || bad "prune $o: $(tail -2 "$T/$o.log")"
}
run auto "$P" prune --model "$S"
run bf16 "$P" prune --model "$S" --calib-compute bf16
run f32 "$P" prune --model "$S" --calib-compute f32
run capped CPRUNE_ISA=avx512 "$P" prune --model "$S"
if cmp -s "$T/auto/model.safetensors" "$T/bf16/model.safetensors"; then ok
else bad "bf16 weights: --calib-compute bf16 differs from auto"; fi
if cmp -s "$T/capped/model.safetensors" "$T/f32/model.safetensors"; then ok
else bad "bf16 weights: --calib-compute f32 differs from auto at avx512"; fi
grep -q 'compute bf16' "$T/bf16.log" || bad "calib line lacks 'compute bf16'"

# f32 weights (stories260K): f32 = auto; bf16 close but not identical.
E="--eval tinystories --max-chunks 8"
# shellcheck disable=SC2086
run m-auto "$P" prune --model "$M" $E
# shellcheck disable=SC2086
run m-f32 "$P" prune --model "$M" $E --calib-compute f32
# shellcheck disable=SC2086
run m-bf16 "$P" prune --model "$M" $E --calib-compute bf16
if cmp -s "$T/m-auto/model.safetensors" "$T/m-f32/model.safetensors"; then ok
else bad "f32 weights: --calib-compute f32 differs from auto"; fi
if cmp -s "$T/m-auto/model.safetensors" "$T/m-bf16/model.safetensors"; then
    bad "f32 weights: --calib-compute bf16 changed nothing"
else ok; fi
pa=$(sed -n 's/^eval: .*ppl \([0-9.]*\) .*/\1/p' "$T/m-auto.log")
pb=$(sed -n 's/^eval: .*ppl \([0-9.]*\) .*/\1/p' "$T/m-bf16.log")
if [ -n "$pa" ] && [ -n "$pb" ] &&
   awk -v a="$pa" -v b="$pb" 'BEGIN { d = (b - a) / a; exit !(d < 0.02 && d > -0.02) }'
then ok; else bad "ppl f32 '$pa' vs bf16 compute '$pb': over 2% apart"; fi

expect 2 "expected auto, f32 or bf16" "$P" prune --model "$S" --method wanda \
    --sparsity 0.5 --calib tinystories --calib-compute f16
echo "$NAME: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
