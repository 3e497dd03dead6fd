// eval/tasks.c: log-likelihood requests through the forward pass, and the
// multiple-choice metrics. See eval/tasks.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/forward.h"
#include "eval/tasks.h"

// One request's forward input inp = full[off .. off + len).
struct item {
    int64_t req;    // request index
    int32_t *inp;   // points into the shared token buffer
    int64_t len;    // |inp|
    int64_t owner;  // item whose forward sequence serves this one
};

static int cmp_lex(const void *a, const void *b) {
    const struct item *x = a, *y = b;
    int64_t n = x->len < y->len ? x->len : y->len;
    for (int64_t i = 0; i < n; i++)
        if (x->inp[i] != y->inp[i]) return x->inp[i] < y->inp[i] ? -1 : 1;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->req < y->req ? -1 : x->req > y->req;
}

// Rows (owners) longest first, then by request index.
static int cmp_len(const void *a, const void *b) {
    const struct item *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->req < y->req ? -1 : x->req > y->req;
}

// Scored hidden rows waiting for the LM head.
struct gather {
    struct cpr_forward *f;
    const struct cpr_kernels *k;
    const struct cpr_ll_request *req;
    struct cpr_ll_result *out;
    float *lbuf;      // (logit_rows, hidden)
    int64_t *g_req;   // request of each row
    int64_t *g_tok;   // continuation token of each row
    int64_t g;        // rows gathered
};

// Logits of the gathered rows; add each target's log-softmax to its
// request (rows are in request, token order, so each sum runs in token
// order) and clear greedy when the target is not the row's argmax.
static enum cpr_status flush(struct gather *ga, struct cpr_err *err) {
    const int64_t vocab = ga->f->model->cfg.vocab;
    enum cpr_status s = cpr_forward_logits(ga->f, ga->lbuf, ga->g, ga->f->logits, err);
    for (int64_t r = 0; !s && r < ga->g; r++) {
        const float *row = ga->f->logits + r * vocab;
        int32_t tgt = ga->req[ga->g_req[r]].cont[ga->g_tok[r]];
        double lse = ga->k->logsumexp_f32((size_t)vocab, row);
        ga->out[ga->g_req[r]].loglik += (double)row[tgt] - lse;
        int64_t am = 0;
        for (int64_t v = 1; v < vocab; v++)
            if (row[v] > row[am]) am = v;
        if (am != tgt) ga->out[ga->g_req[r]].greedy = 0;
    }
    ga->g = 0;
    return s;
}

static enum cpr_status check_requests(const struct cpr_ll_request *req, int64_t n,
                                      int64_t vocab, int64_t max_len,
                                      struct cpr_err *err) {
    for (int64_t r = 0; r < n; r++) {
        const struct cpr_ll_request *q = &req[r];
        if (q->n_ctx < 1 || q->n_cont < 0)
            return cpr_err_set(err, CPR_ERR_ARG, "request %lld: %lld context and "
                               "%lld continuation tokens (at least one context "
                               "token is needed)", (long long)r,
                               (long long)q->n_ctx, (long long)q->n_cont);
        if (q->n_cont > max_len)
            return cpr_err_set(err, CPR_ERR_ARG, "request %lld: the continuation "
                               "has %lld tokens, more than the context window "
                               "%lld", (long long)r, (long long)q->n_cont,
                               (long long)max_len);
        for (int64_t i = 0; i < q->n_ctx + q->n_cont; i++) {
            int32_t t = i < q->n_ctx ? q->ctx[i] : q->cont[i - q->n_ctx];
            if (t < 0 || t >= vocab)
                return cpr_err_set(err, CPR_ERR_ARG, "request %lld: token id %d "
                                   "at position %lld is outside the vocabulary "
                                   "[0, %lld)", (long long)r, (int)t,
                                   (long long)i, (long long)vocab);
        }
    }
    return CPR_OK;
}

