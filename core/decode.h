// core/decode.h: incremental decoding with a KV cache (generation), for
// dense and compressed (core/weight.h) models alike.
//
// Same math as core/forward.h (HF LlamaForCausalLM in f32), but tokens are
// fed in steps: cpr_decode_step runs n new tokens at positions
// [n_past, n_past + n), appending their keys and values to the cache, and
// attends each one to every cached position up to its own. A prompt is one
// step of many tokens (prefill: the linears see m = n rows); generation is
// steps of one token (the linears see m = 1: GEMV, where compressed weights
// pay off). The linears go through cpr_matmul, attention per (token, head)
// through the dot/softmax/axpy kernels; every output element is computed
// by the same kernel calls whatever the thread count, so results are
// bit-identical for any pool size.
//
// Per-layer shapes (structured pruning) are honoured: each layer's heads,
// KV heads and MLP width, o_proj / down_proj biases, and removed attention
// or MLP sub-blocks (skipped; a layer without attention has no cache).
//
// What it is not: no batching of independent sequences, no sliding
// window, no cache eviction: n_past + n must stay <= max_ctx.
#ifndef CPR_CORE_DECODE_H
#define CPR_CORE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

// Fields are public for inspection and for benchmarks that fill the cache
// directly (then set n_past); otherwise go through the functions.
struct cpr_decode {
    const struct cpr_model *model;   // borrowed; must outlive the state
    const struct cpr_kernels *k;     // borrowed kernel table
    struct cpr_pool *pool;           // borrowed; NULL = single-threaded
    size_t n_threads;
    int64_t max_ctx;                 // cache positions
    int64_t max_step;                // tokens per step, at most
    int64_t n_past;                  // positions held in the cache
    struct cpr_arena arena;          // owns every buffer below
    float *kcache;                   // layer l at kv_off[l], head-major:
    float *vcache;                   // (n_kv_heads, max_ctx, head_dim) of
                                     // that layer; none without attention
    int64_t *kv_off;                 // (n_layers + 1) float offsets, malloc'd
    float *rope_cos, *rope_sin;      // (max_ctx, head_dim / 2)
    float *h;                        // (max_step, hidden) residual stream
    float *xn;                       // (max_step, hidden)
    float *q;                        // (max_step, n_heads * head_dim)
    float *kk, *v;                   // (max_step, kv_dim)
    float *att;                      // (max_step, n_heads * head_dim)
    float *gate, *up;                // (max_step, intermediate)
    float *scores;                   // (n_threads, max_ctx)
    float *vec;                      // (hidden + q_dim + 2 kv_dim) f32 norm
                                     // weights and biases
};

// Prepare a state for m with a cache of max_ctx positions and steps of at
// most max_step tokens. k NULL = cpr_kernels_get(); pool may be NULL.
// Errors: CPR_ERR_ARG (sizes; max_ctx above the model's context is
// allowed, RoPE extrapolates), CPR_ERR_SHAPE/FORMAT (model),
// CPR_ERR_NOMEM (with the byte count).
enum cpr_status cpr_decode_init(struct cpr_decode *d, const struct cpr_model *m,
                                const struct cpr_kernels *k,
                                struct cpr_pool *pool, int64_t max_ctx,
                                int64_t max_step, struct cpr_err *err);

// Bytes cpr_decode_init would allocate.
size_t cpr_decode_arena_bytes(const struct cpr_model *m, size_t n_threads,
                              int64_t max_ctx, int64_t max_step);

void cpr_decode_free(struct cpr_decode *d); // accepts zeroed/failed

// Forget the cache (n_past = 0).
void cpr_decode_reset(struct cpr_decode *d);

// Keep only the first n cached positions (n_past = n), e.g. to score
// several continuations of one cached context. Later steps overwrite the
// dropped positions. Errors: CPR_ERR_ARG (n outside [0, n_past]).
enum cpr_status cpr_decode_truncate(struct cpr_decode *d, int64_t n,
                                    struct cpr_err *err);

// Run tokens[0..n) at positions n_past.. and append them to the cache.
// logits: all_rows = 0: (vocab) for the last token only (lm_head runs on
// one row); all_rows = 1: (n, vocab), one row per token.
// Errors: CPR_ERR_ARG (n outside [1, max_step], cache full, token id
// outside the vocabulary: message names position and id), matmul errors.
enum cpr_status cpr_decode_step(struct cpr_decode *d, const int32_t *tokens,
                                int64_t n, int all_rows, float *logits,
                                struct cpr_err *err);

#endif
