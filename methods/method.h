// methods/method.h: the pruning-method interface (one descriptor per method
// file, listed by methods/registry.c) and the data a method sees.
//
// A method prunes one linear weight matrix at a time, in place, from the
// statistics the pipeline collected for that linear's inputs. Methods see
// only in-memory buffers: they never open files, print or choose ISAs (the
// kernel table is passed in). Every selection uses the kernels' order
// (score, index) ascending, so masks never depend on ISA or thread count.
//
// Versioning (after sqlite3_io_methods.iVersion): abi_version says which
// fields are valid. Version 1 = up to `free`; version 2 adds needs_of and
// the layer-allocation entry points. Fields are only ever appended; a
// caller checks abi_version before touching newer ones (cpr_method_needs
// and cpr_method_allocates do).
#ifndef CPR_METHODS_METHOD_H
#define CPR_METHODS_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

#define CPR_METHOD_ABI_VERSION 2

struct cpr_model; // core/model.h (prepass only)

// ---- statistics a method may need (cpr_method.needs bits) ----
enum {
    // scaler_row[j] = (1/n_samples) sum over samples and tokens of x_j^2
    // (wanda lib/layerwrapper.py; n_samples counts sequences, not tokens).
    CPR_NEED_COLSUMSQ = 1u << 0,
    // H = (2/n_samples) sum X^T X (sparsegpt.py add_batch), f32.
    CPR_NEED_HESSIAN = 1u << 1,
    // Per-column mean and variance (streaming), for later methods.
    CPR_NEED_COLMEANVAR = 1u << 2,
    // All decoder matrices at once (global thresholds): the pipeline calls
    // the method's own global entry point instead of prune_matrix.
    CPR_NEED_GLOBAL = 1u << 3,
    // Per-weight gradient norms of the LM loss (methods/gradstats.h: GBLM's
    // l1 and l2 over the calibration windows, batch 1, scale 100) from a
    // gradient pre-pass over the dense model before any pruning.
    CPR_NEED_GRAD = 1u << 4,
};

// Comma-separated names of the bits in `needs` ("colsumsq,hessian"), or
// "none". Writes at most cap bytes (NUL-terminated) and returns buf.
const char *cpr_method_needs_str(unsigned needs, char *buf, size_t cap);

// ---- per-linear statistics ----
// Filled by the pipeline for one linear with n_cols inputs. Pointers a
// method did not ask for may be NULL. The method may overwrite `hessian`
// (SparseGPT factorizes it in place to avoid an n_cols^2 copy): its
// contents are undefined after prune_matrix.
struct cpr_linear_stats {
    size_t n_cols;
    size_t n_samples;         // calibration sequences seen
    const float *scaler_row;  // (n_cols) wanda's scaler_row, already / n_samples
    float *hessian;           // (n_cols, n_cols) full symmetric, row-major
    const double *col_mean;   // (n_cols) or NULL
    const double *col_var;    // (n_cols) or NULL
    // CPR_NEED_GRAD: this linear's (rows, n_cols) gradient norms,
    // contiguous: grad_l1 = sum |100g|, grad_l2 = sqrt(sum (100g)^2); NULL
    // otherwise.
    const float *grad_l1, *grad_l2;
};

// ---- the sparsity target ----
// Unstructured when nm_m == 0: prune the fraction `sparsity` in [0, 1] with
// the method's own comparison group (the int(numel*s) rule of the
// reference code; s == 0 leaves the matrix untouched, as the reference
// main.py skips pruning then). N:M when nm_m > 0: in every group of nm_m
// consecutive input columns of each row prune (at least) nm_n weights,
// 0 < nm_n < nm_m, nm_m dividing the number of columns.
struct cpr_prune_target {
    double sparsity;
    unsigned nm_n, nm_m;
};

// Check a target against a matrix width. Errors: CPR_ERR_ARG naming the
// field, expected and found values.
enum cpr_status cpr_prune_target_check(const struct cpr_prune_target *t,
                                       size_t cols, struct cpr_err *err);

// ---- one weight matrix ----
// W (rows, cols) f32, row-major with row stride ld >= cols, owned by the
// caller and writable (copy mmap'd weights first). `name` labels error
// messages and may be NULL. `group` says whether the matrix belongs to the
// attention or the MLP sub-block (the pipeline sets it from the linear
// table's role, core/model.h); UNKNOWN lets a method that needs it fall
// back to the name.
enum cpr_matrix_group {
    CPR_MATRIX_GROUP_UNKNOWN = 0,
    CPR_MATRIX_GROUP_ATTN,
    CPR_MATRIX_GROUP_MLP,
};
struct cpr_matrix {
    const char *name;
    float *w; // (rows, cols), stride ld
    size_t rows, cols, ld;
    enum cpr_matrix_group group;
};

// ---- method options ----
enum cpr_opt_type { CPR_OPT_DOUBLE, CPR_OPT_SIZE, CPR_OPT_BOOL, CPR_OPT_ENUM };

// One option of a method: `offset` is the byte offset of its field in the
// method's state struct (double, size_t, int, int respectively). ENUM
// values are the index into `choices` ("a|b|c"). lo/hi bound DOUBLE and
// SIZE values (inclusive).
struct cpr_method_opt {
    const char *name;
    enum cpr_opt_type type;
    size_t offset;
    const char *def;     // default, as text ("128", "0.01", "matrix")
    const char *choices; // ENUM only: "matrix|row|global"
    double lo, hi;
    const char *help;
};

// Parse "name=value,name=value" (NULL or "" = nothing) into state using
// the option table. Errors: CPR_ERR_ARG for an unknown name (the message
// lists the known ones), a missing '=', or a value out of range / not a
// number / not one of the choices.
enum cpr_status cpr_method_opts_parse(const struct cpr_method_opt *opts,
                                      size_t n_opts, void *state,
                                      const char *method, const char *list,
                                      struct cpr_err *err);
