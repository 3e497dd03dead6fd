// methods/depth_search.c: SLEB, BlockPruner and FinerCut greedy searches
// (methods/depth_search.h).
//
// Candidates are tried on a shallow view of the model (its own layer
// array, the same tensors) whose per-layer has_attn / has_mlp flags are
// switched off and on again: the forward pass skips a sub-block whose flag
// is 0 (the residual passes through), which is exactly what the official
// codes' turn_off / masked layers / zeroed o_proj and down_proj outputs do.
#include "methods/depth_search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/model_edit.h"

enum crit { CRIT_NLL, CRIT_JS };

struct cand {
    int64_t layer;
    enum cpr_depth_kind kind;
};

struct search {
    struct cpr_model view; // shallow: own layers array, borrowed tensors
    struct cpr_forward f;
    struct cpr_pool *pool;
    const int32_t *tok;
    int64_t ns, sl, L, H, V;
    enum crit crit;
    float *cache;   // (L + 1, sl, H): inputs of every layer, one window
    float *work;    // (sl, H)
    double *nll;    // (sl - 1)
    float *logits;  // (sl, V)
    float *ref;     // (ns, sl, V) dense logits (JS)
    double *rowv;   // (sl) per-row JS terms
};

const char *cpr_depth_kind_name(enum cpr_depth_kind kind) {
    return kind == CPR_DEPTH_LAYER ? "layer"
           : kind == CPR_DEPTH_ATTN ? "attn" : "mlp";
}

int64_t cpr_depth_sub_linear(const struct cpr_model *m, int64_t layer,
                             enum cpr_depth_kind kind) {
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    const int n = cpr_layer_linears((struct cpr_model *)m, layer, r,
                                    CPR_MAX_LINEARS);
    int64_t c = 0;
    for (int j = 0; j < n; j++) {
        const enum cpr_role_group g = cpr_role_group_of(r[j].role);
        if (kind == CPR_DEPTH_LAYER || (kind == CPR_DEPTH_ATTN) ==
                                          (g == CPR_GROUP_ATTN))
            c += cpr_tensor_numel(r[j].w);
    }
    return c;
}

static void search_free(struct search *s) {
    cpr_forward_free(&s->f);
    free(s->view.layers);
    free(s->cache), free(s->work), free(s->nll), free(s->logits);
    free(s->ref), free(s->rowv);
    memset(s, 0, sizeof *s);
}

static enum cpr_status search_init(struct search *s, const struct cpr_model *m,
                                   struct cpr_pool *pool, const int32_t *tok,
                                   int64_t ns, int64_t sl, enum crit crit,
                                   const char *who, struct cpr_err *err) {
    memset(s, 0, sizeof *s);
    if (ns < 1 || sl < 2)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: need calibration windows "
                           "of at least 2 tokens (%lld windows of %lld)", who,
                           (long long)ns, (long long)sl);
    s->pool = pool, s->tok = tok, s->ns = ns, s->sl = sl, s->crit = crit;
    s->L = m->cfg.n_layers, s->H = m->cfg.hidden, s->V = m->cfg.vocab;
    s->view = *m;
    s->view.backing = NULL, s->view.backing_free = NULL;
    s->view.layers = malloc((size_t)s->L * sizeof *s->view.layers);
    const size_t T = (size_t)sl, H = (size_t)s->H, V = (size_t)s->V;
    s->cache = malloc((size_t)(s->L + 1) * T * H * sizeof *s->cache);
    s->work = malloc(T * H * sizeof *s->work);
    s->nll = malloc(T * sizeof *s->nll);
    s->logits = malloc(T * V * sizeof *s->logits);
    s->rowv = malloc(T * sizeof *s->rowv);
    if (crit == CRIT_JS)
        s->ref = malloc((size_t)ns * T * V * sizeof *s->ref);
    if (!s->view.layers || !s->cache || !s->work || !s->nll || !s->logits ||
        !s->rowv || (crit == CRIT_JS && !s->ref)) {
        search_free(s);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory for the "
                           "search buffers (%lld layers x %lld tokens x %lld "
                           "hidden%s)", who, (long long)(m->cfg.n_layers + 1),
                           (long long)sl, (long long)m->cfg.hidden,
                           crit == CRIT_JS ? ", plus the dense logits" : "");
    }
    for (int64_t l = 0; l < s->L; l++) {
        s->view.layers[l] = m->layers[l];
        s->view.layers[l].shape = cpr_layer_shape_of(m, l);
    }
    enum cpr_status st = cpr_forward_init(&s->f, &s->view, NULL, pool, 1, sl,
                                          err);
    if (st) search_free(s);
    return st;
}

