// cli/prune.h: the pieces of `cprune prune` (cli/cmd_prune.c runs them in
// this order, each file one job):
//   cli/prune_args.c    the command line -> struct prune_run (usage, exit 2)
//   cli/prune_check.c   everything checkable before weights are read or
//                       calibration runs (model header, outputs, corpora)
//   cli/prune_exec.c    calibration, pruning, writing, evaluation
//   cli/prune_report.c  the lines printed about the run
//   cli/prune_calib.c   calibration windows from a corpus or file
//   cli/prune_json.c    the JSON record
// One struct carries everything a run records.
#ifndef CPR_CLI_PRUNE_H
#define CPR_CLI_PRUNE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/model.h"
#include "core/status.h"
#include "data/tokenizer.h"
#include "eval/perplexity.h"
#include "methods/calib.h"
#include "methods/method.h"
#include "methods/pipeline.h"

#define PRUNE_MAX_EVAL 8

struct prune_extra;

struct prune_eval {
    char dataset[256]; // corpus name or text file
    char split[32];
    struct cpr_ppl_result r;
    double seconds;
};

struct prune_run {
    // command-line options (cli/prune_args.c)
    const char *tokenizer_path; // --tokenizer, or NULL (found beside)
    const char *eval_list;      // --eval, or NULL
    const char *json_path;      // --json, or NULL
    int quiet, verbose, no_diagnostics, force;
    int shards, resume;         // --shards / --resume (data/model_shards.h)
    int64_t block_begin, block_end; // --blocks A:B, 0:0 = all
    int plan_only;              // --plan: print the plan and stop
    size_t max_memory;          // --max-memory in bytes, 0 = available
    int64_t max_chunks;         // --max-chunks, 0 = all
    unsigned needs;             // statistics pruning needs (calibration
                                // when != 0): cpr_method_calib_needs
    // inputs
    const char *model_path;
    char model_sha[65];
    const char *method_name;
    const struct cpr_method *method;
    const void *method_state;
    const char *method_opts_given; // as typed (may be NULL)
    struct cpr_prune_target target;
    int calib_bf16, hessian_f64;
    int grad_bf16;            // --grad-dtype bf16
    const char *grad_scratch; // --grad-scratch DIR, or NULL
    int calib_disk;             // --calib-store disk
    int calib_compute;          // enum cpr_calib_compute (--calib-compute)
    char tmp_dir[1024];         // its scratch folder (resolved)
    // calibration (source NULL when the method used none)
    const char *calib_source;   // "tinystories", or a file path
    const char *calib_split;    // NULL for a file
    enum cpr_calib_sampling sampling;
    uint64_t seed;
    int64_t nsamples, seqlen;
    int64_t calib_text_tokens;  // tokens of the whole calibration text
    size_t calib_docs;
    char calib_sha[65];         // sha256 of the windows' ids (LE int32)
    struct cpr_calib_windows win;
    const char *tokenizer_source;
    const char *token_cache;    // folder of cached token files, or NULL
    // outcome
    struct cpr_pipe_report rep;
    double sec_tokenize, sec_total;
    struct prune_eval eval[PRUNE_MAX_EVAL];
    int n_eval;
    const char *out_dir;        // NULL when not written
    const char *out_format;     // "hf", "llama2c", "sparse" or "gguf"
    enum cpr_dtype gguf_dtype;  // --gguf-dtype (gguf output)
    const char *block_patterns; // N:M per block when an allocation made
                                // them differ ("1:4,2:4,..."), else NULL
    int threads;
    struct prune_extra *extra; // tasks / KL divergence (cli/prune_extra.h), malloc'd by
                               // prune_parse_args, freed by cmd_prune
};

// Parse the command line into run (zeroed by the caller) and create the
// method state (run->method_state, freed by the caller with
// run->method->free). Returns 0, 1 when --help was printed, or 2 after a
// usage error on stderr.
int prune_parse_args(int argc, char **argv, struct prune_run *run);

// Check everything that can be checked before any weight is read or the
// calibration runs: opens the model (header and config only: weights stay
// unread mmaps), the tokenizer when one is needed, and checks --out,
// --json, --eval, the target against every linear, the method against the
// target, --out-format, --seqlen; then prints the memory plan
// (prune_plan_print) and refuses one over the budget (1). Returns 0, 1
// (data or environment) or 2 (usage) after a message on stderr, or -1
// after the plan when --plan asked only for it. m and tok are filled (freed by the
// caller).
int prune_validate(struct prune_run *run, struct cpr_model *m,
                   struct cpr_tokenizer *tok);

