#!/bin/sh
# tests/cli_arch.sh: `cprune synth --arch opt|gpt2|gpt_neox` and a prune /
# write / reload / eval round trip on each (issue 13). The forward pass of
# these families is checked against the PyTorch oracle in
# tests/test_forward_neox_gpt2.c and test_forward_kinds.c; here: the CLI
# accepts the families, refuses what they cannot be, and a pruned model
# written with --out loads again and evaluates to the perplexity the run
# printed.
NAME=cli_arch
. "$(dirname "$0")/cli_common.sh"
TOK=tests/fixtures/tok_gpt2_1500/tokenizer.json

expect 2 "has as many key/value heads" "$P" synth --arch gpt2 --hidden 64 \
    --intermediate 128 --layers 1 --heads 4 --kv-heads 2 --vocab 1757 \
    --context 64 --out "$T/bad"
expect 2 "expected llama, mistral, qwen2, qwen3, gemma, opt, gpt2 or gpt_neox" \
    "$P" synth --arch bloom --hidden 64 --intermediate 128 --layers 1 \
    --heads 4 --vocab 1757 --context 64 --out "$T/bad"

for a in opt gpt2 gpt_neox; do
    expect 0 "" "$P" synth --arch "$a" --hidden 64 --intermediate 128 \
        --layers 2 --heads 4 --vocab 1757 --context 160 --tokenizer "$TOK" \
        --out "$T/$a"
    grep -q "\"model_type\": \"$a\"" "$T/$a/config.json" && ok ||
        bad "$a: config.json model_type"
    "$P" prune --model "$T/$a" --method wanda --sparsity 0.5 --calib \
        tinystories --nsamples 4 --seqlen 128 --eval tinystories \
        --max-chunks 2 --out "$T/${a}_w" >"$T/p.out" 2>"$T/p.err" ||
        bad "$a: prune failed: $(head -c 300 "$T/p.err")"
    want=$(sed -n 's/^eval: .*ppl \([0-9.]*\).*/\1/p' "$T/p.out")
    "$P" eval --model "$T/${a}_w" --dataset tinystories \
        --max-chunks 2 >"$T/e.out" 2>"$T/e.err" ||
        bad "$a: eval of the written model failed: $(head -c 300 "$T/e.err")"
    got=$(sed -n 's/^ppl: *\([0-9.]*\).*/\1/p' "$T/e.out")
    [ -n "$want" ] && [ "$want" = "$got" ] && ok ||
        bad "$a: written model ppl '$got', the run printed '$want'"
    # width-structured FLAP 20% (issue 14): a smaller model in the family's
    # own layout, per-layer shapes in config.json, the printed perplexity
    # on reload
    "$P" prune --model "$T/$a" --method flap --sparsity 0.2 --calib \
        tinystories --nsamples 4 --seqlen 128 --eval tinystories \
        --max-chunks 2 --out "$T/${a}_f" >"$T/p.out" 2>"$T/p.err" ||
        bad "$a: flap failed: $(head -c 300 "$T/p.err")"
    want=$(sed -n 's/^eval: .*ppl \([0-9.]*\).*/\1/p' "$T/p.out")
    grep -q '"cprune_layer_shapes"' "$T/${a}_f/config.json" &&
        grep -q "\"model_type\": \"$a\"" "$T/${a}_f/config.json" && ok ||
        bad "$a: flap output config.json lacks model_type or layer shapes"
    "$P" eval --model "$T/${a}_f" --dataset tinystories \
        --max-chunks 2 >"$T/e.out" 2>"$T/e.err" ||
        bad "$a: eval of the flap model failed: $(head -c 300 "$T/e.err")"
    got=$(sed -n 's/^ppl: *\([0-9.]*\).*/\1/p' "$T/e.out")
    [ -n "$want" ] && [ -n "$got" ] &&
        awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; if (d < 0) d = -d;
            exit !(d <= 1e-6 * a + 5e-5) }' && ok ||
        bad "$a: flap model ppl '$got', the run printed '$want'"
    # llm-pruner (Taylor param_mix through the family's backward pass) 25%,
    # native and hf-padded output: the command reloads each and exits 1 if
    # the perplexity differs; padded = the stock config, no layer shapes
    for f in hf hf-padded; do
        "$P" prune --model "$T/$a" --method llm-pruner --sparsity 0.25 \
            --layers 0:2 --calib tinystories --nsamples 4 --seqlen 64 \
            --eval tinystories --max-chunks 2 --out "$T/${a}_lp_$f" \
            --out-format "$f" --json "$T/lp.json" >"$T/p.out" 2>"$T/p.err" ||
            bad "$a: llm-pruner --out-format $f failed: $(head -c 300 "$T/p.err")"
        grep -q "^reloaded: .*ppl" "$T/p.out" &&
            grep -q "\"model_type\": \"$a\"" "$T/${a}_lp_$f/config.json" &&
            grep -q '"linear_params_removed_fraction": 0.25' "$T/lp.json" && ok ||
            bad "$a: llm-pruner $f: no reload, model_type or 25% removed"
        if [ "$f" = hf ]; then
            grep -q '"cprune_layer_shapes"' "$T/${a}_lp_$f/config.json"
        else
            ! grep -q '"cprune_layer_shapes"' "$T/${a}_lp_$f/config.json"
        fi && ok || bad "$a: llm-pruner $f: layer shapes in config.json"
    done
done

# a calibration window longer than GPT-2's 160 learned positions is refused
# (exit 2), not read past pos_embed
expect 2 "exceeds the 160 learned positions" "$P" prune --model "$T/gpt2" \
    --method shortgpt --remove-layers 1 --calib tinystories --nsamples 2 \
    --seqlen 256 --quiet

echo "cli_arch: $pass passed, $fails failed"
[ "$fails" = 0 ]