static int *flag(struct search *s, int64_t l, int attn) {
    return attn ? &s->view.layers[l].shape.has_attn
                : &s->view.layers[l].shape.has_mlp;
}

// Logits of hidden rows (sl, H) into out (sl, V).
static enum cpr_status window_logits(struct search *s, const float *h,
                                     float *out, struct cpr_err *err) {
    for (int64_t p = 0; p < s->sl; p += s->f.logit_rows) {
        int64_t n = s->sl - p;
        if (n > s->f.logit_rows) n = s->f.logit_rows;
        CPR_TRY(cpr_forward_logits(&s->f, h + p * s->H, n, out + p * s->V,
                                   err));
    }
    return CPR_OK;
}

static double log_sum_exp(const float *x, int64_t n) {
    double mx = x[0], acc = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    for (int64_t i = 0; i < n; i++) acc += exp((double)x[i] - mx);
    return mx + log(acc);
}

struct js_job {
    struct search *s;
    const float *a, *b; // (sl, V) dense, pruned
};

// Per row: sum over the vocabulary of M (log M - log P) + M (log M - log Q).
static void js_rows(void *ctx, size_t ith, size_t nth) {
    struct js_job *j = ctx;
    const int64_t V = j->s->V;
    size_t r0, r1;
    cpr_pool_split((size_t)j->s->sl, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        const float *x = j->a + r * (size_t)V, *y = j->b + r * (size_t)V;
        const double lx = log_sum_exp(x, V), ly = log_sum_exp(y, V);
        double t = 0;
        for (int64_t v = 0; v < V; v++) {
            const double lp = x[v] - lx, lq = y[v] - ly;
            const double mm = 0.5 * (exp(lp) + exp(lq));
            if (mm > 0) {
                const double lm = log(mm);
                t += mm * (lm - lp) + mm * (lm - lq);
            }
        }
        j->s->rowv[r] = t;
    }
}

// The window's contribution to a candidate's score from the last layer's
// output h: NLL: the mean next-token loss; JS: the sum of the row terms.
static enum cpr_status window_score(struct search *s, const float *h,
                                    int64_t w, double *out,
                                    struct cpr_err *err) {
    double acc = 0;
    if (s->crit == CRIT_NLL) {
        CPR_TRY(cpr_forward_nll(&s->f, h, s->tok + w * s->sl, 1, s->sl, 0,
                                s->nll, err));
        for (int64_t p = 0; p < s->sl - 1; p++) acc += s->nll[p];
        *out = acc / (double)(s->sl - 1);
        return CPR_OK;
    }
    CPR_TRY(window_logits(s, h, s->logits, err));
    struct js_job j = {s, s->ref + (size_t)w * (size_t)(s->sl * s->V),
                       s->logits};
    cpr_pool_run(s->pool, js_rows, &j);
    for (int64_t r = 0; r < s->sl; r++) acc += s->rowv[r];
    *out = acc;
    return CPR_OK;
}

static enum cpr_status dense_logits(struct search *s, struct cpr_err *err) {
    for (int64_t w = 0; w < s->ns; w++) {
        CPR_TRY(cpr_forward_embed(&s->f, s->tok + w * s->sl, 1, s->sl,
                                  s->work, err));
        for (int64_t l = 0; l < s->L; l++)
            CPR_TRY(cpr_forward_block(&s->f, l, s->work, 1, s->sl, NULL, err));
        CPR_TRY(window_logits(s, s->work,
                              s->ref + (size_t)w * (size_t)(s->sl * s->V),
                              err));
    }
    return CPR_OK;
}

