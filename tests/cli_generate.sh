#!/bin/sh
# tests/cli_generate.sh: cprune compress / decompress / generate end to end
# on the tiny real models: compressed greedy output equals the zero-stored
# model's, decompress restores the weights (same logits-driven output and
# the same perplexity), errors exit with the documented codes.
NAME=cli_generate
. "$(dirname "$0")/cli_common.sh"
H="$D/models/tinystories-656k"

ids() { grep -A200 '"token_ids"' "$1" | sed -n '/\[/,/\]/p' | tr -d ' \n'; }

for src in "$M" "$H"; do
    [ -d "$src" ] || continue
    n=$(basename "$src")
    "$P" prune --model "$src" --method magnitude --sparsity 0.5 --out "$T/$n-50" \
        >/dev/null 2>&1 || bad "$n: prune 50%"
    "$P" prune --model "$src" --method magnitude --pattern 2:4 --out "$T/$n-24" \
        >/dev/null 2>&1 || bad "$n: prune 2:4"
    for s in 50 24; do
        "$P" compress --model "$T/$n-$s" --out "$T/$n-c$s" >"$T/cout" 2>&1 \
            || bad "$n-$s: compress: $(cat "$T/cout")"
        "$P" generate --model "$T/$n-$s" --prompt "Once upon a time" --tokens 64 \
            --quiet --json "$T/z.json" >/dev/null 2>&1 || bad "$n-$s: generate zero-stored"
        "$P" generate --model "$T/$n-c$s" --prompt "Once upon a time" --tokens 64 \
            --quiet --json "$T/c.json" >/dev/null 2>&1 || bad "$n-$s: generate compressed"
        [ -n "$(ids "$T/z.json")" ] && [ "$(ids "$T/z.json")" = "$(ids "$T/c.json")" ] \
            && ok || bad "$n-$s: greedy ids differ between zero-stored and compressed"
        "$P" decompress --model "$T/$n-c$s" --out "$T/$n-d$s" >/dev/null 2>&1 \
            || bad "$n-$s: decompress"
        "$P" generate --model "$T/$n-d$s" --prompt "Once upon a time" --tokens 64 \
            --quiet --json "$T/d.json" >/dev/null 2>&1 || bad "$n-$s: generate decompressed"
        [ "$(ids "$T/z.json")" = "$(ids "$T/d.json")" ] && ok \
            || bad "$n-$s: decompressed model generates differently"
    done
    grep -q '"bitmask' "$T/$n-c50/model.safetensors" && ok || bad "$n: 50% not stored as bitmask"
    grep -q '"nm24' "$T/$n-c24/model.safetensors" && ok || bad "$n: 2:4 not stored as nm24"
    # prune --out-format sparse writes the compressed model directly.
    "$P" prune --model "$src" --method magnitude --sparsity 0.5 --out "$T/$n-ps" \
        --out-format sparse >/dev/null 2>&1 || bad "$n: prune --out-format sparse"
    "$P" generate --model "$T/$n-ps" --prompt "Once upon a time" --tokens 64 \
        --quiet --json "$T/p.json" >/dev/null 2>&1 || bad "$n: generate prune-sparse"
    "$P" generate --model "$T/$n-c50" --prompt "Once upon a time" --tokens 64 \
        --quiet --json "$T/c.json" >/dev/null 2>&1 || bad "$n: generate c50"
    [ "$(ids "$T/p.json")" = "$(ids "$T/c.json")" ] && ok \
        || bad "$n: prune --out-format sparse differs from prune + compress"
    # 50% unstructured does not fit 2:4: the error names tensor and group.
    expect 1 "group" "$P" compress --model "$T/$n-50" --out "$T/bad" --layout nm
done

# Perplexity of the compressed model equals the zero-stored one's (the
# prefill path decompresses panels exactly).
a=$("$P" eval --model "$T/stories260K-50" --dataset tinystories --split eval 2>/dev/null | grep '^ppl')
b=$("$P" eval --model "$T/stories260K-c50" --dataset tinystories --split eval 2>/dev/null | grep '^ppl')
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "ppl zero-stored '$a' vs compressed '$b'"

# Sampling is reproducible per seed; --bench and --json record speeds.
"$P" generate --model "$M" --prompt "Once" --tokens 20 --temperature 0.8 --top-p 0.9 \
    --seed 7 --quiet --json "$T/s1.json" >/dev/null 2>&1 || bad "sampled run 1"
"$P" generate --model "$M" --prompt "Once" --tokens 20 --temperature 0.8 --top-p 0.9 \
    --seed 7 --quiet --json "$T/s2.json" >/dev/null 2>&1 || bad "sampled run 2"
[ "$(ids "$T/s1.json")" = "$(ids "$T/s2.json")" ] && ok || bad "same seed, different samples"
"$P" generate --model "$M" --prompt "Once" --tokens 8 --bench --quiet --json "$T/b.json" \
    >/dev/null 2>"$T/berr" || bad "bench run"
for k in text prefill_tokens_per_second decode_tokens_per_second isa threads; do
    grep -q "\"$k\"" "$T/b.json" && ok || bad "json lacks $k"
done
grep -q "decode 7 tokens" "$T/berr" && ok || bad "bench did not run all steps: $(cat "$T/berr")"

# Usage and data errors.
expect 2 "--layout" "$P" compress --model "$M" --out "$T/x" --layout csr
expect 2 "required" "$P" compress --model "$M"
expect 2 "--tokens" "$P" generate --model "$M" --tokens 0
expect 2 "--top-p" "$P" generate --model "$M" --top-p 2
expect 1 "does not exist" "$P" generate --model "$T/nope"
expect 1 "does not exist" "$P" decompress --model "$T/nope" --out "$T/y"

echo "cli_generate: $pass passed, $fails failed"
[ "$fails" = 0 ]
