# cprune: one non-recursive Makefile.
#
#   make            build libcprune.a and the cprune program (into $(BUILD))
#   make demo       build, evaluate the real stories260K model, prune it
#                   with Wanda 50% and evaluate again
#   make test       the fast test suite (< 10 min on 2 cores)
#   make test-slow  the fast suite plus the slow tests (big shapes)
#   make asan       the test suite under AddressSanitizer + UBSan
#   make test-neon  cross-build for aarch64 and run the kernel tests in qemu
#   make bench      kernel and end-to-end benchmarks -> bench/results/
#   make fuzz       bounded fuzzing of the file readers (clang libFuzzer)
#   make check-deps enforce the one-way include layering (HOUSE_STYLE A.1)
#   make clean
#
# Variables: CC (gcc or clang), BUILD (output folder), WERROR=1 (warnings
# are errors, as CI builds), EXTRA_CFLAGS / EXTRA_LDFLAGS.
#
# Flags: C11, -O2, IEEE semantics. Never -ffast-math (NaN checks and
# reproducible perplexity need IEEE), never -march=native: ISA flags go only
# on the simd/ files that need them, and the kernel table picks one at run
# time (simd/dispatch.c), so core/ never contains AVX instructions.

CC      ?= cc
BUILD   ?= build
CPRUNE_DATA ?= ../shared
export CPRUNE_DATA

CFLAGS  := -std=c11 -Wall -Wextra -Wpedantic -O2 -g -D_POSIX_C_SOURCE=200809L \
           -I. -MMD -MP $(if $(WERROR),-Werror) $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
LDLIBS  := -lm -lpthread

# ---- per-file ISA flags (x86-64 targets only) ----
TARGET_MACHINE := $(shell $(CC) -dumpmachine)
ifneq ($(findstring x86_64,$(TARGET_MACHINE)),)
AVX2_FLAGS       := -mavx2 -mfma -mf16c
AVX512_FLAGS     := $(AVX2_FLAGS) -mavx512f -mavx512bw -mavx512dq -mavx512vl
AVX512BF16_FLAGS := $(AVX512_FLAGS) -mavx512bf16
POPCNT_FLAGS     := -mpopcnt
VBMI2_FLAGS      := -mavx512vbmi -mavx512vbmi2
endif
$(BUILD)/simd/%_avx2.o:       ISAFLAGS = $(AVX2_FLAGS)
$(BUILD)/simd/%_avx512.o:     ISAFLAGS = $(AVX512_FLAGS)
$(BUILD)/simd/%_avx512bf16.o: ISAFLAGS = $(AVX512BF16_FLAGS)
# the spmv kernels count mask bits with popcnt (on every AVX2/AVX-512 CPU)
$(BUILD)/simd/spmv_avx2.o:     ISAFLAGS = $(AVX2_FLAGS) $(POPCNT_FLAGS)
$(BUILD)/simd/spmv_avx512.o:   ISAFLAGS = $(AVX512_FLAGS) $(POPCNT_FLAGS)
# installed only when cpuid reports AVX512_VBMI and AVX512_VBMI2 (simd/dispatch.c)
$(BUILD)/simd/spmv_avx512bf16.o: ISAFLAGS = $(AVX512BF16_FLAGS) $(VBMI2_FLAGS) $(POPCNT_FLAGS)

