#!/bin/sh
# tests/cli_stream.sh: prune --shards / --resume / --blocks
# (data/model_shards.h): the sharded output reloads to the perplexity of
# the single-file output; a run SIGKILLed after some blocks and resumed
# gives byte-identical files; bad --blocks / --resume are usage errors.
NAME=cli_stream
. "$(dirname "$0")/cli_common.sh"

H="$D/models/tinystories-656k"
S="$T/synth"
# A synthetic 6-block model with a real tokenizer (vocab of tinystories-656k).
"$P" synth --hidden 64 --intermediate 160 --layers 6 --heads 4 --kv-heads 2 \
    --vocab 2048 --context 128 --dtype bf16 --seed 3 --init-std 0.05 \
    --tokenizer "$H/tokenizer.json" --out "$S" >/dev/null 2>&1 ||
    bad "synth failed"

ARGS="--method sparsegpt --sparsity 0.5 --calib tinystories --nsamples 6
      --seqlen 64 --threads 2 --quiet"
# shellcheck disable=SC2086
"$P" prune --model "$S" $ARGS --out "$T/one" >/dev/null 2>&1 || bad "prune one"
# shellcheck disable=SC2086
"$P" prune --model "$S" $ARGS --out "$T/ref" --shards >/dev/null 2>&1 ||
    bad "prune --shards"
[ -f "$T/ref/model.safetensors.index.json" ] &&
    [ -f "$T/ref/model-00007-of-00007.safetensors" ] &&
    [ ! -e "$T/ref.partial" ] || bad "sharded layout missing"
p1=$("$P" eval --model "$T/one" --dataset tinystories --max-chunks 2 2>&1 | grep '^ppl:')
p2=$("$P" eval --model "$T/ref" --dataset tinystories --max-chunks 2 2>&1 | grep '^ppl:')
if [ -n "$p1" ] && [ "$p1" = "$p2" ]; then ok; else
    bad "sharded reload ppl '$p2' != single file '$p1'"; fi

# Kill -9 once two block shards are on disk, then resume.
# shellcheck disable=SC2086
CPRUNE_TEST_COMMIT_DELAY_MS=150 "$P" prune --model "$S" $ARGS \
    --out "$T/res" --shards >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$T/res.partial/model-00002-of-00007.safetensors.sha256" ] &&
      [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -d "$T/res.partial" ] && [ ! -e "$T/res" ]; then ok; else
    bad "no partial run left after SIGKILL"; fi
# shellcheck disable=SC2086
expect 1 "add --resume" "$P" prune --model "$S" $ARGS --out "$T/res" --shards
# shellcheck disable=SC2086
out=$("$P" prune --model "$S" $ARGS --out "$T/res" --resume 2>&1) ||
    bad "resume failed: $out"
