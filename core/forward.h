// core/forward.h: the LLaMA-family decoder forward pass, whole chunks at a
// time (prefill), multi-threaded through the pool.
//
// What it computes (Hugging Face LlamaForCausalLM in float32):
//   h = tok_embed[tokens]                               (any dtype -> f32)
//   per block i:
//     x = rmsnorm(h, attn_norm)                         [capture ATTN_IN]
//     q = x Wq^T (+bq), k = x Wk^T (+bk), v = x Wv^T (+bv)
//     q, k = rope(q, k)            (half-split or interleaved, per config)
//     a = softmax(q k^T / sqrt(head_dim) + causal mask) v   (GQA: query
//         head j reads kv head j / (n_heads / n_kv_heads), as repeat_kv)
//                                                       [capture O_IN]
//     h = h + a Wo^T
//     x = rmsnorm(h, mlp_norm)                          [capture MLP_IN]
//     g = silu(x Wgate^T) * (x Wup^T)                   [capture DOWN_IN]
//     h = h + g Wdown^T
//   logits = rmsnorm(h, final_norm) Wlm^T
//
// Each block follows the config's block spec (core/arch.h: norm, position,
// MLP and residual kinds, sliding window; zeroed = the LLaMA block above;
// OPT-style: LayerNorm with bias, learned positions added to the
// embeddings, a ReLU MLP without gate, and every bias a layer holds added
// as HF adds it: out = x W^T + b, then the residual add)
// and its own shape (cpr_layer_shape_of: heads and MLP width per layer);
// work buffers are sized for the largest layer. With a sliding window W,
// query p attends to keys p - W < j <= p (Mistral).
//
// What it deliberately is not: no KV cache / incremental decoding, no
// dropout; activations are always f32, while weights (f32, bf16, f16) are
// used in place through the gemm kernels.
//
// Memory: every work buffer is carved once from one arena sized for
// (max_seq sequences x seqlen tokens) at cpr_forward_init; no malloc
// happens inside the pass. Attention never holds more than one
// (QB x seqlen) block of scores per thread (QB = CPR_ATTN_QB query rows).
//
// Determinism: every output element is computed by the same kernel calls
// whatever the number of threads (work items are fixed: rows, heads, query
// blocks; threads only choose which items they take), so results are
// bit-identical for 1 and N threads (linears run fixed 256-column blocks).
//
// Weights are read from the model at every call (nothing cached besides the
// RoPE tables), so a pruning pipeline may modify or replace a layer's
// tensors between calls, or from a capture hook (see below).
#ifndef CPR_CORE_FORWARD_H
#define CPR_CORE_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

// Query rows per attention work item.
#define CPR_ATTN_QB 64

// ---- capture hooks (the pruning pipeline's view into a block) ----

// enum cpr_capture_site (the four places a linear reads its input) is in
// core/model.h, with the linear table that names each linear's site.

// Which site feeds linear `which` (CPR_LINEAR_Q -> CPR_CAPTURE_ATTN_IN ...).
enum cpr_capture_site cpr_capture_site_of(enum cpr_linear which);
// "attn_in", "o_in", "mlp_in", "down_in".
const char *cpr_capture_site_name(enum cpr_capture_site site);

// What a hook sees: the f32 input matrix x (n_rows, n_cols) with row
// stride ld, where n_rows = n_seq * seqlen (sequence-major: row s*seqlen+p
// is token p of sequence s). x is the forward's own scratch: valid only
// during the call, read-only.
struct cpr_capture {
    int64_t layer;
    enum cpr_capture_site site;
    const float *x;  // (n_rows, n_cols), row stride ld
    int64_t n_rows;
    int64_t n_cols;
    int64_t ld;
    int64_t n_seq;
    int64_t seqlen;
};

