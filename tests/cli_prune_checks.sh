#!/bin/sh
# tests/cli_prune_checks.sh: `cprune prune` fails before the expensive part
# and never clobbers (issue 18). On stories260K:
#   - a bad --json / --eval / --out-format / --out / tokenizer / method x
#     pattern fails with its exit code before anything is pruned (stdout
#     has no "pruned:" line)
#   - --out never merges into an existing directory; --force replaces only
#     an earlier cprune output, atomically
#   - SIGTERM during the write: exit 143, no *.tmp.* left, the message says
#     what was being written (hook CPRUNE_TEST_COMMIT_DELAY_MS)
#   - owl --pattern 2:4 with per-block patterns warns and records them
#   - --eval takes text files, --max-chunks, one [0, 1) wording, --help
#     groups and examples, `cprune methods` lists what each method accepts
# and on a LLaMA-2-7B-shaped directory whose weights are a sparse hole
# (tests/mk_sparse_model.py; needs python3): every early failure in < 1 s.
# usage: tests/cli_prune_checks.sh BUILD_DIR   (run by `make test`)
NAME=cli_prune_checks
. "$(dirname "$0")/cli_common.sh"

# expect_early STATUS NEEDLE ARGS...: prune fails with STATUS, NEEDLE on
# stderr, and nothing was pruned.
expect_early() {
    expect "$@"
    if grep -q '^pruned:' "$T/out"; then bad "pruned before failing: $*"; fi
}
mag="--method magnitude --sparsity 0.5 --quiet"

# ---- checks before pruning ----
expect_early 1 "--json $T/nodir/r.json: the folder" "$P" prune --model "$M" $mag --json "$T/nodir/r.json"
expect_early 2 "--eval: unknown corpus 'wikitxt2'" "$P" prune --model "$M" $mag --eval wikitxt2
expect_early 1 "--eval $T/none.txt" "$P" prune --model "$M" $mag --eval "$T/none.txt"
expect_early 2 "unknown corpus 'tinystoris'" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystoris --quiet
expect_early 2 "method mixed accepts only --sparsity" "$P" prune --model "$M" --method mixed --pattern 2:4 --calib tinystories --quiet
expect_early 2 "prunes all matrices at once" "$P" prune --model "$M" --method magnitude --group global --pattern 2:4 --quiet
expect_early 2 "--out-format llama2c" "$P" prune --model "$D/models/tinystories-656k" $mag --out "$T/x.bin" --out-format llama2c
expect_early 2 "--pattern: layers.0.q_proj" "$P" prune --model "$M" --method magnitude --pattern 3:7 --quiet
expect_early 2 "--gradient-norm: " "$P" prune --model "$M" --method gblm --gradient-norm l3 --sparsity 0.5 --calib tinystories --quiet
expect 0 "" "$P" prune --model "$M" --method gblm --sparsity 0.5 --calib tinystories --nsamples 2 --seqlen 64
grep -q '^gradients: dense gradient pre-pass' "$T/out" && ok || bad "gblm: no gradient pre-pass line"
expect_early 2 "--grad-dtype" "$P" prune --model "$M" --method gblm --grad-dtype f16 --sparsity 0.5 --calib tinystories --quiet
expect_early 2 "--grad-scratch $T/nodir: not a writable directory" "$P" prune --model "$M" --method gblm --grad-scratch "$T/nodir" --sparsity 0.5 --calib tinystories --quiet
expect_early 2 "are for gradient methods" "$P" prune --model "$M" --method wanda --grad-dtype bf16 --sparsity 0.5 --calib tinystories --quiet
# --grad-scratch (accumulators in a temporary file) prunes exactly as in RAM
g="--method gblm --sparsity 0.5 --calib tinystories --nsamples 2 --seqlen 64 --quiet --out-format llama2c"
"$P" prune --model "$M" $g --out "$T/g1.bin" >/dev/null 2>&1 &&
    "$P" prune --model "$M" $g --grad-scratch "$T" --out "$T/g2.bin" >/dev/null 2>&1 &&
    cmp -s "$T/g1.bin" "$T/g2.bin" && ok || bad "--grad-scratch changed the pruned model"
expect 0 "" "$P" prune --model "$M" $g --grad-dtype bf16 --out "$T/g3.bin"
expect_early 2 "hutch-eps" "$P" prune --model "$M" --method mixed --sensitivity hutchinson --hutch-eps 0 --sparsity 0.5 --calib tinystories --quiet
expect 0 "" "$P" prune --model "$M" --method mixed --sensitivity hutchinson --hutch-iters 2 --sparsity 0.5 --calib tinystories --nsamples 1 --seqlen 32
# --plan counts Hutchinson's pre-pass (an f32 copy of the linears + a backward pass)
"$P" prune --model "$M" --method mixed --sensitivity hutchinson --sparsity 0.5 --calib tinystories --nsamples 1 --seqlen 32 --plan 2>&1 |
    grep -q "^plan: .*dense pre-pass" && ok || bad "--plan lacks the hutchinson pre-pass"