// The batched forward path (every request, prefix sharing only).
static enum cpr_status batch_score(const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pool *pool,
                                   const struct cpr_ll_request *req, int64_t n,
                                   const struct cpr_ll_opts *o,
                                   struct cpr_ll_result *out,
                                   struct cpr_ll_stats *stats, struct cpr_err *err) {
    struct cpr_ll_stats st = {0};
    int64_t max_len = o && o->max_len > 0 ? o->max_len : m->cfg.context;
    if (max_len < 1 || max_len > m->cfg.context)
        return cpr_err_set(err, CPR_ERR_ARG, "max_len %lld: expected 1..%lld (the "
                           "model's context)", (long long)max_len,
                           (long long)m->cfg.context);
    int64_t budget = o && o->batch_tokens > 0 ? o->batch_tokens
                                              : (max_len > 4096 ? max_len : 4096);
    if (budget < max_len) budget = max_len;
    const int64_t vocab = m->cfg.vocab, hidden = m->cfg.hidden;

    // Inputs, validation.
    int64_t total = 0, n_items = 0;
    CPR_TRY(check_requests(req, n, vocab, max_len, err));
    for (int64_t r = 0; r < n; r++) {
        const struct cpr_ll_request *q = &req[r];
        out[r] = (struct cpr_ll_result){.loglik = 0, .greedy = 1, .truncated = 0};
        if (q->n_cont == 0) continue;
        int64_t full = q->n_ctx + q->n_cont;
        int64_t len = full - 1 < max_len ? full - 1 : max_len;
        out[r].truncated = full - 1 - len;
        total += len;
        n_items++;
    }
    struct item *it = calloc((size_t)(n_items ? n_items : 1), sizeof *it);
    int32_t *toks = malloc((size_t)(total ? total : 1) * sizeof *toks);
    int32_t *batch = NULL;
    float *lbuf = NULL;
    struct cpr_forward f = {0};
    enum cpr_status s = CPR_OK;
    if (!it || !toks) goto nomem;
    int64_t pos = 0, ni = 0;
    for (int64_t r = 0; r < n; r++) {
        const struct cpr_ll_request *q = &req[r];
        if (q->n_cont == 0) continue;
        int64_t full = q->n_ctx + q->n_cont;
        int64_t len = full - 1 - out[r].truncated, off = out[r].truncated;
        it[ni] = (struct item){.req = r, .inp = toks + pos, .len = len};
        for (int64_t i = 0; i < len; i++) {
            int64_t src = off + i;
            toks[pos + i] = src < q->n_ctx ? q->ctx[src] : q->cont[src - q->n_ctx];
        }
        pos += len;
        ni++;
    }
    // Prefix sharing: in lexicographic order every sequence that extends
    // inp_i follows it directly, so inp_i is served by the owner of i + 1
    // when inp_i is a prefix of inp_{i+1}.
    qsort(it, (size_t)n_items, sizeof *it, cmp_lex);
    for (int64_t i = n_items - 1; i >= 0; i--) {
        it[i].owner = i;
        if (i + 1 < n_items && it[i].len <= it[i + 1].len &&
            memcmp(it[i].inp, it[i + 1].inp, (size_t)it[i].len * sizeof(int32_t)) == 0)
            it[i].owner = it[i + 1].owner;
    }
    // Group served items after their owner: order owners longest first.
    int64_t n_rows = 0;
    struct item *rows = calloc((size_t)(n_items ? n_items : 1), sizeof *rows);
    int64_t *first_of = calloc((size_t)(n_items ? n_items : 1), sizeof *first_of);
    int64_t *next_of = calloc((size_t)(n_items ? n_items : 1), sizeof *next_of);
    if (!rows || !first_of || !next_of) {
        free(rows);
        free(first_of);
        free(next_of);
        goto nomem;
    }
    for (int64_t i = 0; i < n_items; i++) {
        first_of[i] = -1;
        if (it[i].owner == i) {
            rows[n_rows] = it[i];
            rows[n_rows].owner = i; // its index in it[]
            n_rows++;
        }
    }
    for (int64_t i = n_items - 1; i >= 0; i--) { // served lists, lex order
        next_of[i] = first_of[it[i].owner];
        first_of[it[i].owner] = i;
    }
    qsort(rows, (size_t)n_rows, sizeof *rows, cmp_len);
    st.shared = n_items - n_rows;
    int64_t tokens_total = 0;
    for (int64_t i = 0; i < n_rows; i++) tokens_total += rows[i].len;

    int64_t max_seq = budget / max_len;
    if (max_seq < 1) max_seq = 1;
    if (n_rows > 0) {
        s = cpr_forward_init(&f, m, k, pool, max_seq, max_len, err);
        if (s) goto out_rows;
    }
    batch = malloc((size_t)(max_seq * max_len) * sizeof *batch);
    lbuf = malloc((size_t)((f.logit_rows > 0 ? f.logit_rows : 1) * hidden) * sizeof *lbuf);
    if (!batch || !lbuf) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for the task batches");
        goto out_rows;
    }
    // Per gathered logit row: which request and which continuation token.
    int64_t *g_req = malloc((size_t)(f.logit_rows > 0 ? f.logit_rows : 1) * sizeof *g_req);
    int64_t *g_tok = malloc((size_t)(f.logit_rows > 0 ? f.logit_rows : 1) * sizeof *g_tok);
    if (!g_req || !g_tok) {
        free(g_req);
        free(g_tok);
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for the task batches");
        goto out_rows;
    }
    int64_t done = 0;
    for (int64_t b0 = 0; b0 < n_rows && !s;) {
        int64_t sl = rows[b0].len, nb = 0;
        while (b0 + nb < n_rows && nb < max_seq && (nb + 1) * sl <= budget) nb++;
        for (int64_t j = 0; j < nb; j++) {
            const struct item *rw = &rows[b0 + j];
            memcpy(batch + j * sl, rw->inp, (size_t)rw->len * sizeof *batch);
            for (int64_t t = rw->len; t < sl; t++) batch[j * sl + t] = 0;
            st.tokens += rw->len;
        }
        st.padded_tokens += nb * sl;
        st.sequences += nb;
        st.calls++;
        s = cpr_forward_embed(&f, batch, nb, sl, f.hidden, err);
        for (int64_t l = 0; !s && l < m->cfg.n_layers; l++)
            s = cpr_forward_block(&f, l, f.hidden, nb, sl, NULL, err);
        if (s) break;
        // Gather the scored rows, request by request, token by token.
        struct gather ga = {.f = &f, .k = k, .req = req, .out = out, .lbuf = lbuf,
                            .g_req = g_req, .g_tok = g_tok};
        for (int64_t j = 0; j < nb && !s; j++) {
            for (int64_t i = first_of[rows[b0 + j].owner]; i >= 0 && !s; i = next_of[i]) {
                const struct cpr_ll_request *q = &req[it[i].req];
                for (int64_t x = 0; x < q->n_cont && !s; x++) {
                    int64_t t = it[i].len - q->n_cont + x;
                    memcpy(lbuf + ga.g * hidden, f.hidden + (j * sl + t) * hidden,
                           (size_t)hidden * sizeof *lbuf);
                    g_req[ga.g] = it[i].req;
                    g_tok[ga.g] = x;
                    if (++ga.g == f.logit_rows) s = flush(&ga, err);
                }
            }
        }
        if (!s && ga.g > 0) s = flush(&ga, err);
        for (int64_t j = 0; j < nb; j++)
            for (int64_t i = first_of[rows[b0 + j].owner]; i >= 0; i = next_of[i]) done++;
        b0 += nb;
        if (!s && o && o->progress) {
            struct cpr_ll_progress p = {.done = done, .total = n_items,
                                        .tokens_done = st.tokens,
                                        .tokens_total = tokens_total};
            o->progress(o->progress_user, &p);
        }
    }
    free(g_req);
    free(g_tok);
