#!/bin/sh
# tests/cli_gguf.sh: cprune convert and prune --out-format gguf end to end:
# files start with the GGUF v3 magic, the dtype option changes the size as
# it should, llama2.c models get a vocabulary, usage errors exit 2 before
# any work, existing outputs need --force, failures leave no file, and
# GGUF given as input is refused as such.
NAME=cli_gguf
. "$(dirname "$0")/cli_common.sh"
H="$D/models/tinystories-656k"

magic() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
size() { wc -c <"$1" | tr -d ' '; }

for dt in f32 f16 bf16; do
    "$P" convert --model "$M" --out "$T/m-$dt.gguf" --dtype "$dt" >/dev/null 2>&1 \
        || bad "convert --dtype $dt"
    [ "$(magic "$T/m-$dt.gguf")" = "4747554603000000" ] && ok || bad "$dt: magic/version"
done
s32=$(size "$T/m-f32.gguf") s16=$(size "$T/m-bf16.gguf")
[ "$s16" -lt "$s32" ] && [ "$(size "$T/m-f16.gguf")" = "$s16" ] && ok \
    || bad "sizes f32 $s32 bf16 $s16"
grep -q "tokenizer.ggml.tokens" "$T/m-f32.gguf" && ok || bad "no vocabulary written"
grep -q '"deci"\|deci\.' "$T/m-f32.gguf" && bad "uniform model written as deci" || ok
grep -q "cprune.version" "$T/m-f32.gguf" && ok || bad "no provenance keys"

# usage errors: exit 2, before loading anything
expect 2 "expected f32, f16 or bf16" "$P" convert --model "$M" --out "$T/x.gguf" --dtype q4
expect 2 "ending in .gguf" "$P" convert --model "$M" --out "$T/x.bin"
expect 2 "required" "$P" convert --model "$M"
expect 2 "needs --out-format gguf" "$P" prune --model "$M" --method magnitude \
    --sparsity 0.5 --out "$T/y" --gguf-dtype f32
expect 2 "ending in .gguf" "$P" prune --model "$M" --method magnitude \
    --sparsity 0.5 --out "$T/y" --out-format gguf
expect 1 "" "$P" convert --model "$T/missing" --out "$T/x.gguf"
[ ! -e "$T/x.gguf" ] && ok || bad "a failed convert left a file"

# prune --out-format gguf; an existing file needs --force
"$P" prune --model "$M" --method magnitude --sparsity 0.5 --out "$T/p.gguf" \
    --out-format gguf --gguf-dtype f32 >/dev/null 2>&1 || bad "prune --out-format gguf"
d=$(($(size "$T/p.gguf") - s32)) # the same tensors (zeros stored) + provenance
[ "$d" -gt 0 ] && [ "$d" -lt 4096 ] && ok || bad "pruned gguf size differs from dense by $d"
grep -q "cprune.method" "$T/p.gguf" && grep -q "cprune.calibration" "$T/p.gguf" \
    && ok || bad "pruned gguf lacks the run's provenance"
cmp -s "$T/p.gguf" "$T/m-f32.gguf" && bad "pruned file equals the dense one" || ok
expect 1 "exists (--force replaces it)" "$P" prune --model "$M" --method magnitude \
    --sparsity 0.5 --out "$T/p.gguf" --out-format gguf
"$P" prune --model "$M" --method magnitude --sparsity 0.5 --out "$T/p.gguf" \
    --out-format gguf --force >/dev/null 2>&1 && ok || bad "--force"

# GGUF is an output format only: reading one says so (exit 1, before work)
expect 1 "is a GGUF file" "$P" eval --model "$T/m-f32.gguf" --dataset tinystories
expect 1 "is a GGUF file" "$P" generate --model "$T/m-f32.gguf" --prompt x
expect 1 "is a GGUF file" "$P" prune --model "$T/m-f32.gguf" --method magnitude \
    --sparsity 0.5 --out "$T/z"
[ ! -e "$T/z" ] && ok || bad "a refused prune left an output"

# HF model without a llama2.c tokenizer: written without a vocabulary
if [ -d "$H" ]; then
    "$P" convert --model "$H" --out "$T/h.gguf" >/dev/null 2>"$T/err" || bad "convert hf"
    grep -q "no vocabulary" "$T/err" && ok || bad "no note about the vocabulary"
fi

echo "$NAME: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
