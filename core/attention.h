// core/attention.h: causal grouped-query attention over the q/k/vt buffers
// of a forward state (the core of cpr_forward_block; not a general API).
#ifndef CPR_CORE_ATTENTION_H
#define CPR_CORE_ATTENTION_H

#include <stdint.h>

#include "core/forward.h"

// f->att (n_seq * seqlen, n_heads * head_dim) = for every sequence s, head
// h and query position p:
//   softmax_{lo<=j<=p}( q[s,p,h] . k[s,j,g] / sqrt(head_dim) ) v[s,j,g]
// with lo = 0, or p - W + 1 (clamped to 0) under a sliding window W
// (cfg.block.sliding_window, core/arch.h), and g = h / (n_heads /
// n_kv_heads) over the heads of the block's shape sh. Reads f->q (roped),
// f->kk (roped) and f->vt (V transposed per (s, g): (head_dim, f->seqlen)).
//
// Work items are (s, h, query block of CPR_ATTN_QB rows), handed to threads
// round-robin; each item is computed entirely by one thread with the same
// kernel calls whatever the thread count:
//   S = gemm_f32(Q_blk, K[k0:k0+nk]) * (1/sqrt(head_dim))   (QB x nk; k0 =
//       the block's first query's lo, k0 + nk = its last query + 1), in the
//       thread's scores block;
//   row p: softmax_f32 over S[p, lo..p], the rest of the row = 0;
//   O_blk = gemm_f32(S, Vt[:, k0:k0+nk]).
// Without a window k0 = 0: the arithmetic is the unwindowed pass's.
// So at most one QB x seqlen block of scores exists per thread.
void cpr_attention_run(struct cpr_forward *f, const struct cpr_layer_shape *sh,
                       int64_t n_seq, int64_t seqlen);

#endif
