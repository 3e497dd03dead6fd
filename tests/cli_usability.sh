#!/bin/sh
# tests/cli_usability.sh: the CLI conventions of issue 18 for eval,
# tokenize, synth, info, explain, report and the top level: never clobber
# (synth --out), a token file checked against the model's tokenizer, the
# --threads warning, one exit-code convention (2 usage, 1 data/environment;
# README "Exit status"), one range notation, --help with groups, defaults
# and examples. Each check failed on the binary before that change.
# usage: tests/cli_usability.sh BUILD_DIR   (run by `make test`; < 30 s)
NAME=cli_usability
. "$(dirname "$0")/cli_common.sh"
M2="$D/models/tinystories-656k"

# stdout of COMMAND contains NEEDLE (exit status 0)
expect_out() {
    needle=$1
    shift
    if ! "$@" >"$T/out" 2>"$T/err"; then
        bad "exit $?: $* -- $(head -c 300 "$T/err")"
    elif ! grep -qF -- "$needle" "$T/out"; then
        bad "stdout lacks '$needle': $*"
    else
        ok
    fi
}

# ---- synth never clobbers ----
SYN="--hidden 16 --intermediate 32 --layers 1 --heads 2 --vocab 16 --context 16"
mkdir "$T/real"
printf '{"model_type": "llama"}\n' >"$T/real/config.json"
printf 'weights' >"$T/real/model.safetensors"
printf 'tokenizer' >"$T/real/tokenizer.json"
before=$(cat "$T/real/config.json" "$T/real/model.safetensors" | sha256sum)
# shellcheck disable=SC2086
expect 2 "is not empty" "$P" synth $SYN --out "$T/real"
after=$(cat "$T/real/config.json" "$T/real/model.safetensors" | sha256sum)
[ "$before" = "$after" ] && ok || bad "synth changed an existing model folder"
printf 'x' >"$T/file"
# shellcheck disable=SC2086
expect 2 "not a directory" "$P" synth $SYN --out "$T/file"
[ "$(cat "$T/file")" = x ] && ok || bad "synth replaced an existing file"
mkdir "$T/empty"
# shellcheck disable=SC2086
"$P" synth $SYN --out "$T/empty" >/dev/null 2>"$T/err" && ok || bad "synth into an empty folder: $(cat "$T/err")"
# shellcheck disable=SC2086
"$P" synth $SYN --out "$T/new" >/dev/null 2>"$T/err" && ok || bad "synth into a new folder: $(cat "$T/err")"
[ -f "$T/new/config.json" ] && [ -f "$T/new/model.safetensors" ] && ok || bad "synth wrote $(ls "$T/new")"
# a failing run leaves no folder behind
# shellcheck disable=SC2086
expect 1 "multiple of heads" "$P" synth $SYN --heads 3 --out "$T/debris"
[ ! -e "$T/debris" ] && ok || bad "failed synth left $(ls "$T/debris")"
# --arch: Mistral with its window and Qwen2 with q/k/v biases, in the
# layout transformers writes; anything else is a usage error
# shellcheck disable=SC2086
"$P" synth $SYN --arch mistral --sliding-window 8 --out "$T/mis" >/dev/null 2>"$T/err" &&
    grep -q '"MistralForCausalLM"' "$T/mis/config.json" &&
    grep -q '"sliding_window": 8' "$T/mis/config.json" && ok || bad "synth --arch mistral: $(cat "$T/err")"
# shellcheck disable=SC2086
"$P" synth $SYN --arch qwen2 --out "$T/qw" >/dev/null 2>"$T/err" &&
    grep -q '"Qwen2ForCausalLM"' "$T/qw/config.json" &&
    grep -q 'self_attn.k_proj.bias' "$T/qw/model.safetensors" && ok || bad "synth --arch qwen2: $(cat "$T/err")"
# shellcheck disable=SC2086
expect 2 "expected llama, mistral, qwen2, qwen3, gemma, opt, gpt2 or gpt_neox, found 'bloom'" "$P" synth $SYN --arch bloom --out "$T/g2"
# shellcheck disable=SC2086
expect 2 "needs --arch mistral" "$P" synth $SYN --sliding-window 8 --out "$T/sw"

