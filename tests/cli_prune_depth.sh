#!/bin/sh
# tests/cli_prune_depth.sh: `cprune prune --method shortgpt` on stories260K
# (issue 14, depth): the usage errors (exit 2) come before any work; one
# layer removed reports the exact parameter counts (also in --json), the
# written directory has num_hidden_layers 4 and no tensors of the removed
# layer, and `cprune eval` on it gives the perplexity the prune run printed.
# usage: tests/cli_prune_depth.sh BUILD_DIR   (run by `make test`)
NAME=cli_prune_depth
. "$(dirname "$0")/cli_common.sh"
W="$M/stories260K.bin"
sg="--method shortgpt --quiet --threads 2 --nsamples 8 --seqlen 128"

expect 2 "--remove-layers N is required" "$P" prune --model "$W" $sg
expect 2 "at most 4 can be removed" "$P" prune --model "$W" $sg --remove-layers 5
expect 2 "--remove-layers: expected" "$P" prune --model "$W" $sg --remove-layers x
expect 2 "" "$P" prune --model "$W" $sg --remove-layers 1 --bogus

expect 0 "" "$P" prune --model "$W" $sg --remove-layers 1 --out "$T/m" \
    --json "$T/r.json" --eval tinystories
cp "$T/out" "$T/prune.out"
if grep -q '^layers:    5 -> 4' "$T/prune.out" &&
   grep -q '^params:    260032 -> 214592 ' "$T/prune.out"; then ok
else bad "layer/param lines: $(cat "$T/prune.out")"; fi
if grep -q '"num_hidden_layers": 4' "$T/m/config.json"; then ok
else bad "config: $(cat "$T/m/config.json")"; fi
if grep -q '"params_after": 214592' "$T/r.json" &&
   grep -q '"removed_layers"' "$T/r.json"; then ok
else bad "json: $(cat "$T/r.json")"; fi
if grep -q 'layers\.4\.' "$T/m/model.safetensors"; then
    bad "layer 4 tensors still written"
else ok; fi
ppl=$(sed -n 's/^eval: .*ppl \([0-9.]*\).*/\1/p' "$T/prune.out")
expect 0 "" "$P" eval --model "$T/m" --dataset tinystories --quiet
ppl2=$(sed -n "s/^ppl: *\([0-9.]*\).*/\1/p" "$T/out" | head -1)
if [ -n "$ppl" ] && [ "$ppl" = "$ppl2" ]; then ok
else bad "reloaded ppl '$ppl2' vs prune's '$ppl'"; fi

echo "$NAME: $pass passed, $fails failed"
[ "$fails" = 0 ]