"$P" prune --model "$M" --method mixed --sparsity 0.5 --calib tinystories --nsamples 1 --seqlen 32 --plan 2>&1 |
    grep -q "pre-pass" && bad "--plan shows a pre-pass for sensitivity=layer" || ok
grep -q '^gradients: Hessian-trace pre-pass' "$T/out" && ok || bad "mixed hutchinson: no pre-pass line"
expect_early 2 "exceeds the model context" "$P" prune --model "$M" --method wanda --sparsity 0.5 --calib tinystories --seqlen 4096 --quiet
mkdir -p "$T/notok" && ln -s "$(cd "$M" && pwd)/stories260K.bin" "$T/notok/stories260K.bin"
expect_early 1 "give --tokenizer" "$P" prune --model "$T/notok" $mag --out "$T/nt"
[ ! -e "$T/nt" ] && ok || bad "--out created although the tokenizer is missing"
# --tokenizer is what gets written beside the output
"$P" prune --model "$T/notok" $mag --tokenizer "$M/tok512.bin" --out "$T/nt2" >"$T/out" 2>"$T/err" &&
    cmp -s "$M/tok512.bin" "$T/nt2/tokenizer.bin" && ok || bad "--tokenizer not written with --out: $(cat "$T/err")"

# ---- never clobber ----
mkdir -p "$T/mine" && echo keep >"$T/mine/notes.txt"
expect_early 1 "cprune never writes into an existing directory" "$P" prune --model "$M" $mag --out "$T/mine"
expect_early 1 "not a cprune output" "$P" prune --model "$M" $mag --out "$T/mine" --force
[ "$(ls "$T/mine")" = notes.txt ] && ok || bad "existing directory changed: $(ls "$T/mine")"
mkdir -p "$T/empty"
"$P" prune --model "$M" $mag --out "$T/empty" >"$T/out" 2>"$T/err" && [ -f "$T/empty/model.safetensors" ] &&
    ok || bad "empty --out directory: $(cat "$T/err")"
"$P" prune --model "$M" $mag --out "$T/o1" >/dev/null 2>&1 || bad "first output"
expect_early 1 "--force replaces an earlier cprune output" "$P" prune --model "$M" --method magnitude --sparsity 0.6 --quiet --out "$T/o1"
"$P" prune --model "$M" --method magnitude --sparsity 0.6 --quiet --out "$T/o1" --force >"$T/out" 2>"$T/err" &&
    grep -aq '"cprune.sparsity":"0.6' "$T/o1/model.safetensors" && ok || bad "--force did not replace: $(cat "$T/err")"
[ -z "$(ls "$T" | grep -e '\.tmp\.' -e '\.old\.')" ] && ok || bad "debris after --force: $(ls "$T")"

# ---- SIGTERM / SIGINT during the write ----
for sig in TERM INT; do
    CPRUNE_TEST_COMMIT_DELAY_MS=4000 "$P" prune --model "$M" $mag --out "$T/sig$sig" >"$T/out" 2>"$T/err" &
    pid=$!
    # wait until the write has begun (its temporary directory exists): a
    # fixed sleep reached it too late on a loaded machine
    n=0
    while [ $n -lt 600 ] && ! ls "$T" | grep -q "sig$sig.tmp." &&
        kill -0 $pid 2>/dev/null; do
        sleep 0.1
        n=$((n + 1))
    done
    kill -$sig $pid
    wait $pid
    rc=$?
    want=143
    [ $sig = INT ] && want=130
    [ $rc = $want ] && ok || bad "SIG$sig during the write: exit $rc, want $want"
    grep -q "while writing $T/sig$sig.tmp." "$T/err" && ok || bad "SIG$sig message: $(cat "$T/err")"
    [ -z "$(ls "$T" | grep "sig$sig")" ] && ok || bad "SIG$sig left: $(ls "$T" | grep "sig$sig")"
done

# SIGINT while pruning (nothing written yet): the message names the phase
"$P" prune --model "$M" --method sparsegpt --sparsity 0.5 --calib tinystories --quiet >"$T/out" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && grep -q "interrupted (SIGINT) while " "$T/err" && ok || bad "SIGINT while pruning: exit $rc, $(cat "$T/err")"

