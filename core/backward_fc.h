// core/backward_fc.h: the backward pass of the non-gated MLP blocks
// (OPT, GPT-2, GPT-NeoX), a piece of core/backward (not a public API of
// its own: core/backward.c calls it; the gradient contract is in
// backward.h).
//
// Block (core/forward.h, core/arch.h), per layer l with input h:
//   x1 = norm1(h)                                        [ATTN_IN]
//   q, k, v = x1 Wq^T + bq ... (or one fused qkv = x1 Wqkv^T + bqkv, split
//             per the qkv kind), RoPE on the first rotary_dim dims of each
//             head (NeoX) or none (learned positions, added to the
//             embeddings and not differentiated)
//   a = attention(q, k, v), scale block.attn_scale or 1/sqrt(hd)  [O_IN]
//   o = a Wo^T + bo
//   sequential: m = h + o; x2 = norm2(m); out = m + mlp(x2)
//   parallel:   x2 = norm2(h); out = (mlp(x2) + o) + h
//   mlp(x2) = act(x2 Wfc1^T + b1) Wdown^T + bdown      [MLP_IN, DOWN_IN]
// Backward, given dout = dL/d out:
//   down:  dY = dout, X = act(.)      -> dA = dout Wdown, dP = dA act'(P)
//   fc1:   dY = dP, X = x2            -> dx2 = dP Wfc1
//   dm = norm2_bwd(dx2) + dout   (parallel: norm2_bwd at h)
//   o:     dY = dm (parallel: dout), X = a -> da = dY Wo
//   attention backward -> dq, dk, dv; inverse RoPE on dq, dk
//   qkv:   dY = [dq dk dv] in the fused row order, X = x1 (or q, k, v
//          separately) -> dx1 = dY W
//   dh = norm1_bwd(dx1) + dm
// The block is recomputed from its checkpoint by the forward pass itself
// (capturing x1, m and x2); the pre-activation P is one more fc1 product
// (GELU; ReLU's derivative comes from its output).
#ifndef CPR_CORE_BACKWARD_FC_H
#define CPR_CORE_BACKWARD_FC_H

#include <stdint.h>

#include "core/backward.h"

// 1 when m's blocks have a non-gated MLP (this file's block), else 0.
int cpr_backward_fc_block(const struct cpr_model *m);

// The kinds and layers this file cannot differentiate: CPR_ERR_UNSUPPORTED
// naming them (q/k norms, removed sub-blocks).
enum cpr_status cpr_backward_fc_check(const struct cpr_model *m,
                                      struct cpr_err *err);

// Block l's backward: b->dh holds dL/d(block output) and becomes
// dL/d(block input); hooks as backward.h (down, fc1, o, qkv or q, k, v).
enum cpr_status cpr_backward_fc_run(struct cpr_backward *b, int64_t l,
                                    int64_t n_seq, int64_t seqlen,
                                    cpr_grad_fn hook, void *user,
                                    struct cpr_err *err);

// Shared with core/backward.c: a 1-D tensor as f32; a norm weight as the
// forward applies it (Gemma's 1 + w).
void cpr_backward_vec_f32(const struct cpr_kernels *k,
                          const struct cpr_tensor *t, float *out);
void cpr_backward_norm_w(const struct cpr_kernels *k,
                         const struct cpr_model *m,
                         const struct cpr_tensor *t, float *out);
// Call hook (when not NULL) with one linear's (X, dY) of T rows.
enum cpr_status cpr_backward_call_hook(cpr_grad_fn hook, void *user,
                                      int64_t layer, enum cpr_linear_role role,
                                      struct cpr_tensor *w, const float *x,
                                      const float *dy, int64_t T,
                                      struct cpr_err *err);

#endif
