// core/attention_bwd.h: the backward pass of causal grouped-query attention
// (core/attention.h), by query blocks: no T x T score matrix is held.
//
// Forward (per sequence s, query head h, kv head g = h / (n_heads /
// n_kv_heads), query position p, visible keys lo <= j <= p with lo = 0 or
// p - window + 1 clamped to 0):
//   S[p, j] = scale * q[p,h] . k[j,g],  scale = 1 / sqrt(head_dim) or a->scale
//   P[p, :] = softmax(S[p, lo..p]),     O[p,h] = sum_j P[p, j] v[j,g]
// Backward, given dO (the loss gradient w.r.t. O):
//   dP = dO V^T,  D[p] = sum_j P[p, j] dP[p, j],  dS = P * (dP - D)
//   dq[p,h] = scale * dS K,  dk[j,g] += scale * dS^T Q,  dv[j,g] += P^T dO
// P is recomputed from q and k per block of CPR_ATTN_QB query rows.
//
// Work items are (sequence, kv head): an item owns its dk/dv columns and
// walks its query heads and query blocks in a fixed order, so every output
// is computed by one thread with the same kernel calls whatever the
// thread count (bit-identical for 1 and N threads).
#ifndef CPR_CORE_ATTENTION_BWD_H
#define CPR_CORE_ATTENTION_BWD_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "simd/kernels.h"

struct cpr_attn_bwd {
    int64_t n_seq, seqlen;        // rows are sequence-major: s*seqlen + p
    int64_t n_heads, n_kv_heads, head_dim;
    int64_t window;               // sliding window, 0 = none
    float scale;                  // score scale, 0 = 1 / sqrt(head_dim)
                                  // (block.attn_scale: GPT-2 unscaled 1)
    const float *q;               // (n_seq*seqlen, n_heads*head_dim), roped
    const float *k;               // (n_seq*seqlen, n_kv_heads*head_dim), roped
    const float *v;               // (n_seq*seqlen, n_kv_heads*head_dim)
    const float *dout;            // (n_seq*seqlen, n_heads*head_dim)
    float *dq, *dk, *dv;          // shapes of q, k, v; overwritten
    float *scratch;               // n_threads * cpr_attention_bwd_scratch()
};

// Floats of scratch one thread needs for sequences of seqlen tokens.
size_t cpr_attention_bwd_scratch(int64_t seqlen);

// Run it on the pool (NULL = this thread). n_heads must be a multiple of
// n_kv_heads (asserted; the model validation guarantees it).
void cpr_attention_bwd(struct cpr_pool *pool, const struct cpr_kernels *k,
                       const struct cpr_attn_bwd *a);

#endif