# ---- OWL N:M per block ----
"$P" prune --model "$M" --method owl --pattern 2:4 --calib tinystories --nsamples 4 --seqlen 128 --quiet \
    --json "$T/owl.json" --out "$T/owl" >"$T/out" 2>"$T/err" || bad "owl 2:4: $(cat "$T/err")"
grep -q "warning: owl allocated N:M patterns per block" "$T/err" && ok || bad "owl: no warning"
grep -q '"pattern": "mixed N:M' "$T/owl.json" && grep -q '"block_patterns": "' "$T/owl.json" && ok ||
    bad "owl json claims: $(grep '"pattern' "$T/owl.json")"
grep -aq '"cprune.block_patterns":"' "$T/owl/model.safetensors" && ! grep -aq '"cprune.target":"2:4"' "$T/owl/model.safetensors" &&
    ok || bad "owl metadata claims 2:4"

# ---- eval files, --max-chunks, wording, help, methods ----
head -c 20000 "$D/data/tinystories/eval.txt" >"$T/my.txt"
"$P" prune --model "$M" $mag --eval "$T/my.txt,tinystories" --max-chunks 2 --json "$T/e.json" >"$T/out" 2>"$T/err" &&
    grep -q "^eval:      $T/my.txt / file" "$T/out" && grep -q '2 chunks (--max-chunks)' "$T/out" && ok ||
    bad "--eval FILE --max-chunks: $(cat "$T/err") $(grep eval: "$T/out")"
expect 2 "in [0, 1), found '1.5'" "$P" prune --model "$M" --method magnitude --sparsity 1.5
grep -q '\[0, 1\]' "$T/err" && bad "--sparsity says [0, 1]" || ok
"$P" prune --help >"$T/help" 2>&1
for k in "calibration (methods that need statistics):" "outputs:" "examples:" "(default 128)" "--force"; do
    grep -qF -- "$k" "$T/help" && ok || bad "prune --help lacks '$k'"
done
[ "$(grep -c -- '--sparsegpt-blocksize\|--blocksize' "$T/help")" = 1 ] && ok || bad "prune --help lists a method option twice"
"$P" methods | grep -A3 '^mixed' | grep -q 'patterns: --sparsity S (unstructured)$' && ok || bad "methods: mixed patterns"

# ---- a LLaMA-2-7B-shaped model: every early failure in under a second ----
if command -v python3 >/dev/null 2>&1; then
    S="$T/7b"
    python3 "$(dirname "$0")/mk_sparse_model.py" "$S" && cp "$D/models/llama2-tokenizer/tokenizer.bin" "$S/" || bad "mk_sparse_model"
    mkdir -p "$T/full7" && echo x >"$T/full7/x"
    # timed STATUS NEEDLE ARGS...
    timed() {
        t0=$(date +%s%N)
        expect "$@"
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        [ "$ms" -lt 1000 ] && ok || bad "7B early failure took $ms ms: $*"
    }
    timed 2 "--pattern: layers.0.q_proj" "$P" prune --model "$S" --method magnitude --pattern 3:7
    timed 2 "method mixed accepts only" "$P" prune --model "$S" --method mixed --pattern 2:4 --calib tinystories
    timed 1 "cprune never writes into an existing directory" "$P" prune --model "$S" $mag --out "$T/full7"
    timed 1 "refusing to write over the input model" "$P" prune --model "$S" $mag --out "$S" --force
    timed 1 "--json" "$P" prune --model "$S" $mag --json "$T/nodir/x.json"
    timed 2 "unknown corpus" "$P" prune --model "$S" $mag --eval wikitxt2
    timed 2 "--out-format llama2c" "$P" prune --model "$S" $mag --out "$T/7.bin" --out-format llama2c
    timed 2 "exceeds the model context 4096" "$P" prune --model "$S" --method wanda --sparsity 0.5 --calib tinystories --seqlen 8192
    timed 1 "tokens needed, the text has at most" "$P" prune --model "$S" --method wanda --sparsity 0.5 --calib tinystories --nsamples 100000
    printf 'models big=%s\nmethods magnitude\ntargets 0.5 3:7\neval tinystories\n' "$S" >"$T/7.grid"
    timed 2 "7.grid:3: targets: 3:7 on model big" "$P" sweep --grid "$T/7.grid" --dry-run
    mv "$S/tokenizer.bin" "$T/tok7.bin"
    timed 1 "give --tokenizer" "$P" prune --model "$S" $mag --out "$T/o7"
else
    echo "SKIP $NAME: 7B timing (python3 not found)"
fi

echo "$NAME: $pass passed, $fails failed"
[ "$fails" = 0 ]