case "$out" in
*"resume:    "[2-6]" of 6 blocks"*) ok ;;
*) bad "resume reused no block: $out" ;;
esac
for f in "$T"/ref/*; do
    b=$(basename "$f")
    if cmp -s "$f" "$T/res/$b"; then ok; else bad "resumed $b differs"; fi
done
[ "$(ls "$T/ref" | wc -l)" = "$(ls "$T/res" | wc -l)" ] || bad "file sets differ"

# A partial run of another configuration is not reused.
# shellcheck disable=SC2086
CPRUNE_TEST_COMMIT_DELAY_MS=150 "$P" prune --model "$S" $ARGS \
    --out "$T/cfg" --shards >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$T/cfg.partial/model-00001-of-00007.safetensors.sha256" ] &&
      [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
# shellcheck disable=SC2086
out=$("$P" prune --model "$S" $ARGS --sparsegpt-blocksize 32 --out "$T/cfg" \
      --resume 2>&1) || bad "resume (other options) failed: $out"
case "$out" in
*"resume:    0 of 6 blocks"*) ok ;;
*) bad "shards of another configuration were reused: $out" ;;
esac

# --blocks: only the range changes; blocks outside keep their bytes.
# shellcheck disable=SC2086
"$P" prune --model "$S" $ARGS --blocks 1:3 --out "$T/blk" --shards \
    >/dev/null 2>&1 || bad "prune --blocks"
if cmp -s "$T/ref/model-00001-of-00007.safetensors" \
       "$T/blk/model-00001-of-00007.safetensors"; then
    bad "--blocks 1:3 left block 0 identical to the pruned one (metadata differs)"
else ok; fi
z=$("$P" info --model "$T/blk" 2>&1 | grep -c . )
[ "$z" -gt 0 ] || bad "info on --blocks output"
# --json: seconds_per_block, one object per block whose phases add up to
# the run's totals; a progress line with the ETA per pruned block.
# shellcheck disable=SC2086
"$P" prune --model "$S" $(echo "$ARGS" | sed 's/--quiet//') --blocks 1:3 \
    --out "$T/tim" --shards --json "$T/tim.json" >/dev/null 2>"$T/tim.err" ||
    bad "prune --json (timings)"
n=$(grep -c '^  block [0-9]/6 done in .*ETA [0-9]* s$' "$T/tim.err")
[ "$n" = 2 ] || bad "expected 2 per-block progress lines, found $n"
if python3 - "$T/tim.json" <<'PY'; then ok; else bad "seconds_per_block"; fi
import json, sys
d = json.load(open(sys.argv[1]))
b, t = d["seconds_per_block"], d["seconds"]
assert [x["block"] for x in b] == list(range(6)), b
keys = ["forward", "statistics", "pruning", "diagnostics", "writing"]
tot = ["calibration_forward", "statistics", "pruning", "diagnostics",
       "writing_blocks"]
for x in b:
    assert all(x[k] >= 0 for k in keys), x
    assert abs(x["total"] - sum(x[k] for k in keys)) < 1e-9, x
for k, kt in zip(keys, tot):
    assert abs(sum(x[k] for x in b) - t[kt]) < 1e-6, (k, kt)
assert all(x["writing"] > 0 for x in b), "every block is written"
assert all(x["pruning"] == 0 for x in b[3:]), "nothing pruned past 1:3"
assert b[1]["pruning"] > 0 and b[2]["pruning"] > 0
PY
# --calib-store disk: the activation buffer in an unlinked scratch file;
# the output is byte-identical to the RAM store's; nothing is left behind;
# the plan counts it as file-backed.
mkdir -p "$T/scratch"
# shellcheck disable=SC2086
"$P" prune --model "$S" $ARGS --calib-store disk --tmp-dir "$T/scratch" \
    --out "$T/disk" >"$T/disk.out" 2>&1 || bad "prune --calib-store disk"
if cmp -s "$T/one/model.safetensors" "$T/disk/model.safetensors"; then ok
else bad "--calib-store disk output differs from the RAM store's"; fi
[ -z "$(ls "$T/scratch")" ] || bad "scratch file left in --tmp-dir"
grep -q "in a scratch file in $T/scratch (--calib-store disk: file-backed" \
    "$T/disk.out" || bad "plan does not show the file-backed activations"
grep -q "anonymous .* activations 0.00 (on disk)" "$T/disk.out" ||
    bad "plan counts the disk store as anonymous"
# shellcheck disable=SC2086
expect 2 "not a writable directory" "$P" prune --model "$S" $ARGS \
    --calib-store disk --tmp-dir "$T/nonexistent"
# shellcheck disable=SC2086
expect 2 "--tmp-dir is for --calib-store disk" "$P" prune --model "$S" $ARGS \
    --tmp-dir "$T"
expect 2 "--blocks" "$P" prune --model "$S" $ARGS --blocks 3:2
expect 2 "the model has 6 blocks" "$P" prune --model "$S" $ARGS --blocks 0:7
expect 2 "--resume" "$P" prune --model "$S" $ARGS --resume

echo "$NAME: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
