#!/bin/sh
# bench/bench_gguf.sh: hand-run comparison with llama.cpp (not part of
# `make bench`: llama.cpp is built by hand, outside the repo).
#
#   LLAMA=/work/big/llama.cpp/build/bin WORK=/work/big/gguf \
#       sh bench/bench_gguf.sh ppl|speed [build]
#
# ppl:   converts stories260K (dense and Wanda 50%) and tinystories-656k to
#        GGUF f32 and prints llama-perplexity's figure beside
#        `cprune eval --protocol llamacpp` (TinyStories eval, n_ctx 512).
# speed: dense decode tokens/s, `cprune generate --bench` vs `llama-bench
#        -p 0 -n N` tg, on the GGUF files given in $MODELS (cprune reads the
#        HF directory of the same name without .gguf), 2 threads, runs
#        interleaved A/B, $REPS repetitions each; medians are taken from the
#        printed lines by hand.
set -u
MODE=${1:-ppl}
B=${2:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
LLAMA=${LLAMA:-/work/big/llama.cpp/build/bin}
WORK=${WORK:-/work/big/gguf}
TH=${THREADS:-2}
mkdir -p "$WORK"
TXT="$D/data/tinystories/eval.txt"

llppl() { # file.gguf -> "ppl"
    "$LLAMA/llama-perplexity" -m "$1" -f "$TXT" -c 512 -b 512 -t "$TH" 2>&1 |
        sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p'
}
cpppl() { # model -> "ppl"
    "$P" eval --model "$1" --dataset tinystories --split eval --protocol llamacpp \
        --threads "$TH" | sed -n 's/^ppl: *\([0-9.]*\).*/\1/p'
}

if [ "$MODE" = ppl ]; then
    S="$D/models/stories260K"
    H="$D/models/tinystories-656k"
    rm -rf "$WORK/w50hf"
    "$P" prune --model "$S" --method wanda --sparsity 0.5 --calib tinystories \
        --threads "$TH" --out "$WORK/w50hf" >/dev/null
    cp "$S/tok512.bin" "$WORK/w50hf/tokenizer.bin" 2>/dev/null
    for m in "$S" "$WORK/w50hf" "$H"; do
        g="$WORK/$(basename "$m").gguf"
        "$P" convert --model "$m" --out "$g" --dtype f32 >/dev/null 2>&1
        echo "$(basename "$m"): cprune $(cpppl "$m")  llama.cpp $(llppl "$g")"
    done
    exit 0
fi

N=${TOKENS:-64}
REPS=${REPS:-3}
for g in ${MODELS:-"$WORK/s7b8-bf16.gguf"}; do
    dir="${g%.gguf}"
    for r in $(seq "$REPS"); do
        c=$("$P" generate --model "$dir" --prompt "Once upon a time" --tokens "$N" \
            --bench --threads "$TH" 2>&1 | grep -i "decode" | head -1)
        l=$("$LLAMA/llama-bench" -m "$g" -p 0 -n "$N" -t "$TH" -r 1 2>/dev/null |
            grep "tg$N")
        echo "$(basename "$g") rep $r cprune: $c"
        echo "$(basename "$g") rep $r llama.cpp: $l"
    done
done
