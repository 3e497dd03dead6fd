// eval/kld.c: KL divergence of a model from a reference, chunk by chunk.
// See eval/kld.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "eval/kld.h"

// Per-position values of one block of logit rows.
struct row_job {
    const struct cpr_kernels *k;
    const float *lq, *lp;    // (rows, vocab) model / reference logits
    const int32_t *target;   // next token of each row
    int64_t rows, vocab;
    double *kld, *nll, *nll_ref;
    unsigned char *same;
};

static int64_t argmax_f32(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void rows_fn(void *ctx, size_t ith, size_t nth) {
    const struct row_job *j = ctx;
    size_t b, e;
    cpr_pool_split((size_t)j->rows, ith, nth, 1, &b, &e);
    for (size_t r = b; r < e; r++) {
        const float *q = j->lq + r * (size_t)j->vocab, *p = j->lp + r * (size_t)j->vocab;
        double lse_q = j->k->logsumexp_f32((size_t)j->vocab, q);
        double lse_p = j->k->logsumexp_f32((size_t)j->vocab, p);
        double kl = 0;
        for (int64_t v = 0; v < j->vocab; v++) {
            double lp = (double)p[v] - lse_p, lq = (double)q[v] - lse_q;
            kl += exp(lp) * (lp - lq);
        }
        int32_t t = j->target[r];
        j->kld[r] = kl;
        j->nll[r] = lse_q - (double)q[t];
        j->nll_ref[r] = lse_p - (double)p[t];
        j->same[r] = argmax_f32(q, j->vocab) == argmax_f32(p, j->vocab);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cpr_kld_percentile(const double *v, int64_t n, double q) {
    if (n <= 0) return NAN;
    if (q <= 0) return v[0];
    if (q >= 1) return v[n - 1];
    double p = q * (double)(n - 1);
    int64_t ip = (int64_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

// llama.cpp's mean_and_uncertainty.
static void mean_unc(double sum, double sum2, int64_t n, double *f, double *df) {
    *f = n > 0 ? sum / (double)n : 0;
    double d = n > 0 ? sum2 / (double)n - *f * *f : 0;
    *df = d > 0 && n > 10 ? sqrt(d / (double)(n - 1)) : 0;
}

// The forward pass of one chunk through every block into f->hidden.
static enum cpr_status run_chunk(struct cpr_forward *f, const int32_t *chunk,
                                 int64_t seqlen, struct cpr_err *err) {
    CPR_TRY(cpr_forward_embed(f, chunk, 1, seqlen, f->hidden, err));
    for (int64_t l = 0; l < f->model->cfg.n_layers; l++)
        CPR_TRY(cpr_forward_block(f, l, f->hidden, 1, seqlen, NULL, err));
    return CPR_OK;
}

enum cpr_status cpr_kld_eval(const struct cpr_model *m,
                             const struct cpr_model *ref,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool, const int32_t *tokens,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_kld_result *r, struct cpr_err *err) {
    memset(r, 0, sizeof *r);
    if (!k) k = cpr_kernels_get();
    if (m->cfg.vocab != ref->cfg.vocab)
        return cpr_err_set(err, CPR_ERR_SHAPE, "KL divergence needs one vocabulary: "
                           "the model has %lld tokens, the reference %lld",
                           (long long)m->cfg.vocab, (long long)ref->cfg.vocab);
    CPR_TRY(cpr_ppl_plan(&m->cfg, ntokens, o, &r->plan, err));
    const int64_t seqlen = r->plan.seqlen, first = r->plan.first;
    const int64_t per_chunk = seqlen - 1 - first, vocab = m->cfg.vocab;
    if (seqlen > ref->cfg.context)
        return cpr_err_set(err, CPR_ERR_ARG, "chunk length %lld exceeds the "
                           "reference model's context %lld; pass a smaller "
                           "--seqlen", (long long)seqlen, (long long)ref->cfg.context);
    const int llamacpp = o->protocol == CPR_PPL_LLAMACPP;
    struct cpr_forward fq = {0}, fp = {0};
    enum cpr_status s = cpr_forward_init(&fq, m, k, pool, 1, seqlen, err);
    if (!s) s = cpr_forward_init(&fp, ref, k, pool, 1, seqlen, err);
    const int64_t n = r->plan.ntokens_scored;
    const int64_t R = fq.logit_rows < fp.logit_rows ? fq.logit_rows : fp.logit_rows;
    double *kv = malloc((size_t)(n > 0 ? n : 1) * sizeof *kv);
    double *nll = malloc((size_t)(R > 0 ? R : 1) * 2 * sizeof *nll);
    unsigned char *same = malloc((size_t)(R > 0 ? R : 1));
    int32_t *chunk = malloc((size_t)seqlen * sizeof *chunk);
    if (!s && (!kv || !nll || !same || !chunk))
        s = cpr_err_set(err, CPR_ERR_NOMEM, "KL divergence: out of memory for %lld "
                        "per-token values", (long long)n);
    double s_nll = 0, s_nll2 = 0, s_ref = 0, s_ref2 = 0, s_cross = 0;
    double s_kld = 0, s_kld2 = 0, s_dp = 0, s_dp2 = 0, s_dp4 = 0;
    int64_t n_same = 0, idx = 0;
    for (int64_t c = 0; !s && c < r->plan.nchunks; c++) {
        memcpy(chunk, tokens + c * seqlen, (size_t)seqlen * sizeof *chunk);
        int32_t bos = llamacpp ? m->cfg.bos_id : -1;
        if (bos >= 0) chunk[0] = bos;
        s = run_chunk(&fq, chunk, seqlen, err);
        if (!s) {
            memcpy(chunk, tokens + c * seqlen, (size_t)seqlen * sizeof *chunk);
            if (llamacpp && ref->cfg.bos_id >= 0) chunk[0] = ref->cfg.bos_id;
            s = run_chunk(&fp, chunk, seqlen, err);
        }
        for (int64_t p0 = first; !s && p0 < seqlen - 1; p0 += R) {
            int64_t rows = seqlen - 1 - p0 < R ? seqlen - 1 - p0 : R;
            s = cpr_forward_logits(&fq, fq.hidden + p0 * m->cfg.hidden, rows, fq.logits, err);
            if (!s) s = cpr_forward_logits(&fp, fp.hidden + p0 * ref->cfg.hidden, rows,
                                           fp.logits, err);
            if (s) break;
            struct row_job j = {.k = k, .lq = fq.logits, .lp = fp.logits,
                                .target = tokens + c * seqlen + p0 + 1, .rows = rows,
                                .vocab = vocab, .kld = kv + idx, .nll = nll,
                                .nll_ref = nll + R, .same = same};
            if (pool) cpr_pool_run(pool, rows_fn, &j);
            else rows_fn(&j, 0, 1);
            for (int64_t i = 0; i < rows; i++) {
                double a = nll[i], b = nll[R + i], kl = kv[idx + i];
                if (!isfinite(a) || !isfinite(b) || !isfinite(kl)) {
                    s = cpr_err_set(err, CPR_ERR_NUMERIC, "KL divergence: chunk %lld "
                                    "position %lld: non-finite value (nll %g, "
                                    "reference nll %g, kld %g)", (long long)c,
                                    (long long)(p0 + i), a, b, kl);
                    break;
                }
                double dp = exp(-a) - exp(-b);
                s_nll += a, s_nll2 += a * a, s_ref += b, s_ref2 += b * b;
                s_cross += a * b;
                s_kld += kl, s_kld2 += kl * kl;
                s_dp += dp, s_dp2 += dp * dp, s_dp4 += dp * dp * dp * dp;
                n_same += same[i];
            }
            idx += rows;
        }
        if (!s && o->progress) {
            struct cpr_ppl_progress pr = {
                .chunks_done = c + 1, .nchunks = r->plan.nchunks,
                .tokens_done = (c + 1) * seqlen, .scored_done = (c + 1) * per_chunk,
                .nll_mean = s_nll / (double)((c + 1) * per_chunk),
            };
            o->progress(o->progress_user, &pr);
        }
    }
    if (!s) {
        r->n = n;
        mean_unc(s_kld, s_kld2, n, &r->mean, &r->mean_stderr);
        qsort(kv, (size_t)n, sizeof *kv, cmp_double);
        r->median = n % 2 == 0 ? 0.5 * (kv[n / 2] + kv[n / 2 - 1]) : kv[n / 2];
        r->p90 = cpr_kld_percentile(kv, n, 0.90);
        r->p99 = cpr_kld_percentile(kv, n, 0.99);
        r->p999 = cpr_kld_percentile(kv, n, 0.999);
        r->max = kv[n - 1];
        r->min = kv[0];
        r->same_top = (double)n_same / (double)n;
        r->same_top_stderr = n > 1 ? sqrt(r->same_top * (1 - r->same_top) / (double)(n - 1)) : 0;
        double mse, mse_u;
        mean_unc(s_dp2, s_dp4, n, &mse, &mse_u);
        r->rms_dp = sqrt(mse);
        r->rms_dp_stderr = r->rms_dp > 0 ? 0.5 / r->rms_dp * mse_u : 0;
        mean_unc(s_dp, s_dp2, n, &r->mean_dp, &r->mean_dp_stderr);
        double lq, uq, lp, up;
        mean_unc(s_nll, s_nll2, n, &lq, &uq);
        mean_unc(s_ref, s_ref2, n, &lp, &up);
        double cov = n >= 10 ? (s_cross / (double)n - lq * lp) / (double)(n - 1) : 0;
        r->ppl = exp(lq);
        r->ppl_stderr = r->ppl * uq;
        r->reference_ppl = exp(lp);
        r->reference_ppl_stderr = r->reference_ppl * up;
        r->ln_ppl_ratio = lq - lp;
        double v = uq * uq + up * up - 2 * cov;
        r->ln_ppl_ratio_stderr = v > 0 ? sqrt(v) : 0;
        r->delta_ppl = r->ppl - r->reference_ppl;
        double vd = r->ppl_stderr * r->ppl_stderr +
                    r->reference_ppl_stderr * r->reference_ppl_stderr -
                    2 * r->ppl * r->reference_ppl * cov;
        r->delta_ppl_stderr = vd > 0 ? sqrt(vd) : 0;
    }
    free(kv);
    free(nll);
    free(same);
    free(chunk);
    cpr_forward_free(&fq);
    cpr_forward_free(&fp);
    return s;
}
