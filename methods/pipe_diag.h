// methods/pipe_diag.h: per-linear diagnostics of the pruning pipeline
// (internal to methods/pipeline.c).
//
// Relative output reconstruction error of each pruned linear on the
// calibration inputs its method saw:
//     err = ||X W^T - X What^T||_F^2 / ||X W^T||_F^2
// with W the dense weights, What the pruned ones and X every calibration
// token's input to that linear in the *dense* block (the statistics pass).
// After a block is pruned, the pipeline puts the dense weights back, runs
// the block once more with a capture hook, and for each linear computes
// X W^T and X (W - What)^T chunk by chunk (two GEMMs of the linear's size
// per chunk), summing squares in double; then the pruned weights return.
// Cost: one more block pass and two GEMMs per linear; memory: one dense and
// one delta f32 copy of the block's linears plus one output chunk.
#ifndef CPR_METHODS_PIPE_DIAG_H
#define CPR_METHODS_PIPE_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "core/forward.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

struct cpr_pipe_diag {
    struct cpr_model *m;
    int64_t layer;
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    struct cpr_linear_ref lin[CPR_MAX_LINEARS]; // the block's linear table
    int n_lin;
    struct cpr_tensor dense[CPR_MAX_LINEARS];  // owned f32 copies
    struct cpr_tensor delta[CPR_MAX_LINEARS];  // dense - pruned, f32
    struct cpr_tensor pruned[CPR_MAX_LINEARS]; // the model's, while swapped
    double num[CPR_MAX_LINEARS], den[CPR_MAX_LINEARS];
    float *y;      // output scratch
    size_t y_cap;  // floats
    int swapped;
};

// Keep f32 copies of block `layer`'s dense linears (before pruning).
enum cpr_status cpr_pipe_diag_begin(struct cpr_pipe_diag *d,
                                    struct cpr_model *m, int64_t layer,
                                    struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err);

// After pruning: form the deltas and put the dense weights into the model
// (the pruned ones are kept aside). Then run the block with
// cpr_pipe_diag_hook as the capture hook (user = d) over every window.
enum cpr_status cpr_pipe_diag_swap_in(struct cpr_pipe_diag *d,
                                      struct cpr_err *err);

enum cpr_status cpr_pipe_diag_hook(void *user, const struct cpr_capture *cap,
                                   struct cpr_err *err);

// Put the pruned weights back (also after an error) and write err[j] =
// num/den for the seven linears (NaN when den == 0). Frees the copies.
void cpr_pipe_diag_end(struct cpr_pipe_diag *d, double *err_out);

#endif