# ---- eval --tokens checks the tokenizer the ids came from ----
"$P" tokenize --model "$M" --dataset tinystories --out "$T/s260.tok" >/dev/null 2>"$T/err" || bad "tokenize: $(cat "$T/err")"
h260=$(sha256sum "$M/tok512.bin" | cut -d' ' -f1)
expect_out "ppl:" "$P" eval --model "$M" --tokens "$T/s260.tok" --max-chunks 1 --quiet
if [ -d "$M2" ]; then
    h656=$(sha256sum "$M2/tokenizer.json" | cut -d' ' -f1)
    expect 1 "$h260" "$P" eval --model "$M2" --tokens "$T/s260.tok" --max-chunks 1 --quiet
    grep -qF "$h656" "$T/err" && ok || bad "mismatch message lacks the model's tokenizer hash: $(cat "$T/err")"
    grep -q '^ppl' "$T/out" && bad "a mismatched token file was evaluated" || ok
    expect 0 "evaluating anyway" "$P" eval --model "$M2" --tokens "$T/s260.tok" --max-chunks 1 --quiet --skip-tokenizer-check
else
    echo "SKIP $NAME: $M2 not found; token-file mismatch not checked"
fi
# a model without a tokenizer (synth): evaluated, with a warning
"$P" synth --hidden 16 --intermediate 32 --layers 1 --heads 2 --vocab 512 \
    --context 64 --out "$T/syn512" >/dev/null 2>&1 || bad "synth syn512"
expect 0 "cannot check" "$P" eval --model "$T/syn512" --tokens "$T/s260.tok" --max-chunks 1 --quiet
expect 2 "applies to --tokens only" "$P" eval --model "$M" --dataset tinystories --skip-tokenizer-check
printf 'not a token file at all, but long enough for a header.............' >"$T/bad.tok"
expect 1 "not a cprune token file" "$P" eval --model "$M" --tokens "$T/bad.tok"

# ---- --threads above the online CPUs warns ----
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
many=$((cpus + 1))
expect 0 "more than the $cpus online CPUs" "$P" info --threads "$many"
expect 0 "warning: --threads $many" "$P" eval --model "$M" --dataset tinystories --seqlen 16 --max-chunks 1 --threads "$many" --quiet
"$P" info --threads "$cpus" >/dev/null 2>"$T/err"
[ -s "$T/err" ] && bad "info --threads $cpus warned: $(cat "$T/err")" || ok

# ---- one exit-code convention: 2 usage, 1 data/environment ----
expect 2 "[2, 512]" "$P" eval --model "$M" --dataset tinystories --seqlen 100000
expect 2 "unknown dataset 'nope'" "$P" eval --model "$M" --dataset nope
expect 2 "unknown dataset 'nope'" "$P" tokenize --model "$M" --dataset nope
expect 2 "has no split 'nope'; expected one of eval, calib" "$P" eval --model "$M" --dataset tinystories --split nope
expect 2 "has no split 'nope'; expected one of eval, calib" "$P" tokenize --model "$M" --dataset tinystories --split nope
expect 2 "--split applies to --dataset" "$P" eval --model "$M" --text "$T/file" --split test
expect 2 "unknown option '--nope'" "$P" eval --model "$M" --nope
expect 2 "[1, 1024]" "$P" eval --model "$M" --dataset tinystories --threads 0
expect 2 "unknown method 'nope'" "$P" explain nope
expect 2 "give one method name" "$P" explain
expect 1 "not found" env CPRUNE_DATA="$T/empty" "$P" eval --model "$M" --dataset tinystories
expect 1 "" "$P" eval --model "$T/no-model" --dataset tinystories
expect 1 "results.jsonl" "$P" report "$T/empty"

# ---- --help: groups, defaults, examples; exit 0 ----
for c in eval tokenize synth info explain report; do
    expect_out "examples:" "$P" "$c" --help
done
expect_out "(default: all online CPUs)" "$P" eval --help
expect_out "text to score (exactly one of):" "$P" eval --help
expect_out "--hidden V             hidden size, in [2, 1048576] (required)" "$P" synth --help
expect_out "methods: magnitude wanda sparsegpt" "$P" explain --help
expect_out "exit status: 0 ok, 1 data or environment error, 2 usage error" "$P" --help
expect_out "text to score (exactly one of):" "$P" help eval
expect 2 "unknown command 'nope'" "$P" help nope
n=$("$P" eval --help | grep -c -- '--threads V')
[ "$n" = 1 ] && ok || bad "eval --help lists --threads $n times"

echo "cli_usability: $pass passed, $fails failed"
[ "$fails" = 0 ]