out_rows:
    free(rows);
    free(first_of);
    free(next_of);
    goto out;
nomem:
    s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for %lld task requests",
                    (long long)n);
out:
    cpr_forward_free(&f);
    free(batch);
    free(lbuf);
    free(it);
    free(toks);
    if (stats) *stats = st;
    return s;
}

// ---- shared contexts through the KV cache ----

struct ctx_key {
    const int32_t *ctx;
    int64_t n_ctx, req;
};

static int cmp_ctx(const void *a, const void *b) {
    const struct ctx_key *x = a, *y = b;
    int64_t n = x->n_ctx < y->n_ctx ? x->n_ctx : y->n_ctx;
    for (int64_t i = 0; i < n; i++)
        if (x->ctx[i] != y->ctx[i]) return x->ctx[i] < y->ctx[i] ? -1 : 1;
    if (x->n_ctx != y->n_ctx) return x->n_ctx < y->n_ctx ? -1 : 1;
    return x->req < y->req ? -1 : x->req > y->req;
}

static int same_ctx(const struct ctx_key *x, const struct ctx_key *y) {
    return x->n_ctx == y->n_ctx &&
           memcmp(x->ctx, y->ctx, (size_t)x->n_ctx * sizeof(int32_t)) == 0;
}

// Add log_softmax(row)[tgt] to r and clear greedy unless tgt is the row's
// first maximum (as flush does).
static void score_row(const struct cpr_kernels *k, int64_t vocab,
                      const float *row, int32_t tgt, struct cpr_ll_result *r) {
    double lse = k->logsumexp_f32((size_t)vocab, row);
    r->loglik += (double)row[tgt] - lse;
    int64_t am = 0;
    for (int64_t v = 1; v < vocab; v++)
        if (row[v] > row[am]) am = v;
    if (am != tgt) r->greedy = 0;
}

