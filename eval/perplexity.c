// eval/perplexity.c: chunked perplexity (see perplexity.h for protocols).
#include "eval/perplexity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"

static const char *const protocol_names[CPR_PPL_PROTOCOL_COUNT] = {
    [CPR_PPL_HF] = "hf", [CPR_PPL_LLAMACPP] = "llamacpp"};

const char *cpr_ppl_protocol_name(enum cpr_ppl_protocol p) {
    return (unsigned)p < CPR_PPL_PROTOCOL_COUNT ? protocol_names[p] : "?";
}

int cpr_ppl_protocol_parse(const char *name) {
    for (int i = 0; i < CPR_PPL_PROTOCOL_COUNT; i++)
        if (strcmp(name, protocol_names[i]) == 0) return i;
    return -1;
}

enum cpr_status cpr_ppl_plan(const struct cpr_model_config *cfg,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_ppl_result *r, struct cpr_err *err) {
    memset(r, 0, sizeof *r);
    if ((unsigned)o->protocol >= CPR_PPL_PROTOCOL_COUNT)
        return cpr_err_set(err, CPR_ERR_ARG, "perplexity: unknown protocol %d",
                           (int)o->protocol);
    int llamacpp = o->protocol == CPR_PPL_LLAMACPP;
    int64_t seqlen = o->seqlen ? o->seqlen : llamacpp ? 512 : cfg->context;
    r->protocol = o->protocol;
    r->seqlen = seqlen;
    r->ntokens = ntokens;
    if (seqlen < 2)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "perplexity: seqlen %lld is too short; a chunk "
                           "needs at least 2 tokens", (long long)seqlen);
    if (seqlen > cfg->context)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "perplexity: seqlen %lld exceeds the model's "
                           "context length %lld; pass --seqlen <= %lld",
                           (long long)seqlen, (long long)cfg->context,
                           (long long)cfg->context);
    if (o->max_chunks < 0)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "perplexity: max_chunks %lld must be >= 0",
                           (long long)o->max_chunks);
    int64_t need = llamacpp ? 2 * seqlen : seqlen;
    if (ntokens < need)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "perplexity: the text has %lld tokens, shorter "
                           "than %s (%lld tokens at seqlen %lld); use a "
                           "longer text or a smaller --seqlen",
                           (long long)ntokens,
                           llamacpp ? "the two chunks llama.cpp requires"
                                    : "one chunk",
                           (long long)need, (long long)seqlen);
    r->first = llamacpp ? seqlen / 2 : 0;
    r->nchunks_avail = ntokens / seqlen;
    r->nchunks = r->nchunks_avail;
    if (o->max_chunks > 0 && o->max_chunks < r->nchunks)
        r->nchunks = o->max_chunks;
    r->ntokens_scored = r->nchunks * (seqlen - 1 - r->first);
    return CPR_OK;
}

enum cpr_status cpr_ppl_eval(const struct cpr_model *m,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool, const int32_t *tokens,
                             int64_t ntokens, const struct cpr_ppl_opts *o,
                             struct cpr_ppl_result *r, struct cpr_err *err) {
    CPR_TRY(cpr_ppl_plan(&m->cfg, ntokens, o, r, err));
    const int64_t seqlen = r->seqlen, first = r->first;
    const int64_t per_chunk = seqlen - 1 - first;
    const int llamacpp = o->protocol == CPR_PPL_LLAMACPP;
    struct cpr_forward f;
    CPR_TRY(cpr_forward_init(&f, m, k, pool, 1, seqlen, err));
    enum cpr_status s = CPR_OK;
    double *nll = malloc((size_t)per_chunk * sizeof *nll);
    int32_t *chunk = malloc((size_t)seqlen * sizeof *chunk);
    if (!nll || !chunk) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "perplexity: out of memory");
        goto done;
    }
    double sum = 0, sum2 = 0;
    for (int64_t c = 0; c < r->nchunks; c++) {
        memcpy(chunk, tokens + c * seqlen, (size_t)seqlen * sizeof *chunk);
        // llama.cpp: tokens[batch_start] = BOS when the vocab adds BOS.
        if (llamacpp && m->cfg.bos_id >= 0) chunk[0] = m->cfg.bos_id;
        s = cpr_forward_chunk_nll(&f, chunk, 1, seqlen, first, nll, err);
        if (s != CPR_OK) goto done;
        double cs = 0, cs2 = 0;
        for (int64_t i = 0; i < per_chunk; i++) {
            if (!isfinite(nll[i])) {
                s = cpr_err_set(err, CPR_ERR_NUMERIC,
                                "perplexity: chunk %lld (tokens [%lld, %lld)) "
                                "gives a non-finite NLL (%g) predicting "
                                "token %lld; the model produces NaN/Inf "
                                "logits", (long long)c,
                                (long long)(c * seqlen),
                                (long long)((c + 1) * seqlen), nll[i],
                                (long long)(c * seqlen + first + i + 1));
                goto done;
            }
            cs += nll[i];
            cs2 += nll[i] * nll[i];
        }
        sum += cs;
        sum2 += cs2;
        if (o->progress) {
            struct cpr_ppl_progress p = {
                .chunks_done = c + 1, .nchunks = r->nchunks,
                .tokens_done = (c + 1) * seqlen,
                .scored_done = (c + 1) * per_chunk,
                .nll_mean = sum / (double)((c + 1) * per_chunk),
            };
            o->progress(o->progress_user, &p);
        }
    }
    double n = (double)r->ntokens_scored;
    r->nll_sum = sum;
    r->nll = sum / n;
    r->ppl = exp(r->nll);
    double var = sum2 / n - r->nll * r->nll;
    r->ppl_stderr = n > 1 && var > 0 ? r->ppl * sqrt(var / (n - 1)) : 0;
done:
    free(nll);
    free(chunk);
    cpr_forward_free(&f);
    return s;
}
