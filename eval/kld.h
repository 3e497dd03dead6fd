// eval/kld.h: how far a (pruned) model's next-token distributions drift
// from a reference (dense) model's, as llama.cpp's `perplexity
// --kl-divergence` reports it (tools/perplexity/perplexity.cpp,
// kl_divergence()), on the positions a perplexity protocol scores.
//
// Both models run chunk by chunk on the same tokens (eval/perplexity.h's
// chunking, BOS overwrite under the llamacpp protocol); only one chunk's
// hidden states and f->logit_rows rows of logits per model are held at a
// time, never the corpus' logits. Per scored position, with
// lp = log_softmax(reference logits), lq = log_softmax(model logits), t
// the next token:
//   kld     = sum_v exp(lp_v) (lp_v - lq_v)        over the full vocabulary
//   nll     = -lq_t, nll_ref = -lp_t, dp = exp(-nll) - exp(-nll_ref)
//   same    = argmax lq == argmax lp (first maximum on ties)
// all in double from the f32 logits (logsumexp_f32: f32 exps, double sum).
// Unlike llama.cpp nothing is quantized: it stores the reference's
// log-probs as 16-bit codes and skips p_ref < e^-16; here both models'
// logits are exact, so a model against itself gives exactly 0.
// Summaries (llama.cpp's definitions):
//   mean_stderr(x) = sqrt((E[x^2] - E[x]^2) / (n - 1)) (0 when n <= 10)
//   median: mean of the two middle values for even n; percentile q:
//   linear interpolation at q (n - 1) of the sorted values
//   ppl = exp(mean nll) +- ppl * stderr(nll); likewise the reference;
//   delta_ppl = ppl - ppl_ref +- sqrt(u^2 + u_ref^2 - 2 ppl ppl_ref cov)
//   with cov the covariance of the mean NLLs; rms_dp = sqrt(mean dp^2)
//   +- stderr(dp^2) / (2 rms_dp); same_top +- sqrt(p (1 - p) / (n - 1)).
// Sums run serially in position order, so results are bit-identical for
// any thread count.
#ifndef CPR_EVAL_KLD_H
#define CPR_EVAL_KLD_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "eval/perplexity.h"
#include "simd/kernels.h"

struct cpr_kld_result {
    struct cpr_ppl_result plan; // chunking (seqlen, first, nchunks, ...)
    int64_t n;                  // scored positions
    double mean, mean_stderr;
    double median, p90, p99, p999, max, min;
    double same_top, same_top_stderr;
    double rms_dp, rms_dp_stderr;
    double mean_dp, mean_dp_stderr;
    double ppl, ppl_stderr;
    double reference_ppl, reference_ppl_stderr;
    double delta_ppl, delta_ppl_stderr;
    double ln_ppl_ratio, ln_ppl_ratio_stderr;
};

// Evaluate model m against reference ref on tokens under o's protocol
// (progress callback as cpr_ppl_eval's). Errors: those of cpr_ppl_plan
// and the forward pass; CPR_ERR_SHAPE when the vocabularies differ;
// CPR_ERR_ARG when the chunk length exceeds the reference's context;
// CPR_ERR_NUMERIC for non-finite logits (the chunk and position named);
// CPR_ERR_NOMEM.
enum cpr_status cpr_kld_eval(const struct cpr_model *m,
                             const struct cpr_model *ref,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool, const int32_t *tokens,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_kld_result *r, struct cpr_err *err);

// llama.cpp's percentile of sorted values v[n] (q in [0, 1]).
double cpr_kld_percentile(const double *v, int64_t n, double q);

#endif