// Called on the caller's thread, between pool runs, *before* the linears
// of that site consume x. It may therefore:
//   - accumulate statistics (it may use the forward's pool itself: the pool
//     is idle during the call; runs must not nest, so never call it from
//     inside a pool worker);
//   - modify or replace the weights of the linears fed by this site (e.g.
//     prune them); the forward then uses the new weights for this very
//     pass ("true sequential" pruning). Shapes must not change.
// Returning anything but CPR_OK aborts the block with that status (the
// hook fills err).
typedef enum cpr_status (*cpr_capture_fn)(void *user,
                                          const struct cpr_capture *cap,
                                          struct cpr_err *err);

struct cpr_block_hook {
    cpr_capture_fn fn; // NULL: no capture
    void *user;
    unsigned sites;    // bit (1u << site) for each site to report; 0 = all
};

// ---- the forward state ----
// Fields are public for inspection (tests, reports); treat them as
// read-only and go through the functions.
struct cpr_forward {
    const struct cpr_model *model;   // borrowed; must outlive the state
    const struct cpr_kernels *k;     // borrowed kernel table
    struct cpr_pool *pool;           // borrowed; NULL = single-threaded
    size_t n_threads;                // cpr_pool_size(pool)
    int64_t max_seq;                 // sequences per call, at most
    int64_t seqlen;                  // tokens per sequence, at most
    int64_t logit_rows;              // rows of logits computed at a time
    int64_t vec_qkn;                 // offset of the q/k norm weights in vec
                                     // (callers may lower it, never raise)
    struct cpr_arena arena;          // owns every buffer below
    float *rope_cos;                 // (seqlen, head_dim / 2)
    float *rope_sin;                 // (seqlen, head_dim / 2)
    float *hidden;                   // (max_seq * seqlen, hidden), used by
                                     // cpr_forward_chunk_nll
    float *xn;                       // (T, hidden) normed input
    float *q;                        // (T, n_heads * head_dim)
    float *kk;                       // (T, n_kv_heads * head_dim)
    float *v;                        // (T, n_kv_heads * head_dim)
    float *vt;                       // (max_seq, n_kv_heads, head_dim, seqlen)
    float *att;                      // (T, n_heads * head_dim)
    float *gate;                     // (T, intermediate)
    float *up;                       // (T, intermediate)
    float *scores;                   // (n_threads, CPR_ATTN_QB, seqlen)
    float *vec;                      // (hidden + q_dim + 2 kv_dim) f32 copies
                                     // of norm weights and biases
    float *logits;                   // (logit_rows, vocab)
    float *lrows;                    // (logit_rows, hidden) normed rows
    float *qkv;                      // (T, 3 * q_dim) fused q/k/v product
                                     // (block.qkv fused), else empty
    float *par;                      // (T, hidden) attention output of a
                                     // parallel-residual block, else empty
};

// Prepare a forward state for `m`: validates the model (cpr_model_validate),
// checks that the kernel table has every slot the pass needs, builds the
// RoPE tables for positions [0, seqlen), and allocates the arena.
//   k: kernel table (NULL = cpr_kernels_get()); pool: may be NULL.
//   max_seq >= 1 sequences of at most seqlen >= 1 tokens per call.
// RoPE tables follow HF's float32 computation: inv_freq[i] =
// 1 / theta^(float(2i)/d) in float32 (llama3 rope_scaling applied to it as
// HF's _compute_llama3_parameters does), angle = float(p) * inv_freq[i]
// rounded to float32, cos/sin of that float angle.
// Errors: CPR_ERR_ARG (sizes), CPR_ERR_SHAPE/FORMAT (model), CPR_ERR_NOMEM
// (with the byte count), CPR_ERR_UNSUPPORTED (missing kernel, dtype).
enum cpr_status cpr_forward_init(struct cpr_forward *f,
                                 const struct cpr_model *m,
                                 const struct cpr_kernels *k,
                                 struct cpr_pool *pool, int64_t max_seq,
                                 int64_t seqlen, struct cpr_err *err);

