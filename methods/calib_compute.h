// methods/calib_compute.h: the arithmetic of the pipeline's calibration
// forward passes (issue 12, `--calib-compute auto|f32|bf16`).
//
//   auto  the model's own: f32 weights go through the f32 GEMM; bf16
//         weights through the bf16-weight slot of the ISA (on AVX512_BF16
//         that is vdpbf16ps, which rounds the GEMM input x to bf16; on the
//         other ISAs W is widened exactly and the product is f32).
//   f32   f32 arithmetic throughout: as auto, but the bf16-weight slot is
//         the one that widens W exactly and keeps x in f32 (on AVX512_BF16
//         machines the AVX-512 slot replaces the vdpbf16ps one).
//   bf16  bf16 GEMMs, as the reference calibrates in half precision on
//         GPUs: before every pass through a block, each of its linears is
//         given to the forward as bf16 (f32/f16 weights rounded to nearest
//         even in a scratch copy, bf16 weights as stored) and the GEMM is
//         the bf16-weight slot: on AVX512_BF16 (vdpbf16ps) the GEMM input
//         x (the normed hidden state, the attention output, the gated MLP
//         activation) is rounded to bf16 too, the products of two bf16 are
//         exact and accumulate in f32; on other ISAs x stays f32. GEMM
//         outputs, residual stream, norms, RoPE, attention and the held
//         activations (--calib-dtype) are untouched, and so are the
//         statistics' inputs as captured (the f32 x before the GEMM's own
//         rounding), and the weights that are pruned (the originals).
//
// Only the calibration forward changes (statistics pass, propagation,
// layer-allocation scan); the methods, diagnostics and evaluation are not.
#ifndef CPR_METHODS_CALIB_COMPUTE_H
#define CPR_METHODS_CALIB_COMPUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/status.h"
#include "simd/kernels.h"

enum cpr_calib_compute {
    CPR_CALIB_COMPUTE_AUTO = 0,
    CPR_CALIB_COMPUTE_F32,
    CPR_CALIB_COMPUTE_BF16,
};

// The forward's view of the model and kernels under one mode.
struct cpr_calib_compute_state {
    enum cpr_calib_compute mode;
    const struct cpr_model *src; // the model being pruned (borrowed)
    struct cpr_model view;       // bf16: a shallow copy whose layers array
                                 // is ours; block l's linears are replaced
                                 // by bf16 ones by cpr_calib_compute_block
    struct cpr_kernels kern;     // f32: the table with the exact slot
    uint16_t *buf[CPR_MAX_LINEARS]; // bf16 scratch per linear of a block
    size_t cap[CPR_MAX_LINEARS];    // elements
};

// "auto", "f32", "bf16" <-> the mode (-1: unknown).
int cpr_calib_compute_parse(const char *name);
const char *cpr_calib_compute_name(enum cpr_calib_compute mode);

// Set up *s for mode over m and kernel table k. Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_calib_compute_init(struct cpr_calib_compute_state *s,
                                       enum cpr_calib_compute mode,
                                       const struct cpr_model *m,
                                       const struct cpr_kernels *k,
                                       struct cpr_err *err);

// The model and kernel table the calibration forward should use
// (m and k themselves in auto mode).
const struct cpr_model *cpr_calib_compute_model(
    const struct cpr_calib_compute_state *s);
const struct cpr_kernels *cpr_calib_compute_kernels(
    const struct cpr_calib_compute_state *s, const struct cpr_kernels *k);

// Before a pass through block l: bf16 mode refreshes the view's block l
// from the model's current weights (dense before pruning, pruned after);
// other modes do nothing. Errors: CPR_ERR_NOMEM.
enum cpr_status cpr_calib_compute_block(struct cpr_calib_compute_state *s,
                                        int64_t l,
                                        const struct cpr_kernels *k,
                                        struct cpr_err *err);

void cpr_calib_compute_free(struct cpr_calib_compute_state *s);

#endif