# ---- sources ----
LIB_SRCS   := $(wildcard simd/*.c core/*.c data/*.c methods/*.c eval/*.c)
CLI_SRCS   := $(wildcard cli/*.c)
TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_LIBS  := tests/harness.c tests/main.c tests/data_testutil.c \
              tests/method_testutil.c \
              tests/forward_testutil.c
BENCH_PROGS:= $(filter-out bench/bench_util.c,$(wildcard bench/bench_*.c))
BENCH_LIBS := $(filter-out $(BENCH_PROGS),$(wildcard bench/*.c))

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_OBJS  := $(TEST_SRCS:%.c=$(BUILD)/%.o) $(TEST_LIBS:%.c=$(BUILD)/%.o)
BENCH_LIBO := $(BENCH_LIBS:%.c=$(BUILD)/%.o)
BENCH_BINS := $(BENCH_PROGS:bench/%.c=$(BUILD)/%)

LIB   := $(BUILD)/libcprune.a
PROG  := $(BUILD)/cprune
TESTS := $(BUILD)/cprune_tests

# Keep intermediate objects (bench programs link them).
.SECONDARY:

.PHONY: all demo test test-slow asan test-neon bench bench-stream bench-grad7b fuzz fuzz-lib check-deps clean
all: $(LIB) $(PROG)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ISAFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(PROG): $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

# The suite list is generated from the test file names: test_<stem>.c
# defines cpr_tests_<stem>[].
$(BUILD)/tests/test_suites.h: $(TEST_SRCS) Makefile
	@mkdir -p $(dir $@)
	@{ for f in $(TEST_SRCS); do s=$$(basename $$f .c); s=$${s#test_}; \
	     echo "extern const struct cpr_test cpr_tests_$$s[];"; done; \
	   echo "static const struct cpr_test *const cpr_suites[] = {"; \
	   for f in $(TEST_SRCS); do s=$$(basename $$f .c); s=$${s#test_}; \
	     echo "    cpr_tests_$$s,"; done; echo "    0};"; \
	   echo "static const char *const cpr_suite_names[] = {"; \
	   for f in $(TEST_SRCS); do s=$$(basename $$f .c); s=$${s#test_}; \
	     echo "    \"$$s\","; done; echo "    0};"; } > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/main.o: tests/main.c $(BUILD)/tests/test_suites.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/tests -c $< -o $@

$(TESTS): $(TEST_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(BENCH_LIBO) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(BENCH_LIBO) $(LIB) $(LDLIBS)

# ---- running ----
demo: $(PROG)
	$(PROG) info
	$(PROG) eval --model $(CPRUNE_DATA)/models/stories260K \
	    --dataset tinystories --split eval
	$(PROG) prune --model $(CPRUNE_DATA)/models/stories260K --method wanda \
	    --sparsity 0.5 --calib tinystories --eval tinystories \
	    --json $(BUILD)/demo_prune.json

test: $(TESTS) $(PROG) check-deps
	$(TESTS)
	sh tests/cli_prune.sh $(BUILD)
	sh tests/cli_sweep.sh $(BUILD)
	sh tests/cli_usability.sh $(BUILD)
	sh tests/cli_prune_checks.sh $(BUILD)
	sh tests/cli_sweep_checks.sh $(BUILD)
	sh tests/cli_tasks.sh $(BUILD)
	sh tests/cli_generate.sh $(BUILD)
	sh tests/cli_stream.sh $(BUILD)
	sh tests/cli_sweep_tasks.sh $(BUILD)
	sh tests/cli_struct.sh $(BUILD)
	sh tests/cli_gguf.sh $(BUILD)
	sh tests/cli_arch.sh $(BUILD)
	sh tests/cli_prune_depth.sh $(BUILD)
	sh tests/cli_llmpruner.sh $(BUILD)
	sh tests/cli_calib_compute.sh $(BUILD)

test-slow: $(TESTS) $(PROG) check-deps
	$(TESTS) --slow
	sh tests/cli_prune.sh $(BUILD)
	sh tests/cli_sweep.sh $(BUILD)
	sh tests/cli_usability.sh $(BUILD)
	sh tests/cli_prune_checks.sh $(BUILD)
	sh tests/cli_sweep_checks.sh $(BUILD)
	sh tests/cli_tasks.sh $(BUILD)
	sh tests/cli_generate.sh $(BUILD)
	sh tests/cli_stream.sh $(BUILD)
	sh tests/cli_sweep_tasks.sh $(BUILD)
	sh tests/cli_struct.sh $(BUILD)
	sh tests/cli_gguf.sh $(BUILD)
	sh tests/cli_arch.sh $(BUILD)
	sh tests/cli_prune_depth.sh $(BUILD)
	sh tests/cli_llmpruner.sh $(BUILD)
	sh tests/cli_calib_compute.sh $(BUILD)
	sh tests/svg_render.sh $(BUILD)

# Sanitized build in its own folder; -O1 keeps it quick. Slow tests are
# skipped (the sanitizers make big shapes take minutes).
asan:
	$(MAKE) BUILD=build-asan EXTRA_CFLAGS="-O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/cprune_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    build-asan/cprune_tests

# aarch64 cross build (static, so qemu needs no sysroot); runs the kernel
# tests (suites named kern_*) through qemu-aarch64. Auto-vectorization is
# off for this build: Debian's aarch64 gcc 12 crashes (ICE in
# vect_transform_reduction) on a double-reduction loop in the tests; the
# NEON kernels use explicit intrinsics, so what is tested is unchanged.
NEON_CC ?= aarch64-linux-gnu-gcc
test-neon:
	$(MAKE) BUILD=build-neon CC=$(NEON_CC) EXTRA_LDFLAGS=-static \
	    EXTRA_CFLAGS=-fno-tree-vectorize build-neon/cprune_tests
	qemu-aarch64 build-neon/cprune_tests kern_

bench: $(BENCH_BINS) $(PROG)
	@mkdir -p bench/results
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	sh bench/bench_stream.sh $(BUILD)
	sh bench/bench_struct.sh $(BUILD)
	sh bench/bench_depth.sh $(BUILD)
	sh bench/bench_diag.sh $(BUILD)
	sh bench/bench_calib_compute.sh $(BUILD)

# The 7B-shaped streaming bench alone (bench/bench_stream.sh).
bench-stream: $(PROG)
	sh bench/bench_stream.sh $(BUILD)

# Issue 15: a gradient pass on the 32-layer 7B-shaped model
# (bench/bench_grad7b.sh; GRAD7B_* knobs; minutes, several GiB).
bench-grad7b: $(BENCH_BINS)
	sh bench/bench_grad7b.sh $(BUILD)

# Issue 12 acceptance (a): all 32 blocks of the 7B-shaped model inside a
# 16 GiB memory cgroup (root; about an hour on 2 cores).
bench-stream-full: $(PROG)
	sh bench/bench_stream_full.sh $(BUILD)

# libFuzzer: every tests/fuzz/fuzz_<x>.c (defining LLVMFuzzerTestOneInput)
# becomes build-fuzz/fuzz_<x>, linked with a clang build of the library
# instrumented for coverage + ASan + UBSan, and runs FUZZ_TIME seconds on
# the corpus build-fuzz/corpus/fuzz_<x>/ (kept between runs), seeded from
# tests/fuzz/seeds/fuzz_<x>/ (if any) and the FUZZ_SEEDS_fuzz_<x> files
# (real files from $(CPRUNE_DATA), cut to FUZZ_SEED_MAX bytes). A crash
# stops `make fuzz` with the reproducer in build-fuzz/artifacts/.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_SEED_MAX ?= 65536
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
M := $(CPRUNE_DATA)/models
FUZZ_SEEDS_fuzz_json := $(M)/tinystories-656k/config.json \
    $(M)/tinystories-656k/tokenizer.json $(M)/tinystories-656k/tokenizer_config.json \
    $(M)/tinystories-656k/special_tokens_map.json
FUZZ_SEEDS_fuzz_safetensors := $(M)/tinystories-656k/model.safetensors
FUZZ_SEEDS_fuzz_llama2c := $(M)/stories260K/stories260K.bin
FUZZ_SEEDS_fuzz_tokenizer := $(M)/stories260K/tok512.bin \
    $(M)/tinystories-656k/tokenizer.json

fuzz-lib:
	$(MAKE) CC=$(FUZZ_CC) BUILD=build-fuzz \
	    EXTRA_CFLAGS="-O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	    build-fuzz/libcprune.a

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c fuzz-lib
	$(FUZZ_CC) -std=c11 -O1 -g -I. -D_POSIX_C_SOURCE=200809L \
	    -fsanitize=fuzzer $(FUZZ_SAN) $< build-fuzz/libcprune.a $(LDLIBS) -o $@

fuzz: $(FUZZ_BINS)
	@mkdir -p build-fuzz/artifacts
	@for b in $(FUZZ_BINS); do n=$$(basename $$b); c=build-fuzz/corpus/$$n; \
	  mkdir -p $$c; \
	  if [ -d tests/fuzz/seeds/$$n ]; then cp tests/fuzz/seeds/$$n/* $$c/ 2>/dev/null; fi; \
	  for f in $$($(MAKE) -s --no-print-directory fuzz-seeds-$$n); do \
	    [ -f "$$f" ] && head -c $(FUZZ_SEED_MAX) "$$f" > $$c/seed-$$(basename $$f); done; \
	  echo "== $$n ($(FUZZ_TIME) s)"; \
	  $$b -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_SEED_MAX) -timeout=10 \
	      -rss_limit_mb=2048 -print_final_stats=1 \
	      -artifact_prefix=build-fuzz/artifacts/$$n- $$c 2> build-fuzz/$$n.log; \
	  rc=$$?; grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/$$n.log; \
	  grep -E "^(Done|==[0-9]+==ERROR|SUMMARY)" build-fuzz/$$n.log; \
	  if [ $$rc -ne 0 ]; then echo "$$n FAILED (see build-fuzz/$$n.log)"; exit 1; fi; \
	done

# Prints the seed files of one harness (used by `fuzz`).
fuzz-seeds-%:
	@echo $(FUZZ_SEEDS_$*)

check-deps:
	@sh tests/check_deps.sh

clean:
	rm -rf build build-asan build-neon build-fuzz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d) \
         $(BENCH_LIBO:.o=.d) $(BENCH_PROGS:bench/%.c=$(BUILD)/bench/%.d)