// Release the arena. Accepts a zeroed or failed-init state.
void cpr_forward_free(struct cpr_forward *f);

// Bytes the arena of cpr_forward_init would take (for reports).
size_t cpr_forward_arena_bytes(const struct cpr_model *m, size_t n_threads,
                               int64_t max_seq, int64_t seqlen);

// ---- layer-by-layer entry points ----

// hidden (n_seq * seqlen, hidden) = tok_embed rows of tokens
// (n_seq * seqlen ids). Errors: CPR_ERR_ARG when n_seq/seqlen exceed the
// state's sizes or a token id is outside [0, vocab) (message names the
// position and the id).
enum cpr_status cpr_forward_embed(struct cpr_forward *f, const int32_t *tokens,
                                  int64_t n_seq, int64_t seqlen, float *hidden,
                                  struct cpr_err *err);

// Run decoder block `layer` in place on hidden (n_seq * seqlen, hidden):
// every sequence starts at position 0 and attends causally within itself.
// hook may be NULL. Errors: CPR_ERR_ARG (sizes, layer), whatever a hook
// returns.
enum cpr_status cpr_forward_block(struct cpr_forward *f, int64_t layer,
                                  float *hidden, int64_t n_seq,
                                  int64_t seqlen,
                                  const struct cpr_block_hook *hook,
                                  struct cpr_err *err);

// The block's recompute for core/backward, which needs its internals, not
// its output: cpr_forward_block with two differences. A gated MLP
// (SwiGLU, GeGLU) writes gate's pre-activation x W_gate^T into gate_pre
// ((n_seq * seqlen, intermediate), dense) instead of into f->gate (f->gate
// still gets act(gate) * up, the same arithmetic); and the MLP stops
// before its down projection: f->gate (the down input) is formed, and
// hidden's contents afterwards are unspecified (it lacks the MLP's
// output). gate_pre may be NULL (then f->gate as in cpr_forward_block).
enum cpr_status cpr_forward_block_recompute(struct cpr_forward *f,
                                            int64_t layer, float *hidden,
                                            int64_t n_seq, int64_t seqlen,
                                            const struct cpr_block_hook *hook,
                                            float *gate_pre,
                                            struct cpr_err *err);

// logits (n_rows, vocab) = rmsnorm(hidden rows, final_norm) Wlm^T, for
// n_rows <= f->logit_rows rows (caller loops for more). hidden is not
// modified.
enum cpr_status cpr_forward_logits(struct cpr_forward *f, const float *hidden,
                                   int64_t n_rows, float *logits,
                                   struct cpr_err *err);

// Next-token negative log-likelihoods from the last block's output hidden
// (n_seq * seqlen, hidden): for each sequence s and position p in
// [first, seqlen - 2], the prediction of tokens[s*seqlen + p + 1]:
//   nll[s * (seqlen - 1 - first) + (p - first)]
//       = logsumexp(logits[s,p]) - logits[s,p][target]
// with logsumexp_f32 (f32 exponentials, double sum). Logits are computed
// f->logit_rows rows at a time into the arena (vocab x seqlen is never
// held whole). Each value is computed by one thread with fixed kernels, so
// it is bit-identical for any thread count. 0 <= first <= seqlen - 2.
// Errors: CPR_ERR_ARG (sizes, a target id outside [0, vocab)).
enum cpr_status cpr_forward_nll(struct cpr_forward *f, const float *hidden,
                                const int32_t *tokens, int64_t n_seq,
                                int64_t seqlen, int64_t first, double *nll,
                                struct cpr_err *err);

// The whole pass for evaluation: embed into f->hidden, every block, then
// cpr_forward_nll. Same layout of nll as above.
enum cpr_status cpr_forward_chunk_nll(struct cpr_forward *f,
                                      const int32_t *tokens, int64_t n_seq,
                                      int64_t seqlen, int64_t first,
                                      double *nll, struct cpr_err *err);

#endif
