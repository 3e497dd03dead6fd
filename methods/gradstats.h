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
// one scratch of the largest linear. With a scratch store
// (cpr_gradstats_init_scratch; data/scratch_file.h: a temporary file) only
// one layer's slab (l1 and l2 of its linears, f32) is in RAM: the backward
// pass visits the layers in order (L-1 .. 0), so a pass writes the slab it
// leaves back and reads the next one. cpr_gradstats_windows runs a group
// of windows layer-major (core/backward.h cpr_backward_run_windows), so
// each layer's slab is read and written once per group instead of once
// per window: 8 bytes per decoder parameter written per group, and as
// much read from the second group on (the first group and never-written
// layers read nothing). cpr_gradstats_group picks the group size. After
// cpr_gradstats_finish a load reads the raw sums and finishes them in RAM
// without writing them back. The consumer calls cpr_gradstats_load(l)
// before reading layer l. Results are bit-identical to the in-RAM mode
// for any grouping (each weight's sum still adds the windows in order).
//
// --grad-dtype: the reference (GBLM gradient_computation.py) runs the
// model in fp16 and saves the norms in fp16 (10 mantissa bits, max 65504:
// l2 of 100 g can overflow); CPR_GRAD_BF16 rounds the finished norms to
// bf16 instead (7 mantissa bits, f32's range); accumulation is f32 in both.
#ifndef CPR_METHODS_GRADSTATS_H
#define CPR_METHODS_GRADSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/backward.h"
#include "core/scratch_io.h"

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
    enum cpr_grad_dtype dt;
    // scratch-backed mode (io != NULL): lin[i].l1/l2 are set only for the
    // resident layer `cur` and point into slab
    const struct cpr_scratch_io *io;
    float *slab;        // 2 * (largest layer's weights)
    size_t slab_floats;
    int64_t n_layers, cur; // cur = -1: none resident
    int dirty;          // the resident slab has sums the store lacks
    int cur_finished;   // ... and they are finished
    unsigned char *stored; // (n_layers) 0 nothing, 1 raw sums, 2 finished
    uint64_t bytes_read, bytes_written; // moved through io so far
    int64_t lay0, lay1; // the layers kept: [lay0, lay1)
};

// Allocate zeroed accumulators for every linear of m's linear table (core/model.h).
// Errors: CPR_ERR_NOMEM (with the byte count).
enum cpr_status cpr_gradstats_init(struct cpr_gradstats *gs,
                                   const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pool *pool, struct cpr_err *err);
void cpr_gradstats_free(struct cpr_gradstats *gs);

// The same accumulators in io (one layer slab in RAM; io is borrowed and
// must outlive gs). Errors: CPR_ERR_NOMEM (the slab), the store's errors
// later, from the hook and from cpr_gradstats_load.
enum cpr_status cpr_gradstats_init_scratch(struct cpr_gradstats *gs,
                                           const struct cpr_model *m,
                                           const struct cpr_kernels *k,
                                           struct cpr_pool *pool,
                                           const struct cpr_scratch_io *io,
                                           struct cpr_err *err);

// Accumulators for layers [l0, l1) only (io: NULL = in RAM, else as
// cpr_gradstats_init_scratch): the hook ignores the other layers'
// gradients and cpr_gradstats_get returns NULL for them (a pruning run on
// blocks A:B keeps and stores only those; core/backward.h first_layer
// spares the backward pass below l0). Errors: CPR_ERR_ARG (range), as
// above.
enum cpr_status cpr_gradstats_init_range(struct cpr_gradstats *gs,
                                         const struct cpr_model *m,
                                         const struct cpr_kernels *k,
                                         struct cpr_pool *pool,
                                         const struct cpr_scratch_io *io,
                                         int64_t l0, int64_t l1,
                                         struct cpr_err *err);

// Make layer `layer`'s accumulators readable through cpr_gradstats_get
// (scratch mode: reads its slab, finishing it if cpr_gradstats_finish ran;
// in-RAM mode: nothing). Errors: the store's, CPR_ERR_ARG (layer).
enum cpr_status cpr_gradstats_load(struct cpr_gradstats *gs, int64_t layer,
                                   struct cpr_err *err);

// The cpr_grad_fn to pass to cpr_backward_run with user = gs.
enum cpr_status cpr_gradstats_hook(void *user, const struct cpr_grad *g,
                                   struct cpr_err *err);

// One window: cpr_backward_run(b, tokens, 1, seqlen, scale, hook = gs).
enum cpr_status cpr_gradstats_window(struct cpr_gradstats *gs,
                                     struct cpr_backward *b,
                                     const int32_t *tokens, int64_t seqlen,
                                     float scale, double *loss,
                                     struct cpr_err *err);

// n_win windows (n_win * seqlen tokens) as one layer-major group:
// cpr_backward_run_windows(b, ..., hook = gs); loss: n_win entries or NULL.
enum cpr_status cpr_gradstats_windows(struct cpr_gradstats *gs,
                                      struct cpr_backward *b,
                                      const int32_t *tokens, int64_t n_win,
                                      int64_t seqlen, float scale,
                                      double *loss, struct cpr_err *err);

// How many windows (of n_windows, seqlen tokens each) to pass to
// cpr_gradstats_windows at once: 1 for in-RAM accumulators (scratch = 0:
// grouping saves nothing there); with a scratch store, as many as keep the
// group's extra checkpoints ((n_layers + 1) x seqlen x hidden f32 per
// window beyond the first) within one more layer slab of RAM.
int64_t cpr_gradstats_group(const struct cpr_model *m, int scratch,
                            int64_t seqlen, int64_t n_windows);

// Bytes of the largest layer's slab (l1 + l2 of its 7 linears, f32): the
// RAM the scratch mode keeps.
size_t cpr_gradstats_slab_bytes(const struct cpr_model *m);

// l2 = sqrt(sum g^2); round l1 and l2 to bf16 when dt == CPR_GRAD_BF16.
void cpr_gradstats_finish(struct cpr_gradstats *gs, enum cpr_grad_dtype dt);

// The accumulators of (layer, role), or NULL (also, in scratch mode, when
// the layer is not the one cpr_gradstats_load made resident).
const struct cpr_gradstats_lin *cpr_gradstats_get(const struct cpr_gradstats *gs,
                                                  int64_t layer,
                                                  enum cpr_linear_role role);

#endif
