#!/bin/sh
# tests/cli_prune_depth.sh: `cprune prune --method shortgpt` on stories260K
# (issue 14, depth): the usage errors (exit 2) come before any work; one
# layer removed reports the exact parameter counts (also in --json), the
# written directory has num_hidden_layers 4 and no tensors of the removed
# layer, and `cprune eval` on it gives the perplexity the prune run printed.
# SLEB / BlockPruner / FinerCut: their count options, --sparsity (removes
# until at least that fraction of the decoder linears is gone), a written
# sub-block-pruned model reloads to the same perplexity.
# usage: tests/cli_prune_depth.sh BUILD_DIR   (run by `make test`)
NAME=cli_prune_depth
. "$(dirname "$0")/cli_common.sh"
W="$M/stories260K.bin"
sg="--method shortgpt --quiet --threads 2 --nsamples 8 --seqlen 128"

expect 2 "needs exactly one of --remove-layers N" "$P" prune --model "$W" $sg
expect 2 "needs exactly one of --remove-layers N" "$P" prune --model "$W" $sg \
    --remove-layers 1 --sparsity 0.2
q="--quiet --threads 2 --nsamples 2 --seqlen 32"
expect 2 "is for the sub-block methods" "$P" prune --model "$W" --method sleb \
    $q --remove-blocks 1
expect 2 "is for the layer methods" "$P" prune --model "$W" \
    --method blockpruner $q --remove-layers 1
expect 2 "--angular is a shortgpt option" "$P" prune --model "$W" \
    --method finercut $q --remove-blocks 1 --angular
expect 2 "--exclude is a finercut option" "$P" prune --model "$W" \
    --method sleb $q --remove-layers 1 --exclude 0.1
expect 2 "at most 3 can be removed" "$P" prune --model "$W" --method sleb $q \
    --remove-layers 4
expect 2 "5 attention and 5 MLP sub-blocks" "$P" prune --model "$W" \
    --method blockpruner $q --remove-blocks 10
expect 2 "sleb can remove at most 135936" "$P" prune --model "$W" --method sleb \
    $q --sparsity 0.7
expect 2 "--sparsity" "$P" prune --model "$W" --method finercut $q \
    --sparsity 1.5
expect 2 "at most 4 can be removed" "$P" prune --model "$W" $sg --remove-layers 5
expect 2 "--remove-layers: expected" "$P" prune --model "$W" $sg --remove-layers x
expect 2 "" "$P" prune --model "$W" $sg --remove-layers 1 --bogus

expect 0 "" "$P" prune --model "$W" $sg --remove-layers 1 --out "$T/m" \
    --json "$T/r.json" --eval tinystories
cp "$T/out" "$T/prune.out"
head -c 4096 "$T/m/model.safetensors" | grep -q '"cprune.version":"[^"]*","cprune.source_model":"[^"]*","cprune.method":"shortgpt","cprune.target":"remove-layers 1"' && ok || bad "no provenance in the output's __metadata__"
if grep -q '^layers:    5 -> 4' "$T/prune.out" &&
   grep -q '^params:    260032 -> 214592 ' "$T/prune.out"; then ok
else bad "layer/param lines: $(cat "$T/prune.out")"; fi
if grep -q '"num_hidden_layers": 4' "$T/m/config.json"; then ok
else bad "config: $(cat "$T/m/config.json")"; fi
if grep -q '"params_after": 214592' "$T/r.json" &&
   grep -q '"removed_layers"' "$T/r.json"; then ok
else bad "json: $(cat "$T/r.json")"; fi
# the protocol every record carries
if python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if len(j['model_sha256']) == 64 and j['isa'] and j['threads'] == 2 and j['version'] else 1)" "$T/r.json"; then ok
else bad "json protocol: $(head -c 400 "$T/r.json")"; fi
if grep -q 'layers\.4\.' "$T/m/model.safetensors"; then
    bad "layer 4 tensors still written"
else ok; fi
ppl=$(sed -n 's/^eval: .*ppl \([0-9.]*\).*/\1/p' "$T/prune.out")
expect 0 "" "$P" eval --model "$T/m" --dataset tinystories --quiet
ppl2=$(sed -n "s/^ppl: *\([0-9.]*\).*/\1/p" "$T/out" | head -1)
if [ -n "$ppl" ] && [ "$ppl" = "$ppl2" ]; then ok
else bad "reloaded ppl '$ppl2' vs prune's '$ppl'"; fi

# sleb: 2 layers, exact counts in text and JSON
expect 0 "" "$P" prune --model "$W" --method sleb $q --remove-layers 2 \
    --json "$T/s.json"
if grep -q '^layers:    5 -> 3' "$T/out" &&
   grep -q '^params:    260032 -> 169152 ' "$T/out" &&
   grep -q '"params_after": 169152' "$T/s.json" &&
   grep -q '"early_barrier": 1' "$T/s.json"; then ok
else bad "sleb: $(cat "$T/out")"; fi
# --sparsity 0.1 of 226560 decoder-linear params: ceil = 22656; one MLP
# (3 x 64 x 172 = 33024) or two attention blocks (12288 each: 4 kv heads)
expect 0 "" "$P" prune --model "$W" --method finercut $q --sparsity 0.1 \
    --json "$T/f.json"
lin=$(sed -n 's/.*decoder linears 226560 -> \([0-9]*\).*/\1/p' "$T/out")
if [ -n "$lin" ] && [ $((226560 - lin)) -ge 22656 ] &&
   grep -q '"sparsity": 0.1' "$T/f.json"; then ok
else bad "finercut --sparsity: $(cat "$T/out")"; fi
# blockpruner: written, reloaded, same perplexity
head -c 60000 "$D/data/tinystories/eval.txt" > "$T/ev.txt"
expect 0 "" "$P" prune --model "$W" --method blockpruner $q --remove-blocks 3 \
    --out "$T/b" --eval "$T/ev.txt"
cp "$T/out" "$T/bp.out"
if grep -q '^blocks:    attention' "$T/bp.out"; then ok
else bad "blockpruner lines: $(cat "$T/bp.out")"; fi
ppl=$(sed -n 's/^eval: .*ppl \([0-9.]*\).*/\1/p' "$T/bp.out")
expect 0 "" "$P" eval --model "$T/b" --text "$T/ev.txt" --quiet
ppl2=$(sed -n "s/^ppl: *\([0-9.]*\).*/\1/p" "$T/out" | head -1)
if [ -n "$ppl" ] && [ "$ppl" = "$ppl2" ]; then ok
else bad "blockpruner reloaded ppl '$ppl2' vs prune's '$ppl'"; fi

# --plan: the large buffers with their bytes, before tokenizer and
# calibration (the missing calibration file is never read); stories260K:
# finercut's dense logits of 4 windows x 32 tokens x vocab 512 x 4 bytes
expect 0 "" "$P" prune --model "$W" --method finercut --remove-blocks 1 --nsamples 4 --seqlen 32 --calib "$T/no-such-calib.txt" --plan
grep -q "dense logits of every window.*: 262144 bytes" "$T/out" && ok || bad "finercut --plan: $(cat "$T/out")"

echo "$NAME: $pass passed, $fails failed"
[ "$fails" = 0 ]
