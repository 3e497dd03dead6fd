#!/bin/sh
# bench/bench_llamacpp.sh: cprune vs llama.cpp's llama-bench on the same
# LLaMA-2-7B-shaped synthetic bf16 model (hand-run, not part of `make
# bench`: llama.cpp is built by hand outside the repo, never a dependency).
#
#   LLAMA=/work/big/llama.cpp/build/bin WORK=/work/big/sparse3 LAYERS=8 \
#       REPS=5 TOKENS=16 sh bench/bench_llamacpp.sh [build] > log
#   sh bench/bench_llamacpp.sh --table log     (medians as a markdown table)
#
# Models (made once in $WORK, reused): `cprune synth` (hidden 4096, MLP
# 11008, 32 heads, vocab 32000, $LAYERS layers, bf16, seed 7) and the same
# draws in f32 (`synth --dtype f32 --seed 7`); GGUF BF16 and F32 from them
# with `cprune convert`; magnitude 50% unstructured and 2:4 of the bf16
# model, written compressed (`prune --out-format sparse`: bitmask / nm).
# Each rep, interleaved, every side on the same 512-token prompt length:
#   llama-bench -p 512 -n $TOKENS -pg 512,$TOKENS -r 1 -t $THREADS on BF16
#   and F32: pp512 = prefill, tgN = decode from an empty cache, and decode
#   at context 512 derived as N / (t(pg512,N) - t(pp512)) from the reported
#   rates (this llama-bench has no depth option);
#   cprune generate --bench --tokens $TOKENS (dense bf16, dense f32, the
#   two compressed models) on a 512-token prompt (the
#   first 1900 bytes of TinyStories eval with the LLaMA-2 tokenizer: 517
#   tokens incl. BOS): prefill tok/s and decode tok/s at context 517+;
#   and for the dense sides, cprune generate --bench --tokens $TOKENS with
#   no prompt (BOS only): decode from an empty cache, the condition of
#   llama-bench's tgN (rows <tag>_tgN: compare with llama_*_tgN).
# Heavy (several GB): each rep runs under flock $LOCK. PREP_ONLY=1 makes
# the models and stops. MODELS=DIR takes the models from DIR instead of
# $WORK (made there if missing; the prompt and logs stay in $WORK).
# SIDES (default "bf16 f32 sparse") picks the sides: e.g. SIDES=f32 runs
# only llama.cpp F32 and cprune f32, so only those two models (7 GB each
# at 8 layers) compete for the page cache. Residency is measured, not
# assumed: each rep prints the page cache's share of every model file it
# will read (fincore), and each run adds an "R <tag>_majflt N" line (its
# major page faults, i.e. weight pages read from disk, from /usr/bin/time):
# a decode figure with major faults measured the disk, not the kernels.
set -u
if [ "${1:-}" = "--table" ]; then
    # median of each "name value" line group
    grep '^R ' "$2" | awk '{print $2, $3}' | sort -k1,1 -k2,2g | awk '
        { v[$1] = v[$1] " " $2; n[$1]++ }
        END { for (k in v) { split(substr(v[k], 2), a, " ");
              m = n[k] % 2 ? a[(n[k] + 1) / 2] : (a[n[k] / 2] + a[n[k] / 2 + 1]) / 2;
              printf "%-28s median %8.3f  (n=%d: %s)\n", k, m, n[k], substr(v[k], 2) } }' |
        sort
    exit 0
fi
B=${1:-build}
P="$B/cprune"
D=${CPRUNE_DATA:-../shared}
export CPRUNE_DATA="$D"
LLAMA=${LLAMA:-/work/big/llama.cpp/build/bin}
WORK=${WORK:-/work/big/sparse3}
LAYERS=${LAYERS:-8}
REPS=${REPS:-5}
N=${TOKENS:-16}
TH=${THREADS:-2}
LOCK=${LOCK:-/work/big/heavy.lock}
HID=${HIDDEN:-4096} MLP=${INTERMEDIATE:-11008} # smaller only to try the script
TOK="$D/models/llama2-tokenizer/tokenizer.bin"
MODELS=${MODELS:-$WORK}
SIDES=${SIDES:-bf16 f32 sparse}
M="$MODELS/l$LAYERS-h$HID"
mkdir -p "$WORK" "$MODELS"
head -c 1900 "$D/data/tinystories/eval.txt" > "$WORK/prompt.txt"

if [ ! -f "$M/config.json" ]; then
    flock "$LOCK" nice "$P" synth --hidden "$HID" --intermediate "$MLP" --layers "$LAYERS" \
        --heads 32 --vocab 32000 --context 4096 --dtype bf16 --seed 7 --out "$M" || exit 1
    cp "$TOK" "$M/tokenizer.bin" # the GGUF files get its vocabulary
fi
# The F32 comparison: the same synth draws kept in f32 (the bf16 model is
# them rounded), as an HF directory for cprune and a GGUF F32 for llama.cpp.
if [ ! -f "$M-f32/config.json" ]; then
    flock "$LOCK" nice "$P" synth --hidden "$HID" --intermediate "$MLP" --layers "$LAYERS" \
        --heads 32 --vocab 32000 --context 4096 --dtype f32 --seed 7 --out "$M-f32" || exit 1
    cp "$TOK" "$M-f32/tokenizer.bin"