// score[i] = sum over windows of window_score with candidate i removed on
// top of the view's current flags.
static enum cpr_status eval_cands(struct search *s, const struct cand *c,
                                  int64_t nc, double *score,
                                  struct cpr_err *err) {
    const size_t TH = (size_t)(s->sl * s->H);
    for (int64_t i = 0; i < nc; i++) score[i] = 0;
    for (int64_t w = 0; w < s->ns; w++) {
        CPR_TRY(cpr_forward_embed(&s->f, s->tok + w * s->sl, 1, s->sl,
                                  s->cache, err));
        for (int64_t l = 0; l < s->L; l++) {
            memcpy(s->cache + (size_t)(l + 1) * TH, s->cache + (size_t)l * TH,
                   TH * sizeof *s->cache);
            CPR_TRY(cpr_forward_block(&s->f, l, s->cache + (size_t)(l + 1) * TH,
                                      1, s->sl, NULL, err));
        }
        for (int64_t i = 0; i < nc; i++) {
            const int64_t l0 = c[i].layer;
            int *fa = flag(s, l0, 1), *fm = flag(s, l0, 0);
            const int sa = *fa, sm = *fm;
            if (c[i].kind != CPR_DEPTH_MLP) *fa = 0;
            if (c[i].kind != CPR_DEPTH_ATTN) *fm = 0;
            memcpy(s->work, s->cache + (size_t)l0 * TH, TH * sizeof *s->work);
            enum cpr_status st = CPR_OK;
            for (int64_t l = l0; l < s->L && !st; l++)
                st = cpr_forward_block(&s->f, l, s->work, 1, s->sl, NULL, err);
            *fa = sa, *fm = sm;
            double v = 0;
            if (!st) st = window_score(s, s->work, w, &v, err);
            if (st) return st;
            score[i] += v;
        }
    }
    return CPR_OK;
}

static int reached(const struct cpr_depth_target *tg, int64_t n,
                   int64_t removed) {
    return tg->count > 0 ? n >= tg->count : removed >= tg->min_linear;
}

// Remove candidate c from the view (it stays removed for later steps).
static void commit(struct search *s, const struct cand *c) {
    if (c->kind != CPR_DEPTH_MLP) *flag(s, c->layer, 1) = 0;
    if (c->kind != CPR_DEPTH_ATTN) *flag(s, c->layer, 0) = 0;
}

static int64_t argmin(const double *v, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] < v[b]) b = i; // strict: ties keep the first
    return b;
}

enum cpr_status cpr_sleb_search(const struct cpr_model *m,
                                struct cpr_pool *pool, const int32_t *tok,
                                int64_t n_seq, int64_t seqlen,
                                const struct cpr_depth_target *tg,
                                const struct cpr_depth_search_opts *o,
                                struct cpr_depth_step *steps,
                                int64_t *n_steps, struct cpr_err *err) {
    struct search s;
    *n_steps = 0;
    CPR_TRY(search_init(&s, m, pool, tok, n_seq, seqlen, CRIT_NLL, "sleb",
                        err));
    const int64_t L = s.L;
    int64_t *alive = malloc((size_t)L * sizeof *alive);
    struct cand *c = malloc((size_t)L * sizeof *c);
    double *sc = malloc((size_t)L * sizeof *sc);
    enum cpr_status st = CPR_OK;
    if (!alive || !c || !sc) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "sleb: out of memory");
        goto done;
    }
    int64_t na = L, removed = 0;
    for (int64_t l = 0; l < L; l++) alive[l] = l;
    while (!reached(tg, *n_steps, removed)) {
        int64_t nc = 0;
        for (int64_t j = o->early; j < na - o->latter; j++)
            c[nc++] = (struct cand){alive[j], CPR_DEPTH_LAYER};
        if (nc < 1 || na < 2) {
            st = cpr_err_set(err, CPR_ERR_ARG, "sleb: no layer left to remove "
                             "after %lld removals (%lld layers alive; the "
                             "first %d and last %d are protected)",
                             (long long)*n_steps, (long long)na, o->early,
                             o->latter);
            goto done;
        }
        if ((st = eval_cands(&s, c, nc, sc, err))) goto done;
        const int64_t b = argmin(sc, nc);
        commit(&s, &c[b]);
        steps[(*n_steps)++] = (struct cpr_depth_step){
            c[b].layer, CPR_DEPTH_LAYER, sc[b] * (double)seqlen};
        removed += cpr_depth_sub_linear(m, c[b].layer, CPR_DEPTH_LAYER);
        int64_t k = 0;
        for (int64_t j = 0; j < na; j++)
            if (alive[j] != c[b].layer) alive[k++] = alive[j];
        na = k;
    }