// Set every option to its default (used by init).
enum cpr_status cpr_method_opts_defaults(const struct cpr_method_opt *opts,
                                         size_t n_opts, void *state,
                                         const char *method,
                                         struct cpr_err *err);
// The usual init: *state = a zeroed state of `size` bytes with every
// option at its default. Errors: CPR_ERR_NOMEM, or a default that does
// not parse (then nothing is allocated).
enum cpr_status cpr_method_state_new(const struct cpr_method_opt *opts,
                                     size_t n_opts, size_t size,
                                     const char *method, void **state,
                                     struct cpr_err *err);

// ---- the descriptor ----
struct cpr_method {
    int abi_version; // CPR_METHOD_ABI_VERSION
    const char *name;
    const char *summary; // one line
    unsigned needs;      // CPR_NEED_* bits
    const struct cpr_method_opt *opts;
    size_t n_opts;

    // Allocate the state with every option at its default.
    // Errors: CPR_ERR_NOMEM.
    enum cpr_status (*init)(void **state, struct cpr_err *err);
    // Apply an option list ("name=value,...") to the state.
    enum cpr_status (*parse_opts)(void *state, const char *list,
                                  struct cpr_err *err);
    // Prune m in place: pruned weights become +0. When mask != NULL it
    // receives (rows, cols) contiguous bytes, 1 = pruned by this call, 0 =
    // kept (a kept weight that happens to be 0 stays 0 with mask 0).
    // Methods that update kept weights (SparseGPT) rewrite them too.
    // pool may be NULL (one thread); k == NULL means cpr_kernels_get().
    // Results are bit-identical for any pool size.
    // Errors: CPR_ERR_ARG (target, missing statistics), CPR_ERR_SHAPE
    // (stats->n_cols != cols), CPR_ERR_NOMEM, CPR_ERR_NUMERIC.
    enum cpr_status (*prune_matrix)(const void *state,
                                    const struct cpr_matrix *m,
                                    struct cpr_linear_stats *stats,
                                    const struct cpr_prune_target *target,
                                    uint8_t *mask, struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err);
    // Release the state (accepts NULL).
    void (*free)(void *state);

    // ---- version 2 ----
    // The statistics this state needs (e.g. depending on a base-method
    // option); NULL = the static `needs`.
    unsigned (*needs_of)(const void *state);

    // Layer-allocation methods (OWL, mixed sparsity) set `allocate`;
    // ordinary methods leave all three NULL / 0. The pipeline then first
    // runs a dense scan: every calibration window through the unpruned
    // model block by block (dense outputs feed the next block), calling
    // scan() for each linear in pipeline order with its weights (f32,
    // read-only) and the statistics `scan_needs` asks for: `which` is the
    // linear's index in its block's linear table (core/model.h), of
    // n_which linears in that block. Then allocate() turns the global
    // target into one target per linear (per_linear[layer * per_layer +
    // which], per_layer linears in every block; numel gives each linear's
    // weight count, same index). Then the ordinary pipeline prunes with
    // those targets through prune_matrix (typically delegating to a base
    // method).
    unsigned scan_needs;
    enum cpr_status (*scan)(void *state, int64_t layer, int which,
                            int n_which, const struct cpr_matrix *w,
                            const struct cpr_linear_stats *stats,
                            struct cpr_err *err);
    enum cpr_status (*allocate)(void *state, int64_t n_layers,
                                int64_t per_layer, const int64_t *numel,
                                const struct cpr_prune_target *target,
                                struct cpr_prune_target *per_linear,
                                struct cpr_err *err);

    // Optional (NULL = none): the score the method compares, for every
    // weight of m before pruning, into out (rows * cols, contiguous); lower
    // = pruned first. For diagnostics only (score distributions); never
    // called on the pruning path.
    enum cpr_status (*scores)(const void *state, const struct cpr_matrix *m,
                              const struct cpr_linear_stats *stats,
                              float *out, struct cpr_err *err);

    // Targets the method refuses (CPR_REFUSES_* bits). 0, the value of a
    // descriptor that does not set it, accepts both unstructured sparsity
    // and N:M patterns. Read through cpr_method_accepts (methods/registry.h).
    unsigned refuses;

    // Optional (NULL = none; layer-allocation methods): called once before
    // the dense scan with the still-dense model and the calibration
    // windows (n_win x seqlen tokens), for a sensitivity that needs the
    // whole model (mixed sensitivity=hutchinson: methods/hutchinson.h).
    // The model is only read.
    enum cpr_status (*prepass)(void *state, const struct cpr_model *m,
                               const int32_t *windows, int64_t n_win,
                               int64_t seqlen, struct cpr_pool *pool,
                               const struct cpr_kernels *k,
                               struct cpr_err *err);
    // Optional: bytes of RAM prepass takes with windows of seqlen tokens
    // and n_threads (for --plan; 0 when the state runs no pre-pass).
    size_t (*prepass_bytes)(const void *state, const struct cpr_model *m,
                            int64_t seqlen, size_t n_threads);
};

enum {
    CPR_REFUSES_NM = 1u << 0,           // no N:M patterns (--sparsity only)
    CPR_REFUSES_UNSTRUCTURED = 1u << 1, // no unstructured sparsity
};

// The statistics `state` needs for pruning: needs_of(state) when the
// descriptor has it (version >= 2), else `needs`.
unsigned cpr_method_needs(const struct cpr_method *m, const void *state);

// 1 when m is a layer-allocation method (version >= 2 with allocate).
int cpr_method_allocates(const struct cpr_method *m);

#endif
