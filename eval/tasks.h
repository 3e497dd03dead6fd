// eval/tasks.h: log-likelihood scoring of (context, continuation) token
// requests and the multiple-choice metrics, as lm-evaluation-harness v0.4
// (HFLM._loglikelihood_tokens, api/task.py, api/metrics.py) computes them.
//
// Scoring one request (ctx ids c, continuation ids x, |c| >= 1):
//   full = c ++ x; inp = full[-(max_len + 1):][:-1] (left truncation to
//   the model's context); the last |x| positions of inp predict x:
//     loglik = sum_j log_softmax(logits[p_j])[x_j]   (double sum)
//     greedy = every x_j is the argmax of its row (first maximum on ties)
//   An empty continuation scores loglik 0, greedy 1 (an empty sum).
//   log_softmax = logit - logsumexp_f32(row) (f32 exps, double sum).
//
// Batching: requests are run as forward
// sequences sorted longest first; a request whose input inp is a prefix
// of an already planned sequence's input takes its log-probs from that
// sequence (logits at position t depend only on inp[0..t]), so requests
// sharing a context whose continuations are one token long (BoolQ's
// " no"/" yes" when they are single tokens) and duplicates cost one pass.
// Sequences are padded on the right to the longest in a batch (causal
// attention: padding never changes earlier positions) and only the rows
// that are scored go through the LM head.
//
// Shared contexts: requests with the same context ids (>= 2 of them,
// each fitting the window without left truncation, and fewer forward
// tokens than the prefix sharing above would run) go through the KV
// cache (core/decode.h): the context once, then per request its
// continuation minus the last token as one step at positions n_ctx..,
// the cache cut back to n_ctx between requests. Forward tokens per such
// group: n_ctx + sum(n_cont - 1) instead of sum(n_ctx + n_cont - 1).
// Models the KV path refuses (non-LLaMA blocks, sliding windows) and
// opts.no_kv_share use the batch path only. The KV path rounds
// differently from the batch forward (other attention and gemm shapes):
// the same to rounding, not to the bit; it is bit-identical for any
// thread count too.
//
// Determinism: every value is computed by one thread with fixed kernels
// (core/forward.h), so results are bit-identical for any thread count.
// Another batch_tokens groups other sequences into a call (other padded
// length, other gemm row blocks): the same to rounding, not to the bit.
#ifndef CPR_EVAL_TASKS_H
#define CPR_EVAL_TASKS_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

struct cpr_ll_request {
    const int32_t *ctx;  // context ids, n_ctx >= 1
    int64_t n_ctx;
    const int32_t *cont; // continuation ids, n_cont >= 0
    int64_t n_cont;
};

struct cpr_ll_result {
    double loglik;
    int greedy;
    int64_t truncated; // tokens dropped on the left (0 when it fit)
};

struct cpr_ll_progress {
    int64_t done, total;         // requests
    int64_t tokens_done;         // forward tokens (no padding) so far
    int64_t tokens_total;        // forward tokens (no padding) in all
};

struct cpr_ll_opts {
    int64_t max_len;       // 0: the model's context
    int64_t batch_tokens;  // tokens per forward call, 0: max(max_len, 4096)
    void (*progress)(void *user, const struct cpr_ll_progress *p);
    void *progress_user;
    int no_kv_share;       // 1: never use the KV-cache path for shared contexts
};

struct cpr_ll_stats {
    int64_t sequences;      // forward sequences run
    int64_t shared;         // requests served by another request's pass
    int64_t tokens;         // forward tokens, padding excluded
    int64_t padded_tokens;  // forward tokens including padding
    int64_t calls;          // forward calls (KV path: one per step)
    int64_t kv_contexts;    // shared contexts run once through the KV cache
};

// Score n requests into out[n]. k: NULL = cpr_kernels_get(); pool may be
// NULL. Errors: CPR_ERR_ARG (n_ctx < 1, a continuation longer than
// max_len, a token id outside the vocabulary: the message names the
// request), CPR_ERR_NOMEM, those of the forward pass.
enum cpr_status cpr_ll_score(const struct cpr_model *m,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool,
                             const struct cpr_ll_request *req, int64_t n,
                             const struct cpr_ll_opts *o,
                             struct cpr_ll_result *out,
                             struct cpr_ll_stats *stats, struct cpr_err *err);

// ---- metrics (api/task.py multiple_choice, api/metrics.py) ----

// Index of the largest value, first on ties, NaN counting as the largest
// (numpy.argmax).
int64_t cpr_mc_argmax(const double *v, int64_t n);

// acc = argmax(ll) == gold; acc_norm = argmax(ll / norm_chars) == gold
// (a zero length divides as numpy does: -inf, +inf or NaN).
void cpr_mc_score(const double *ll, const int64_t *norm_chars, int64_t n,
                  int64_t gold, int *acc, int *acc_norm);

// Mean and the harness's mean_stderr: sample std (n - 1) / sqrt(n).
// *stderr_ is NaN when n < 2 (reported as "N/A").
void cpr_mean_stderr(const double *x, int64_t n, double *mean,
                     double *stderr_);

#endif