done:
    free(alive), free(c), free(sc);
    search_free(&s);
    return st;
}

enum cpr_status cpr_blockpruner_search(const struct cpr_model *m,
                                       struct cpr_pool *pool,
                                       const int32_t *tok, int64_t n_seq,
                                       int64_t seqlen,
                                       const struct cpr_depth_target *tg,
                                       struct cpr_depth_step *steps,
                                       int64_t *n_steps, struct cpr_err *err) {
    struct search s;
    *n_steps = 0;
    CPR_TRY(search_init(&s, m, pool, tok, n_seq, seqlen, CRIT_NLL,
                        "blockpruner", err));
    const int64_t L = s.L;
    struct cand *c = malloc(2 * (size_t)L * sizeof *c);
    double *sc = malloc(2 * (size_t)L * sizeof *sc);
    enum cpr_status st = CPR_OK;
    int64_t removed = 0;
    if (!c || !sc) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "blockpruner: out of memory");
        goto done;
    }
    while (!reached(tg, *n_steps, removed)) {
        int64_t nc = 0;
        for (int a = 1; a >= 0; a--) // "mha" ids, then "mlp" ids
            for (int64_t l = 0; l < L; l++)
                if (*flag(&s, l, a))
                    c[nc++] = (struct cand){l, a ? CPR_DEPTH_ATTN
                                                 : CPR_DEPTH_MLP};
        if (nc < 1) {
            st = cpr_err_set(err, CPR_ERR_ARG, "blockpruner: no sub-block "
                             "left to remove after %lld removals",
                             (long long)*n_steps);
            goto done;
        }
        if ((st = eval_cands(&s, c, nc, sc, err))) goto done;
        const int64_t b = argmin(sc, nc);
        commit(&s, &c[b]);
        steps[(*n_steps)++] = (struct cpr_depth_step){
            c[b].layer, c[b].kind, exp(sc[b] / (double)n_seq)};
        removed += cpr_depth_sub_linear(m, c[b].layer, c[b].kind);
    }