// Whether the KV path runs fewer tokens for a group g[0..n) with one
// context than the batch path, which serves a request whose input is a
// prefix of another's (continuations such as "a b" and "a b c") from
// that one's pass: KV n_ctx + sum(n_cont - 1) against the sum of
// n_ctx + n_cont - 1 over the inputs no other input extends.
static int kv_cheaper(const struct cpr_ll_request *req, const struct ctx_key *g,
                      int64_t n, struct ctx_key *scratch) {
    int64_t n_ctx = g[0].n_ctx, kv = n_ctx, batch = 0;
    for (int64_t t = 0; t < n; t++) {
        const struct cpr_ll_request *q = &req[g[t].req];
        scratch[t] = (struct ctx_key){q->cont, q->n_cont - 1, g[t].req};
        kv += q->n_cont - 1;
    }
    qsort(scratch, (size_t)n, sizeof *scratch, cmp_ctx);
    for (int64_t t = 0; t < n; t++) {
        int covered = t + 1 < n && scratch[t].n_ctx <= scratch[t + 1].n_ctx &&
                      memcmp(scratch[t].ctx, scratch[t + 1].ctx,
                             (size_t)scratch[t].n_ctx * sizeof(int32_t)) == 0;
        if (!covered) batch += n_ctx + scratch[t].n_ctx;
    }
    return kv < batch;
}

// The batch path's progress, offset by nothing yet done on the KV path and
// with the KV path's tokens added to the total.
struct prog_wrap {
    const struct cpr_ll_opts *o;
    int64_t kv_items, kv_tokens;
    int64_t batch_tokens_total;
};

static void prog_batch(void *user, const struct cpr_ll_progress *p) {
    struct prog_wrap *w = user;
    w->batch_tokens_total = p->tokens_total;
    struct cpr_ll_progress q = {.done = p->done, .total = p->total + w->kv_items,
                                .tokens_done = p->tokens_done,
                                .tokens_total = p->tokens_total + w->kv_tokens};
    w->o->progress(w->o->progress_user, &q);
}

