// core/attention.h: causal grouped-query attention over the q/k/vt buffers
// of a forward state (the core of cpr_forward_block; not a general API).
#ifndef CPR_CORE_ATTENTION_H
#define CPR_CORE_ATTENTION_H

#include <stdint.h>

#include "core/forward.h"

// f->att (n_seq * seqlen, n_heads * head_dim) = for every sequence s, head
// h and query position p:
//   softmax_j<=p( q[s,p,h] . k[s,j,g] / sqrt(head_dim) ) v[s,j,g]
// with g = h / (n_heads / n_kv_heads), the heads of the block's shape sh. Reads f->q (roped), f->kk (roped)
// and f->vt (V transposed per (s, g): (head_dim, f->seqlen)).
//
// Work items are (s, h, query block of CPR_ATTN_QB rows), handed to threads
// round-robin; each item is computed entirely by one thread with the same
// kernel calls whatever the thread count:
//   S = gemm_f32(Q_blk, K[0:nk]) * (1/sqrt(head_dim))   (QB x nk, nk = last
//       query position of the block + 1), in the thread's scores block;
//   row p: softmax_f32 over S[p, 0..p], S[p, p+1..nk) = 0;
//   O_blk = gemm_f32(S, Vt[:, 0:nk]).
// So at most one QB x seqlen block of scores exists per thread.
void cpr_attention_run(struct cpr_forward *f, const struct cpr_layer_shape *sh,
                       int64_t n_seq, int64_t seqlen);

#endif