done:
    free(c), free(sc);
    search_free(&s);
    return st;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum cpr_status cpr_finercut_search(const struct cpr_model *m,
                                    struct cpr_pool *pool, const int32_t *tok,
                                    int64_t n_seq, int64_t seqlen,
                                    const struct cpr_depth_target *tg,
                                    const struct cpr_depth_search_opts *o,
                                    struct cpr_depth_step *steps,
                                    int64_t *n_steps, struct cpr_err *err) {
    struct search s;
    *n_steps = 0;
    if (!(o->exclude >= 0 && o->exclude < 1))
        return cpr_err_set(err, CPR_ERR_ARG, "finercut: exclude rate %g "
                           "outside [0, 1)", o->exclude);
    CPR_TRY(search_init(&s, m, pool, tok, n_seq, seqlen, CRIT_JS, "finercut",
                        err));
    const int64_t L = s.L;
    struct cand *c = malloc(2 * (size_t)L * sizeof *c);
    struct cand *held = malloc(2 * (size_t)L * sizeof *held);
    double *sc = malloc(2 * (size_t)L * sizeof *sc);
    char (*names)[64] = malloc(2 * (size_t)L * sizeof *names);
    char **np = malloc(2 * (size_t)L * sizeof *np);
    enum cpr_status st = CPR_OK;
    int64_t removed = 0, nc = 0, nh = 0;
    if (!c || !held || !sc || !names || !np) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "finercut: out of memory");
        goto done;
    }
    // The candidate list in the order of the module names sorted as strings.
    int64_t nn = 0;
    for (int64_t l = 0; l < L; l++) {
        if (*flag(&s, l, 1))
            snprintf(names[nn], sizeof names[nn], "layers.%lld.self_attn",
                     (long long)l), np[nn] = names[nn], nn++;
        if (*flag(&s, l, 0))
            snprintf(names[nn], sizeof names[nn], "layers.%lld.mlp",
                     (long long)l), np[nn] = names[nn], nn++;
    }
    qsort(np, (size_t)nn, sizeof *np, cmp_names);
    const int64_t total = nn;
    const int64_t n_excl = (int64_t)((double)total * o->exclude / 2.0) + 1;
    const int64_t readmit = (int64_t)((double)total * o->exclude) + 1;
    for (int64_t i = 0; i < nn; i++) {
        long long l = 0;
        char kind[16] = "";
        sscanf(np[i], "layers.%lld.%15s", &l, kind);
        const struct cand x = {l, strcmp(kind, "mlp") ? CPR_DEPTH_ATTN
                                                      : CPR_DEPTH_MLP};
        if (l < n_excl) held[nh++] = x;
        else c[nc++] = x;
    }
    if ((st = dense_logits(&s, err))) goto done;
    const double denom = (double)n_seq * (double)seqlen * (double)s.V;
    while (!reached(tg, *n_steps, removed)) {
        if (nc < 1) {
            st = cpr_err_set(err, CPR_ERR_ARG, "finercut: no sub-block left "
                             "to remove after %lld removals%s",
                             (long long)*n_steps,
                             nh ? " (the first layers are withheld by "
                                  "--exclude)" : "");
            goto done;
        }
        if ((st = eval_cands(&s, c, nc, sc, err))) goto done;
        const int64_t b = argmin(sc, nc);
        commit(&s, &c[b]);
        steps[(*n_steps)++] = (struct cpr_depth_step){
            c[b].layer, c[b].kind, 0.5 * sc[b] / denom};
        removed += cpr_depth_sub_linear(m, c[b].layer, c[b].kind);
        memmove(c + b, c + b + 1, (size_t)(nc - b - 1) * sizeof *c);
        nc--;
        if (*n_steps == readmit && nh) {
            memcpy(c + nc, held, (size_t)nh * sizeof *c);
            nc += nh, nh = 0;
        }
    }
done:
    free(c), free(held), free(sc), free(names), free(np);
    search_free(&s);
    return st;
}

enum cpr_status cpr_depth_apply(struct cpr_model *m,
                                const struct cpr_depth_step *steps,
                                int64_t n_steps, struct cpr_err *err) {
    const int64_t L = m->cfg.n_layers;
    uint8_t *drop = calloc((size_t)L, 1);
    if (!drop) return cpr_err_set(err, CPR_ERR_NOMEM, "out of memory");
    int any_layer = 0;
    enum cpr_status st = CPR_OK;
    for (int64_t i = 0; i < n_steps && !st; i++) {
        if (steps[i].layer < 0 || steps[i].layer >= L) {
            st = cpr_err_set(err, CPR_ERR_ARG, "depth apply: layer %lld "
                             "outside [0, %lld)", (long long)steps[i].layer,
                             (long long)L);
        } else if (steps[i].kind == CPR_DEPTH_LAYER) {
            drop[steps[i].layer] = 1, any_layer = 1;
        } else {
            st = cpr_model_remove_sub(m, steps[i].layer,
                                      steps[i].kind == CPR_DEPTH_ATTN
                                          ? CPR_GROUP_ATTN : CPR_GROUP_MLP,
                                      err);
        }
    }
    if (!st && any_layer) st = cpr_model_drop_layers(m, drop, err);
    else if (!st) st = cpr_model_drop_empty_layers(m, err);
    free(drop);
    return st;
}