fi
[ -f "$M-bf16.gguf" ] ||
    flock "$LOCK" nice "$P" convert --model "$M" --out "$M-bf16.gguf" \
        --dtype bf16 >/dev/null || exit 1
[ -f "$M-f32.gguf" ] ||
    flock "$LOCK" nice "$P" convert --model "$M-f32" --out "$M-f32.gguf" \
        --dtype f32 >/dev/null || exit 1
for v in 50:--sparsity=0.5 24:--pattern=2:4; do
    name=${v%%:*} arg=${v#*:}
    [ -f "$M-c$name/config.json" ] ||
        flock "$LOCK" nice "$P" prune --model "$M" --method magnitude "${arg%%=*}" "${arg#*=}" \
            --out-format sparse --out "$M-c$name" --tokenizer "$TOK" --threads "$TH" \
            >/dev/null || exit 1
done
du -sh "$M" "$M-f32" "$M-bf16.gguf" "$M-f32.gguf" "$M-c50" "$M-c24"
[ "${PREP_ONLY:-0}" = 1 ] && exit 0

 side() { case " $SIDES " in *" $1 "*) return 0 ;; esac; return 1; }
# faults TAG: the major page faults of the run just timed into $WORK/time.txt
faults() { [ -n "$TIME" ] && awk -F: -v tag="$1" '$1 == "F" { print "R", tag "_majflt", $2 }' "$WORK/time.txt"; }
# resident FILE...: "name resident/size GiB" of each file (page cache)
resident() {
    command -v fincore >/dev/null || return 0
    for f in "$@"; do
        fincore -b -n -o RES,SIZE "$f" 2>/dev/null | awk -v f="${f##*/}" '
            { r += $1; s += $2 } END { printf " %s %.1f/%.1f", f, r / 2^30, s / 2^30 }'
    done
    echo
}
TIME="/usr/bin/time -f F:%F -o $WORK/time.txt"
[ -x /usr/bin/time ] || TIME=""
llrun() { # file tag: prints R lines (tok/s)
    $TIME "$LLAMA/llama-bench" -m "$1" -p 512 -n "$N" -pg "512,$N" -r 1 -t "$TH" -o csv 2>/dev/null |
        awk -F, -v tag="$2" -v n="$N" '
            NR == 1 { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); col[h] = i } next }
            { p = $col["n_prompt"]; g = $col["n_gen"]; ts = $col["avg_ts"];
              gsub(/"/, "", p); gsub(/"/, "", g); gsub(/"/, "", ts);
              if (g == 0) pp = ts; else if (p == 0) tg = ts; else pg = ts }
            END { print "R", tag "_pp512", pp; print "R", tag "_tg" n, tg;
                  if (pg > 0 && pp > 0) print "R", tag "_tg@512", n / ((512 + n) / pg - 512 / pp) }'
    faults "$2"
}
cprun() { # model tag
    $TIME "$P" generate --model "$1" --tokenizer "$TOK" --prompt "$(cat "$WORK/prompt.txt")" \
        --tokens "$N" --bench --quiet --threads "$TH" 2>&1 |
        sed -n 's/.*prefill \([0-9]*\) tokens.*(\([0-9.]*\) tok\/s), decode [0-9]* tokens.*(\([0-9.]*\) tok\/s).*/\1 \2 \3/p' |
        awk -v tag="$2" '{ print "R", tag "_prefill" $1, $2; print "R", tag "_decode@" $1, $3 }'
    faults "$2"
}
cptg() { # model tag: decode from an empty cache (BOS only), as llama-bench tgN
    $TIME "$P" generate --model "$1" --tokenizer "$TOK" --tokens "$N" --bench --quiet \
        --threads "$TH" 2>&1 |
        sed -n 's/.*decode [0-9]* tokens.*(\([0-9.]*\) tok\/s).*/\1/p' |
        awk -v tag="$2" -v n="$N" '{ print "R", tag "_tg" n, $1 }'
    faults "$2_tg"
}
for r in $(seq "$REPS"); do
    echo "== rep $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock 9 # held for the rep; other heavy jobs wait
    if side bf16; then
        echo "   resident (GiB):$(resident "$M-bf16.gguf" "$M"/*.safetensors)"
        llrun "$M-bf16.gguf" llama_bf16
        cprun "$M" cprune_dense
        cptg "$M" cprune_dense
    fi
    if side f32; then
        echo "   resident (GiB):$(resident "$M-f32.gguf" "$M-f32"/*.safetensors)"
        llrun "$M-f32.gguf" llama_f32
        cprun "$M-f32" cprune_dense_f32
        cptg "$M-f32" cprune_dense_f32
    fi
    if side sparse; then
        cprun "$M-c50" cprune_c50
        cprun "$M-c24" cprune_c24
    fi
    flock -u 9
done 9>"$LOCK"
