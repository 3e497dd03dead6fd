// cli/prune_struct_common.h: what the structured prune commands share
// (cli/prune_struct.c: flap, wanda-sp, magnitude-sp, cfsp;
// cli/prune_llmp.c: llm-pruner; cli/prune_depth.c uses the error helpers):
// the common options, the evaluation before and after writing, the printed
// parameter counts and the common part of the JSON record, so the records
// of all structured methods read alike.
#ifndef CPR_CLI_PRUNE_STRUCT_COMMON_H
#define CPR_CLI_PRUNE_STRUCT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cli/args.h"
#include "cli/prune.h"
#include "core/pool.h"
#include "core/struct_plan.h"

// The run fields every structured command has.
struct pstruct_run {
    const char *model_path, *tok_path, *out, *eval, *json;
    int force, quiet;
    long long threads, max_chunks;
    struct prune_run calib; // calibration fields only (prune_calib_windows)
    int64_t params_before, params_after, total_before, total_after;
    double ppl_mem[PRUNE_MAX_EVAL], ppl_reload[PRUNE_MAX_EVAL];
    char eval_name[PRUNE_MAX_EVAL][128];
    int n_eval;
    double sec_prune;
    // provenance written into the output's __metadata__ (pstruct_meta_build)
    const char *method_name;
    char target[64];
};

// "cprune prune: msg" on stderr; returns rc.
int pstruct_fail(int rc, const char *msg);
// "cprune prune: --name 'v': expected want" on stderr; returns 2.
int pstruct_usage(const char *name, const char *v, const char *want);

// --tokenizer, --out, --eval, --json, --force, --quiet.
void pstruct_parse_io(const struct cli_opt *O, size_t n, struct pstruct_run *r);
// --calib, --nsamples, --seqlen (at least seqlen_min), --seed,
// --calib-sampling, --token-cache with the given defaults (seqlen 0 = the
// model context). Returns 0 or 2 after a message.
int pstruct_parse_calib(const struct cli_opt *O, size_t n,
                        struct pstruct_run *r, long long nsamples,
                        long long seqlen, long long seqlen_min);
// --threads (default: all CPUs), --max-chunks. Returns 0 or 2.
int pstruct_parse_run(const struct cli_opt *O, size_t n, struct pstruct_run *r);

// "pruned: NAME ratio R: decoder-linear params ..." and, unless quiet, one
// line per layer with its shape.
void pstruct_print_pruned(const struct pstruct_run *r, const char *name,
                          double ratio, const struct cpr_model *m);

// Evaluate m on every --eval corpus into r->ppl_mem and print them.
enum cpr_status pstruct_eval(struct pstruct_run *r, const struct cpr_model *m,
                             const struct cpr_tokenizer *tok,
                             struct cpr_pool *pool, struct cpr_err *err);
// With --out: save `save` (the pruned model, or its padded copy) there and,
// with --eval, reload it into *back and check it evaluates to the
// perplexities in r->ppl_mem (CPR_ERR_FORMAT when not).
enum cpr_status pstruct_save_reload(struct pstruct_run *r,
                                    const struct cpr_model *save,
                                    struct cpr_model *back,
                                    const struct cpr_tokenizer *tok,
                                    struct cpr_pool *pool,
                                    struct cpr_err *err);

// Provenance __metadata__ pairs of a structured or depth output, as the
// unstructured outputs carry them: cprune.version, cprune.source_model,
// cprune.method, cprune.target and cprune.calibration (corpus, sampling,
// seed, windows and the windows' sha256; "none" when no windows were
// taken). The strings must outlive pm's use.
struct pstruct_meta {
    char calib[512];
    const char *kv[10];
    size_t n; // pairs
};
void pstruct_meta_build(struct pstruct_meta *pm, const char *model_path,
                        const char *method, const char *target,
                        const struct prune_run *calib);

// --plan of the structured and depth commands: the method's large
// buffers, one "plan:" line each with bytes and GiB, then their total.
// Printed after the model header is read, before tokenizer and
// calibration; the weights themselves are mapped, not counted.
struct pstruct_buf {
    const char *what;
    double bytes; // double: a product of sizes that cannot overflow here
};
void pstruct_plan_print(const struct pstruct_buf *b, int n);

// JSON record: begin writes "model" and the protocol fields into a new
// object (w initialised here; freed on error); the caller then writes its
// method keys; end writes calibration (with "loss" when loss != NULL),
// parameter counts, per-layer shapes and kept units of plan, eval and
// seconds_prune, and commits the file atomically. w is freed by end.
struct cpr_jw;
enum cpr_status pstruct_json_begin(struct cpr_jw *w, const struct pstruct_run *r,
                                   struct cpr_err *err);
enum cpr_status pstruct_json_end(struct cpr_jw *w, const struct pstruct_run *r,
                                 const struct cpr_model *m,
                                 const struct cpr_struct_plan *p,
                                 const double *loss, struct cpr_err *err);

#endif
