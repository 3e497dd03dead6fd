// core/backward.h: gradients of the mean next-token cross-entropy w.r.t.
// every decoder linear, on the CPU, block by block.
//
// Loss (HF LlamaForCausalLM with labels = input_ids, float32): for each
// sequence s and position p in [0, seqlen - 2], nll = logsumexp(logits[s,p])
// - logits[s,p][tokens[s, p+1]]; loss = mean over the n_seq*(seqlen-1)
// predictions.
//
// How: a forward pass keeps each block's input (the checkpoints, n_layers x
// T x hidden f32); the logits are formed f->logit_rows rows at a time and
// turned into dlogits at once (vocab x T is never held). Then, for blocks
// L-1 .. 0, the block is recomputed from its checkpoint with the forward
// pass itself (cpr_forward_block_recompute: the activations are exactly
// the forward's, gate's pre-activation is kept, and the down projection,
// whose output the backward does not need, is skipped) and
// differentiated: down, SwiGLU, gate/up, RMSNorm, o,
// attention (core/attention_bwd.h, per query block), RoPE (the inverse
// rotation), q/k/v, RMSNorm, residuals. Each linear's gradient reaches the
// caller through a hook with its input X and output gradient dY, so the
// caller forms what it needs (dW = dY^T X via core/matmul_bwd.h, per-row
// norms, ...): dW itself is never materialised here.
//
// Supported: the LLaMA block (RMSNorm, RoPE, SwiGLU, sequential residual;
// q/k/v biases (Qwen2), a sliding window (Mistral), per-head q/k RMSNorms
// (Qwen3, without q/k biases) and Gemma's (1 + w) RMSNorm, GeGLU-tanh and
// embedding scale allowed), and the non-gated MLP blocks of OPT, GPT-2 and
// GPT-NeoX (core/backward_fc.c: LayerNorm with bias, learned positions or
// partial RoPE, ReLU / GELU / GELU-tanh fc1 -> fc2, biases on every
// linear, fused q/k/v, sequential or parallel residual, the final
// LayerNorm). Biases change neither dX nor dW = dY^T X, so they need no
// term; their own gradients are not formed. Other kinds (a gated MLP with
// LayerNorm or learned positions, q/k norms without a gate, removed
// sub-blocks) are refused by cpr_backward_init with CPR_ERR_UNSUPPORTED
// naming the kind.
// Determinism: every step is a fixed kernel call or a per-row/per-item
// loop; results are bit-identical for any thread count.
#ifndef CPR_CORE_BACKWARD_H
#define CPR_CORE_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/forward.h"
#include "core/model.h"

// What a gradient hook sees for one linear y = x W^T of block `layer`:
// x (n_rows, n_in) and dy = dloss/dy (n_rows, n_out), rows sequence-major,
// dense (strides n_in / n_out). Valid only during the call, read-only.
// dloss/dW = dy^T x.
struct cpr_grad {
    int64_t layer;
    enum cpr_linear_role role; // Q, K, V, O, GATE, UP, DOWN; QKV, FC1
    struct cpr_tensor *w;      // the linear's weight (n_out, n_in)
    const float *x;
    const float *dy;
    int64_t n_rows, n_in, n_out;
};
typedef enum cpr_status (*cpr_grad_fn)(void *user, const struct cpr_grad *g,
                                       struct cpr_err *err);

struct cpr_backward {
    struct cpr_forward f;  // the forward state (owned)
    int64_t n_seq, seqlen; // at most, per call
    float *mem;            // one allocation, carved below
    float *ckpt;           // (n_layers, T, hidden) block inputs
    float *h, *dh, *dh2, *xn1, *hmid, *dxn;       // (T, hidden)
    float *gpre, *dg, *da;                        // (T, max intermediate)
    float *dq, *datt;                             // (T, max q dim)
    float *dk, *dv;                               // (T, max kv dim)
    float *attn_scratch;   // n_threads * cpr_attention_bwd_scratch
    float *nsin;           // (seqlen, head_dim / 2): -sin (inverse RoPE)
    float *wvec;           // (hidden + max intermediate) f32 copies of a
                           // norm weight / the fc1 bias
    // non-gated MLP blocks (OPT, GPT-2, GPT-NeoX; core/backward_fc.c),
    // else NULL
    float *xn2;            // (T, hidden) the MLP norm's output
    float *dqkv;           // (T, 3 * max q dim) fused q/k/v (NULL: separate)
    // cpr_backward_run_windows: checkpoints and dh of windows 1.. (window
    // 0 uses ckpt / dh), allocated on first use (win_cap floats)
    float *wmem;
    int64_t win_cap;
    // blocks below first_layer are not differentiated (no hook calls, no
    // dX): set it when only blocks >= first_layer need gradients (0 = all)
    int64_t first_layer;
};