enum cpr_status cpr_ll_score(const struct cpr_model *m,
                             const struct cpr_kernels *k,
                             struct cpr_pool *pool,
                             const struct cpr_ll_request *req, int64_t n,
                             const struct cpr_ll_opts *o,
                             struct cpr_ll_result *out,
                             struct cpr_ll_stats *stats, struct cpr_err *err) {
    if (!k) k = cpr_kernels_get();
    int64_t max_len = o && o->max_len > 0 ? o->max_len : m->cfg.context;
    if (o && o->no_kv_share)
        return batch_score(m, k, pool, req, n, o, out, stats, err);
    if (max_len < 1 || max_len > m->cfg.context)
        return batch_score(m, k, pool, req, n, o, out, stats, err); // its error
    CPR_TRY(check_requests(req, n, m->cfg.vocab, max_len, err));
    const int64_t vocab = m->cfg.vocab;
    // Candidates: a continuation that fits the window with its context
    // (no left truncation); groups of >= 2 with the same context.
    struct ctx_key *key = malloc((size_t)(n ? n : 1) * sizeof *key);
    char *kv = calloc((size_t)(n ? n : 1), 1);
    if (!key || !kv) {
        free(key);
        free(kv);
        return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for %lld task "
                           "requests", (long long)n);
    }
    struct ctx_key *scratch = malloc((size_t)(n ? n : 1) * sizeof *scratch);
    if (!scratch) {
        free(key);
        free(kv);
        return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for %lld task "
                           "requests", (long long)n);
    }
    int64_t nk = 0;
    for (int64_t r = 0; r < n; r++)
        if (req[r].n_cont > 0 && req[r].n_ctx + req[r].n_cont - 1 <= max_len)
            key[nk++] = (struct ctx_key){req[r].ctx, req[r].n_ctx, r};
    qsort(key, (size_t)nk, sizeof *key, cmp_ctx);
    int64_t kv_items = 0, kv_tokens = 0, kv_groups = 0, max_cont = 1;
    for (int64_t i = 0; i < nk;) {
        int64_t j = i + 1;
        while (j < nk && same_ctx(&key[i], &key[j])) j++;
        if (j - i >= 2 && kv_cheaper(req, key + i, j - i, scratch)) {
            kv_groups++;
            kv_tokens += key[i].n_ctx;
            for (int64_t t = i; t < j; t++) {
                const struct cpr_ll_request *q = &req[key[t].req];
                kv[key[t].req] = 1;
                kv_items++;
                kv_tokens += q->n_cont - 1;
                if (q->n_cont > max_cont) max_cont = q->n_cont;
            }
        }
        i = j;
    }
    struct cpr_decode d = {0};
    float *logits = NULL;
    if (kv_groups > 0) {
        struct cpr_err e2 = {0};
        if (cpr_decode_init(&d, m, k, pool, max_len, max_len, &e2) != CPR_OK) {
            kv_groups = kv_items = kv_tokens = 0; // not a LLaMA block: batch path
            memset(kv, 0, (size_t)(n ? n : 1));
        } else {
            logits = malloc((size_t)(max_cont * vocab) * sizeof *logits);
        }
    }
    // The rest through the batch path.
    struct cpr_ll_request *sub = malloc((size_t)(n ? n : 1) * sizeof *sub);
    struct cpr_ll_result *sub_out = malloc((size_t)(n ? n : 1) * sizeof *sub_out);
    int64_t *map = malloc((size_t)(n ? n : 1) * sizeof *map);
    enum cpr_status s = CPR_OK;
    struct cpr_ll_stats st = {0};
    if (!sub || !sub_out || !map || (kv_groups > 0 && !logits)) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "out of memory for %lld task requests",
                        (long long)n);
        goto out;
    }
    int64_t ns = 0;
    for (int64_t r = 0; r < n; r++)
        if (!kv[r]) sub[ns] = req[r], map[ns++] = r;
    struct prog_wrap pw = {.o = o, .kv_items = kv_items, .kv_tokens = kv_tokens};
    struct cpr_ll_opts so = o ? *o : (struct cpr_ll_opts){0};
    if (o && o->progress) so.progress = prog_batch, so.progress_user = &pw;
    int64_t batch_items = 0;
    for (int64_t i = 0; i < ns; i++) batch_items += sub[i].n_cont > 0;
    if (ns > 0) s = batch_score(m, k, pool, sub, ns, &so, sub_out, &st, err);
    for (int64_t i = 0; !s && i < ns; i++) out[map[i]] = sub_out[i];
    pw.batch_tokens_total = st.tokens;
    // Shared contexts: the context once (its last row predicts cont[0]),
    // then per choice cont[0..n_cont-1) from the context's length on.
    int64_t done = batch_items, tokens_done = st.tokens;
    for (int64_t i = 0; !s && i < nk;) {
        int64_t j = i + 1;
        while (j < nk && same_ctx(&key[i], &key[j])) j++;
        if (!kv[key[i].req]) {
            i = j;
            continue;
        }
        const int64_t nc = key[i].n_ctx;
        cpr_decode_reset(&d);
        s = cpr_decode_step(&d, key[i].ctx, nc, 0, logits + (max_cont - 1) * vocab, err);
        st.tokens += nc;
        st.padded_tokens += nc;
        st.sequences++;
        st.calls++;
        st.kv_contexts++;
        for (int64_t t = i; !s && t < j; t++) {
            const struct cpr_ll_request *q = &req[key[t].req];
            struct cpr_ll_result *r = &out[key[t].req];
            *r = (struct cpr_ll_result){.loglik = 0, .greedy = 1, .truncated = 0};
            score_row(k, vocab, logits + (max_cont - 1) * vocab, q->cont[0], r);
            if (q->n_cont > 1) {
                s = cpr_decode_truncate(&d, nc, err);
                if (!s) s = cpr_decode_step(&d, q->cont, q->n_cont - 1, 1, logits, err);
                st.tokens += q->n_cont - 1;
                st.padded_tokens += q->n_cont - 1;
                st.calls++;
                for (int64_t x = 1; !s && x < q->n_cont; x++)
                    score_row(k, vocab, logits + (x - 1) * vocab, q->cont[x], r);
            }
            if (t > i) st.shared++;
            done++;
        }
        tokens_done = st.tokens;
        if (!s && o && o->progress) {
            struct cpr_ll_progress p = {.done = done, .total = batch_items + kv_items,
                                        .tokens_done = tokens_done,
                                        .tokens_total = pw.batch_tokens_total + kv_tokens};
            o->progress(o->progress_user, &p);
        }
        i = j;
    }
