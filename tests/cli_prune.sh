#!/bin/sh
# tests/cli_prune.sh: `cprune prune` end to end on the real stories260K
# model: usage errors (exit 2, message naming the option), the JSON record,
# both output formats reloaded by `cprune eval` with the same perplexity,
# the input left untouched, refusal to overwrite the input.
# usage: tests/cli_prune.sh BUILD_DIR   (run by `make test`)
NAME=cli_prune
. "$(dirname "$0")/cli_common.sh"

sha_before=$(sha256sum "$M/stories260K.bin" | cut -d' ' -f1)

# ---- usage errors ----
expect 2 "--model and --method" "$P" prune --method wanda --sparsity 0.5
expect 2 "unknown method 'nope'" "$P" prune --model "$M" --method nope --sparsity 0.5
expect 2 "exactly one of --sparsity" "$P" prune --model "$M" --method magnitude
expect 2 "exactly one of --sparsity" "$P" prune --model "$M" --method magnitude --sparsity 0.5 --pattern 2:4
expect 2 "expected N:M" "$P" prune --model "$M" --method magnitude --pattern 4:2
expect 2 "[0, 1)" "$P" prune --model "$M" --method magnitude --sparsity 1
expect 2 "give --calib" "$P" prune --model "$M" --method wanda --sparsity 0.5
expect 2 "option of method sparsegpt, not of wanda" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --blocksize 64
expect 2 "unknown option" "$P" prune --model "$M" --method magnitude --sparsity 0.5 --opts nope=1
expect 2 "exceeds the model context" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --seqlen 4096
expect 2 "random or sequential" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --calib-sampling x
# ---- failures (exit 1) ----
expect 1 "at most" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --nsamples 100000 --quiet
expect 1 "nope.txt" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib "$T/nope.txt" --quiet
expect 2 "layers.0.q_proj" "$P" prune --model "$M" --method magnitude --pattern 3:7 --quiet
expect 1 "refusing" "$P" prune --model "$M" --method magnitude --sparsity 0.5 --out "$M/stories260K.bin" --out-format llama2c --quiet

# ---- a calibrated run with every output ----
"$P" prune --model "$M" --method wanda --pattern 2:4 --calib tinystories \
    --nsamples 8 --seqlen 256 --calib-sampling random --seed 3 --quiet \
    --out "$T/hf" --json "$T/run.json" >"$T/out" 2>"$T/err" || bad "wanda run: $(cat "$T/err")"
for key in '"method": "wanda"' '"pattern": "2:4"' '"sampling": "random"' \
           '"seed": 3' '"nsamples": 8' '"seqlen": 256' '"tokens_sha256"' \
           '"sparsity": 0.5,' '"per_matrix"' '"statistics"' '"peak_rss_bytes"' \
           '"windows"' '"isa"' '"threads"'; do
    grep -q -- "$key" "$T/run.json" && ok || bad "run.json lacks $key"
done
[ -f "$T/hf/model.safetensors" ] && [ -f "$T/hf/config.json" ] && \
    [ -f "$T/hf/tokenizer.bin" ] && ok || bad "hf output incomplete: $(ls "$T/hf")"
grep -q '"cprune.method":"wanda"\|"cprune.method": "wanda"' "$T/hf/model.safetensors" && ok ||
    bad "__metadata__ lacks cprune.method"

# ---- every method x base runs with diagnostics on (score quantiles from
# the method's scores entry where it has one, none where it does not) ----
for mo in "owl --owl-base sparsegpt" "owl --owl-base magnitude" "mixed" \
          "dsnot --dsnot-base sparsegpt" "ria" "swiftprune"; do
    # shellcheck disable=SC2086
    "$P" prune --model "$M" --method $mo --sparsity 0.5 --calib tinystories \
        --nsamples 4 --seqlen 128 --quiet --json "$T/m.json" >"$T/out" 2>"$T/err" &&
        grep -q '"recon_err"' "$T/m.json" && ok || bad "prune $mo: $(tail -c 300 "$T/err")"
done

# ---- both formats reload to the same perplexity ----
"$P" prune --model "$M" --method magnitude --sparsity 0.5 --quiet --out "$T/l2c.bin" \
    --out-format llama2c >"$T/out" 2>"$T/err" || bad "llama2c out: $(cat "$T/err")"
"$P" prune --model "$M" --method magnitude --sparsity 0.5 --quiet --out "$T/hf2" \
    >"$T/out" 2>"$T/err" || bad "hf out: $(cat "$T/err")"
a=$("$P" eval --model "$T/l2c.bin" --tokenizer "$M/tok512.bin" --dataset tinystories --max-chunks 20 --quiet 2>&1 | grep '^ppl')
b=$("$P" eval --model "$T/hf2" --dataset tinystories --max-chunks 20 --quiet 2>&1 | grep '^ppl')
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "llama2c vs hf output ppl: '$a' vs '$b'"

# ---- every registered method has an explanation with its paper ----
for m in $("$P" methods | grep -E '^[a-z]' | cut -d' ' -f1); do
    "$P" explain "$m" 2>&1 | grep -q '^paper:' && ok || bad "explain $m lacks its paper"
done
expect 2 "unknown method 'nope'" "$P" explain nope

# ---- the token cache: a second run reads the cache, same ids ----
"$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --nsamples 4 \
    --seqlen 128 --token-cache "$T/tc" --quiet --json "$T/c1.json" >/dev/null 2>&1 || bad "token cache run 1"
"$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --nsamples 4 \
    --seqlen 128 --token-cache "$T/tc" --quiet --json "$T/c2.json" >/dev/null 2>&1 || bad "token cache run 2"
[ "$(ls "$T/tc" | wc -l)" = 1 ] && ok || bad "token cache holds $(ls "$T/tc" | wc -l) files, want 1"
[ "$(grep tokens_sha256 "$T/c1.json")" = "$(grep tokens_sha256 "$T/c2.json")" ] && ok || bad "cached windows differ"

sha_after=$(sha256sum "$M/stories260K.bin" | cut -d' ' -f1)
[ "$sha_before" = "$sha_after" ] && ok || bad "input model modified"

echo "cli_prune: $pass passed, $fails failed"
[ "$fails" = 0 ]
