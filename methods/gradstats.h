// methods/gradstats.h: per-weight gradient accumulators over calibration
// windows (GBLM-Pruner's gradient_computation.py), fed by core/backward's
// hook.
//
// For each window (one core/backward pass, batch 1, differentiating
// scale * loss; GBLM: scale = 100), each decoder linear's g = dloss/dW =
// dY^T X is formed in a scratch (core/matmul_bwd) and added to
//   l1[i]   += |g[i]|          (GBLM's gradients_l1)
//   l2sq[i] += g[i]^2          (gradients_l2 before the square root)
// in f32. cpr_gradstats_finish turns l2sq into l2 = sqrt(l2sq) and, with
// CPR_GRAD_BF16, rounds both to bf16 values (the reference saves fp16;
// bf16 keeps f32's range). Determinism: per-window g is bit-identical for
// any thread count, and windows are added in order.
//
// Memory: two f32 arrays per decoder weight (8 bytes per parameter) plus
// one scratch of the largest linear. Fine for the tiny models; a 7B model
// needs the file-backed scratch of issue 15 (not built).
#ifndef CPR_METHODS_GRADSTATS_H
#define CPR_METHODS_GRADSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/backward.h"

enum cpr_grad_dtype { CPR_GRAD_F32 = 0, CPR_GRAD_BF16 };

struct cpr_gradstats_lin {
    int64_t layer;
    enum cpr_linear_role role;
    size_t rows, cols;
    float *l1, *l2;     // (rows, cols); l2 holds sum g^2 until finish
};

struct cpr_gradstats {
    struct cpr_gradstats_lin *lin; // n_layers * per_layer entries
    size_t n_lin, per_layer;
    float *dw;                     // scratch (largest rows * cols)
    struct cpr_pool *pool;         // borrowed
    const struct cpr_kernels *k;   // borrowed
    size_t n_windows;
    int finished;
};

// Allocate zeroed accumulators for every q, k, v, o, gate, up, down of m.
// Errors: CPR_ERR_NOMEM (with the byte count).
enum cpr_status cpr_gradstats_init(struct cpr_gradstats *gs,
                                   const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pool *pool, struct cpr_err *err);
void cpr_gradstats_free(struct cpr_gradstats *gs);

// The cpr_grad_fn to pass to cpr_backward_run with user = gs.
enum cpr_status cpr_gradstats_hook(void *user, const struct cpr_grad *g,
                                   struct cpr_err *err);

// One window: cpr_backward_run(b, tokens, 1, seqlen, scale, hook = gs).
enum cpr_status cpr_gradstats_window(struct cpr_gradstats *gs,
                                     struct cpr_backward *b,
                                     const int32_t *tokens, int64_t seqlen,
                                     float scale, double *loss,
                                     struct cpr_err *err);

// l2 = sqrt(sum g^2); round l1 and l2 to bf16 when dt == CPR_GRAD_BF16.
void cpr_gradstats_finish(struct cpr_gradstats *gs, enum cpr_grad_dtype dt);

// The accumulators of (layer, role), or NULL.
const struct cpr_gradstats_lin *cpr_gradstats_get(const struct cpr_gradstats *gs,
                                                  int64_t layer,
                                                  enum cpr_linear_role role);

#endif