// The block-kind checks cpr_backward_init makes, alone (no allocation), so
// a caller can refuse a model before reading calibration data. Errors:
// CPR_ERR_UNSUPPORTED, naming the kind.
enum cpr_status cpr_backward_check_model(const struct cpr_model *m,
                                         struct cpr_err *err);

// Prepare for up to n_seq sequences of seqlen >= 2 tokens.
// Errors: CPR_ERR_UNSUPPORTED (a block kind, bias or removed sub-block the
// backward pass does not implement: the message names it), CPR_ERR_NOMEM
// (with the byte count), what cpr_forward_init returns.
enum cpr_status cpr_backward_init(struct cpr_backward *b,
                                  const struct cpr_model *m,
                                  const struct cpr_kernels *k,
                                  struct cpr_pool *pool, int64_t n_seq,
                                  int64_t seqlen, struct cpr_err *err);
void cpr_backward_free(struct cpr_backward *b);

// Bytes cpr_backward_init allocates for (m, n_threads, n_seq, seqlen): the
// checkpoints, gradient buffers and the forward arena (for --plan).
size_t cpr_backward_bytes(const struct cpr_model *m, size_t n_threads,
                          int64_t n_seq, int64_t seqlen);

// One gradient pass over tokens (n_seq * seqlen ids): *loss = the mean
// next-token loss (may be NULL); the gradients are those of scale * loss
// (GBLM differentiates 100 * loss: pass 100). hook(user, g) is called once
// per linear of every block, blocks from the last to the first, in the
// order down, gate, up, o, q, k, v (non-gated blocks: down, fc1, o, then
// qkv or q, k, v; the fused linear is one call with its whole (T, 3 q dim)
// dY in the weight's row order) (hook may be NULL).
// Errors: CPR_ERR_ARG (sizes, token ids), whatever the hook returns.
enum cpr_status cpr_backward_run(struct cpr_backward *b, const int32_t *tokens,
                                 int64_t n_seq, int64_t seqlen, float scale,
                                 cpr_grad_fn hook, void *user, double *loss,
                                 struct cpr_err *err);

// The backward of block l alone, from the state a previous pass left:
// b->ckpt's layer-l slice holds the block's input and b->dh the loss
// gradient w.r.t. its output (n_seq x seqlen x hidden, as
// cpr_backward_run leaves them when it stops above l, e.g. with
// first_layer = l + 1). Recomputes the block, calls hook for its linears
// (the order of cpr_backward_run) and leaves the gradient w.r.t. the
// block's input in b->dh. For benchmarks and callers that schedule blocks
// themselves. Errors: CPR_ERR_ARG (sizes, l), whatever the hook returns.
enum cpr_status cpr_backward_block(struct cpr_backward *b, int64_t l,
                                   int64_t n_seq, int64_t seqlen,
                                   cpr_grad_fn hook, void *user,
                                   struct cpr_err *err);

// The same passes as n_win calls of cpr_backward_run(b, tokens + w *
// seqlen, 1, seqlen, ...), in a layer-major order: every window's forward
// and head gradient first (each window keeps its own checkpoints and
// block-output gradient), then for blocks L-1 .. 0, windows 0 .. n_win-1.
// The hook sees, per block, all windows' linears in a row (so a caller
// that keeps per-layer accumulators on disk touches each layer once per
// call instead of once per window); every gradient is bit-identical to
// the one-window pass's. loss (n_win entries, may be NULL): each window's
// mean loss. Memory: (n_win - 1) x (n_layers + 1) x seqlen x hidden f32
// beyond cpr_backward_init's, allocated on the first call that needs more
// (freed by cpr_backward_free). Needs a state made for n_seq = 1 or more.
// Errors: those of cpr_backward_run, CPR_ERR_NOMEM (with the byte count).
// 1 when cpr_backward_run_windows supports m's block kind (the LLaMA
// block); callers run one window at a time through cpr_backward_run
// otherwise.
int cpr_backward_windows_ok(const struct cpr_model *m);

enum cpr_status cpr_backward_run_windows(struct cpr_backward *b,
                                         const int32_t *tokens, int64_t n_win,
                                         int64_t seqlen, float scale,
                                         cpr_grad_fn hook, void *user,
                                         double *loss, struct cpr_err *err);

#endif