out:
    cpr_decode_free(&d);
    free(logits);
    free(sub);
    free(sub_out);
    free(map);
    free(key);
    free(kv);
    free(scratch);
    if (stats) *stats = st;
    return s;
}

int64_t cpr_mc_argmax(const double *v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(v[i])) return i;
        if (v[i] > v[best]) best = i;
    }
    return best;
}

void cpr_mc_score(const double *ll, const int64_t *norm_chars, int64_t n,
                  int64_t gold, int *acc, int *acc_norm) {
    *acc = cpr_mc_argmax(ll, n) == gold;
    double buf[64], *v = n <= 64 ? buf : malloc((size_t)n * sizeof *v);
    if (!v) { // acc_norm cannot be computed without memory: count it wrong
        *acc_norm = 0;
        return;
    }
    for (int64_t i = 0; i < n; i++) v[i] = ll[i] / (double)norm_chars[i];
    *acc_norm = cpr_mc_argmax(v, n) == gold;
    if (v != buf) free(v);
}

void cpr_mean_stderr(const double *x, int64_t n, double *mean,
                     double *stderr_) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    double mu = n > 0 ? s / (double)n : NAN;
    *mean = mu;
    if (n < 2) {
        *stderr_ = NAN;
        return;
    }
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
    *stderr_ = sqrt(ss / (double)(n - 1)) / sqrt((double)n);
}
