// methods/pipe_diag.h: per-linear diagnostics of the pruning pipeline
// (internal to methods/pipeline.c; the prune plan uses
// cpr_pipe_diag_bytes to bound its memory).
//
// Relative output reconstruction error of each pruned linear on a sample
// of the calibration inputs its method saw:
//     err = ||X (W - What)^T||_F^2 / ||X W^T||_F^2
// with W the original weights, What the pruned ones and X the sampled
// token rows of that linear's input in the *dense* block (the statistics
// pass). The sample is every stride-th token row, stride =
// ceil(tokens / CPR_DIAG_MAX_TOKENS), so at most CPR_DIAG_MAX_TOKENS rows
// (all of them for small runs); it is copied from the capture hook of the
// statistics pass (no extra block pass when the method has statistics).
// W is read where it lies: a borrowed (mapped) weight is kept as a view,
// so no copy of the block is made; only an owned weight (which pruning
// overwrites) is cloned in its own dtype. After pruning, each linear is
// walked in tiles of output rows: W and What rows are widened to f32 into
// two small tiles, the second becomes W - What, and two GEMMs with the
// sample give the sums of squares (in double). Memory: the sample (at most
// CPR_DIAG_MAX_TOKENS x the four sites' widths, f32), two weight tiles and
// one output tile.
#ifndef CPR_METHODS_PIPE_DIAG_H
#define CPR_METHODS_PIPE_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "core/forward.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

#define CPR_DIAG_MAX_TOKENS 512

struct cpr_pipe_diag {
    struct cpr_model *m;
    int64_t layer;
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    struct cpr_linear_ref lin[CPR_MAX_LINEARS]; // the block's linear table
    int n_lin;
    struct cpr_tensor orig[CPR_MAX_LINEARS]; // view of W, or an owned clone
    struct cpr_block_hook inner; // the statistics hook, called first
    size_t stride, n_sample;     // sample: rows r with r % stride == 0
    float *xs[CPR_CAPTURE_SITE_COUNT]; // (n_sample, cols[site]) f32
    size_t cols[CPR_CAPTURE_SITE_COUNT];
    size_t seen[CPR_CAPTURE_SITE_COUNT], kept[CPR_CAPTURE_SITE_COUNT];
    double num[CPR_MAX_LINEARS], den[CPR_MAX_LINEARS];
};

// Number of sampled token rows out of `tokens`.
size_t cpr_pipe_diag_sample_size(size_t tokens);

// Upper bound of the bytes diagnostics allocate for block `layer` with
// `tokens` calibration rows: the sample of every input site, the two weight
// tiles and the output tile of cpr_pipe_diag_finish, and clones of the
// owned weights (none for a mapped model).
size_t cpr_pipe_diag_bytes(struct cpr_model *m, int64_t layer, size_t tokens);

// Before the statistics pass of block `layer` (tokens = windows x seqlen):
// keep the original weights (views, or clones of owned ones) and chain the
// statistics hook `inner` (fn may be NULL).
enum cpr_status cpr_pipe_diag_begin(struct cpr_pipe_diag *d,
                                    struct cpr_model *m, int64_t layer,
                                    size_t tokens,
                                    const struct cpr_block_hook *inner,
                                    struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err);

// The capture hook of the statistics pass (user = d): calls the inner hook,
// then copies the sampled rows.
enum cpr_status cpr_pipe_diag_hook(void *user, const struct cpr_capture *cap,
                                   struct cpr_err *err);

// After pruning the block: err_out[j] = num/den for each linear (NaN when
// den == 0). Errors: CPR_ERR_NOMEM, those of cpr_matmul.
enum cpr_status cpr_pipe_diag_finish(struct cpr_pipe_diag *d,
                                     double *err_out, struct cpr_err *err);

// Free everything (also after an error). Accepts a zeroed d.
void cpr_pipe_diag_end(struct cpr_pipe_diag *d);

#endif