// Calibrate, prune, write, evaluate, record. Returns 0, or 1 after a
// message on stderr.
int prune_execute(struct prune_run *run, struct cpr_model *m,
                  const struct cpr_tokenizer *tok);

// Evaluate m on run->eval_list (comma-separated corpus names or text
// files) into run->eval[], printing one line each (also used by
// cli/prune_depth.c).
enum cpr_status prune_run_evals(struct prune_run *run,
                                const struct cpr_model *m,
                                const struct cpr_tokenizer *tok,
                                struct cpr_pool *pool, struct cpr_err *err);

// ---- memory plan (cli/prune_plan.c) ----
struct prune_plan {
    size_t weights;     // tensor bytes mapped from the model files
    size_t activations, forward, statistics, scratch, owned;
    size_t prepass;     // the method's own dense pre-pass (in statistics)
    size_t anon;        // the sum of the five above (activations left
                        // out with --calib-store disk: file-backed)
    size_t available;   // MemAvailable, or less under a cgroup limit
    double flops_block; // per pruned block
    double gflops;      // measured f32 GEMM rate
    double est_seconds, est_block_seconds;
};
// The plan of run on m (header only: no weight is read). Anonymous memory
// counts the pipeline's buffers (methods/pipeline.h) at their sizes; the
// method's own temporaries are approximated by the scratch term. The time
// is FLOPs / a quick GEMM measurement: an estimate, not a promise.
void prune_plan_compute(const struct prune_run *run, const struct cpr_model *m,
                        struct prune_plan *p);
void prune_plan_print(FILE *f, const struct prune_run *run,
                      const struct prune_plan *p);

// ---- printing (cli/prune_report.c) ----
// The model, method, calibration and ISA lines (after the calibration
// windows are chosen).
void prune_print_start(const struct prune_run *run, const struct cpr_model *m);
void prune_print_pruned(const struct prune_run *run, const struct cpr_model *m);

// When an N:M target was allocated per block (OWL) and the blocks did not
// all get the requested pattern: 1, with the per-block patterns ("1:4,2:4,
// ...", one per block) in buf. Else 0.
int prune_block_patterns(const struct prune_run *run,
                         const struct cpr_model *m, char *buf, size_t cap);

// Eval names: a corpus name, or a readable text file. The corpus split
// for a name, or NULL for a file.
const char *prune_eval_split(const char *name);

// Tokenize the calibration source and choose the windows into run->win
// (also fills calib_text_tokens, calib_docs, calib_sha, sec_tokenize).
// source: a corpus name (tinystories -> calib split, wikitext2 -> valid,
// ptb -> train, c4 -> its JSON-lines documents) or a text file.
enum cpr_status prune_calib_windows(struct prune_run *run,
                                    const struct cpr_tokenizer *tok,
                                    const char *data_dir,
                                    struct cpr_err *err);

// The split a calibration corpus name uses ("calib", "valid", "train",
// "train"); NULL when `name` is not a corpus.
const char *prune_calib_split(const char *name);

// Write the run as one JSON object to path, atomically.
enum cpr_status prune_write_json(const char *path, const struct prune_run *run,
                                 const struct cpr_model *m,
                                 struct cpr_err *err);

// The protocol fields every prune record carries, written as keys of the
// open JSON object: model_sha256 (of the source weights, hashed here),
// isa, threads, version. Used by the structured, depth and llm-pruner
// drivers (prune_write_json writes its own). Errors: those of hashing.
struct cpr_jw;
enum cpr_status prune_json_protocol(struct cpr_jw *w, const char *model_path,
                                    long long threads, struct cpr_err *err);

// A short text of the target: "50%" style "sparsity 0.5" or "2:4".
void prune_target_str(const struct cpr_prune_target *t, char *buf, size_t cap);

// The calibration as provenance text: "SOURCE[/SPLIT] SAMPLING seed S,
// N x L tokens, sha256 H" of run's calibration fields when used, else
// "none".
void prune_calib_str(const struct prune_run *run, int used, char *buf,
                     size_t cap);

// The method's options with their current values, "name=value,..." (the
// full, resolved list, not only what was typed).
void prune_opts_str(const struct cpr_method *m, const void *state, char *buf,
                    size_t cap);

#endif
