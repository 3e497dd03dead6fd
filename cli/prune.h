// cli/prune.h: the pieces of `cprune prune` (cli/cmd_prune.c): calibration
// windows from a corpus or file (cli/prune_calib.c) and the JSON result
// (cli/prune_json.c). One struct carries everything a run records.
#ifndef CPR_CLI_PRUNE_H
#define CPR_CLI_PRUNE_H

#include <stddef.h>
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
    char dataset[32];
    char split[32];
    struct cpr_ppl_result r;
    double seconds;
};

struct prune_run {
    // inputs
    const char *model_path;
    char model_sha[65];
    const char *method_name;
    const struct cpr_method *method;
    const void *method_state;
    const char *method_opts_given; // as typed (may be NULL)
    struct cpr_prune_target target;
    int calib_bf16, hessian_f64;
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
    const char *out_format;     // "hf" or "llama2c"
    int threads;
    const struct prune_extra *extra; // tasks / KL divergence (cli/prune_extra.h)
};

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

// A short text of the target: "50%" style "sparsity 0.5" or "2:4".
void prune_target_str(const struct cpr_prune_target *t, char *buf, size_t cap);

// The method's options with their current values, "name=value,..." (the
// full, resolved list, not only what was typed).
void prune_opts_str(const struct cpr_method *m, const void *state, char *buf,
                    size_t cap);

#endif
