// methods/owl.c: OWL (contract in owl.h).
//
// Pass 1 (scan, dense model): for every block, S = |W| * sqrt(scaler_row)
// of its seven linears concatenated; LOD = 100 * #(S > M * mean(S)) / #S.
// The scores of one block are held until its last linear arrives (one f32
// per weight of the block: 0.8 GB for a LLaMA-7B block), since the
// threshold needs the mean of all of them first.
// Allocation: cpr_owl_allocate / cpr_owl_allocate_nm.
// Pass 2: the ordinary pipeline with the base method, each linear of block
// l at block l's target (N:M: n_l of m).
//
// Options and the reference's defaults: hyper_m (argparse default 3; the
// README and the paper use 5, which the issue asks for: 5), lambda 0.08
// (--Lamda), nm_lambda 2 (the README's N:M example; with lambda 0.08 the
// rounding would give every block the same n), base wanda (prune_wanda_
// outlier; sparsegpt_outlier and magnitude_outlier share the allocation).
// The reference only has a Wanda N:M variant; with another base the same
// per-block n is used.
#include "methods/owl.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/registry.h"

enum { BASE_WANDA = 0, BASE_SPARSEGPT, BASE_MAGNITUDE };
static const char *const base_names[] = {"wanda", "sparsegpt", "magnitude"};

struct owl_state {
    int base;
    double hyper_m, lambda, nm_lambda;
    // base method
    const struct cpr_method *bm;
    void *bstate;
    // scan
    double *lod;            // (n_blocks) grown as blocks arrive
    int64_t n_lod, cap_lod;
    float *buf;             // the current block's scores
    size_t buf_n, buf_cap;
    int64_t buf_layer;
};

static const struct cpr_method_opt owl_opts[] = {
    {"base", CPR_OPT_ENUM, offsetof(struct owl_state, base), "wanda",
     "wanda|sparsegpt|magnitude", 0, 0, "method that prunes each block"},
    {"hyper_m", CPR_OPT_DOUBLE, offsetof(struct owl_state, hyper_m), "5", NULL,
     0, 1e6, "outlier threshold M: S > M * mean(S) counts as an outlier"},
    {"lambda", CPR_OPT_DOUBLE, offsetof(struct owl_state, lambda), "0.08",
     NULL, 0, 0.5, "block sparsities lie in [p - lambda, p + lambda]"},
    {"nm_lambda", CPR_OPT_DOUBLE, offsetof(struct owl_state, nm_lambda), "2",
     NULL, 0, 64, "N:M: spread of n across blocks (rounded)"},
};
#define N_OWL_OPTS (sizeof owl_opts / sizeof owl_opts[0])

static void owl_free(void *state) {
    struct owl_state *s = state;
    if (!s) return;
    if (s->bm && s->bstate) s->bm->free(s->bstate);
    free(s->lod);
    free(s->buf);
    free(s);
}

static enum cpr_status set_base(struct owl_state *s, struct cpr_err *err) {
    const struct cpr_method *bm = cpr_method_find(base_names[s->base]);
    if (!bm)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "owl: base method %s is "
                           "not registered", base_names[s->base]);
    if (bm == s->bm) return CPR_OK;
    if (s->bm && s->bstate) s->bm->free(s->bstate);
    s->bm = bm;
    s->bstate = NULL;
    return bm->init(&s->bstate, err);
}

static enum cpr_status owl_init(void **state, struct cpr_err *err) {
    struct owl_state *s = calloc(1, sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "owl: state");
    s->buf_layer = -1;
    enum cpr_status st =
        cpr_method_opts_defaults(owl_opts, N_OWL_OPTS, s, "owl", err);
    if (!st) st = set_base(s, err);
    if (st) {
        owl_free(s);
        return st;
    }
    *state = s;
    return CPR_OK;
}

static enum cpr_status owl_parse(void *state, const char *list,
                                 struct cpr_err *err) {
    struct owl_state *s = state;
    CPR_TRY(cpr_method_opts_parse(owl_opts, N_OWL_OPTS, s, "owl", list, err));
    return set_base(s, err);
}

static unsigned owl_needs(const void *state) {
    const struct owl_state *s = state;
    return cpr_method_needs(s->bm, s->bstate);
}

// ---- pass 1 ----

double cpr_owl_lod(const float *s, size_t n, double hyper_m) {
    if (!n) return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += s[i];
    const double thr = sum / (double)n * hyper_m;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += (double)s[i] > thr;
    return (double)c / (double)n * 100.0;
}

static enum cpr_status push_lod(struct owl_state *s, double v,
                                struct cpr_err *err) {
    if (s->n_lod == s->cap_lod) {
        int64_t cap = s->cap_lod ? 2 * s->cap_lod : 64;
        double *p = realloc(s->lod, (size_t)cap * sizeof *p);
        if (!p) return cpr_err_set(err, CPR_ERR_NOMEM, "owl: ratios");
        s->lod = p;
        s->cap_lod = cap;
    }
    s->lod[s->n_lod++] = v;
    return CPR_OK;
}

static enum cpr_status owl_scan(void *state, int64_t layer, int which,
                                int n_which, const struct cpr_matrix *w,
                                const struct cpr_linear_stats *ls,
                                struct cpr_err *err) {
    struct owl_state *s = state;
    if (layer == 0 && which == 0) s->n_lod = 0; // a new scan
    if (which == 0) s->buf_n = 0;
    if (!ls || !ls->scaler_row || ls->n_cols != w->cols)
        return cpr_err_set(err, CPR_ERR_ARG, "owl: %s: the scan needs "
                           "scaler_row for %zu columns", w->name ? w->name : "",
                           w->cols);
    const size_t n = w->rows * w->cols;
    if (s->buf_n + n > s->buf_cap) {
        size_t cap = s->buf_n + n;
        float *p = realloc(s->buf, cap * sizeof *p);
        if (!p)
            return cpr_err_set(err, CPR_ERR_NOMEM, "owl: %zu scores of block "
                               "%lld", cap, (long long)layer);
        s->buf = p;
        s->buf_cap = cap;
    }
    float *out = s->buf + s->buf_n;
    for (size_t j = 0; j < w->cols; j++) {
        const float a = sqrtf(ls->scaler_row[j]);
        for (size_t r = 0; r < w->rows; r++)
            out[r * w->cols + j] = fabsf(w->w[r * w->ld + j]) * a;
    }
    s->buf_n += n;
    if (which == n_which - 1) // the block's last linear: its LOD
        CPR_TRY(push_lod(s, cpr_owl_lod(s->buf, s->buf_n, s->hyper_m), err));
    return CPR_OK;
}

// ---- allocation ----

static void minmax(const double *v, int64_t n, double *lo, double *hi) {
    *lo = *hi = v[0];
    for (int64_t i = 1; i < n; i++) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

void cpr_owl_allocate(const double *lod, int64_t n, double p, double lambda,
                      double *sparsity) {
    double lo, hi;
    minmax(lod, n, &lo, &hi);
    if (!(hi > lo)) {
        for (int64_t i = 0; i < n; i++) sparsity[i] = p;
        return;
    }
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sparsity[i] = (lod[i] - lo) * (1.0 / (hi - lo) * lambda * 2.0);
        mean += sparsity[i];
    }
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double r = sparsity[i] - mean + (1.0 - p); // density
        double sp = 1.0 - r;
        sparsity[i] = sp <= 0.0 ? 0.01 : sp;
    }
}

void cpr_owl_allocate_nm(const double *lod, int64_t n_blocks, unsigned n,
                         unsigned m, double lambda, unsigned *n_per_block) {
    double lo, hi;
    minmax(lod, n_blocks, &lo, &hi);
    double *r = malloc((size_t)n_blocks * sizeof *r);
    double mean = 0.0;
    for (int64_t i = 0; i < n_blocks; i++) {
        r[i] = hi > lo ? (lod[i] - lo) * (1.0 / (hi - lo) * lambda) : 0.0;
        mean += r[i];
    }
    mean /= (double)n_blocks;
    for (int64_t i = 0; i < n_blocks; i++) {
        double k = (double)n - nearbyint(r[i] - mean); // half to even
        if (k < 0) k = 0;
        if (k > m - 1) k = m - 1;
        n_per_block[i] = (unsigned)k;
    }
    free(r);
}

static enum cpr_status owl_allocate(void *state, int64_t n_layers,
                                    int64_t per_layer, const int64_t *numel,
                                    const struct cpr_prune_target *t,
                                    struct cpr_prune_target *per_linear,
                                    struct cpr_err *err) {
    struct owl_state *s = state;
    (void)numel; // blocks are equal in size: the plain mean is the target
    if (s->n_lod != n_layers)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "owl: scanned %lld blocks, "
                           "the model has %lld", (long long)s->n_lod,
                           (long long)n_layers);
    free(s->buf); // the scores are no longer needed
    s->buf = NULL;
    s->buf_n = s->buf_cap = 0;
    if (t->nm_m) {
        unsigned *nb = malloc((size_t)n_layers * sizeof *nb);
        if (!nb) return cpr_err_set(err, CPR_ERR_NOMEM, "owl: allocation");
        cpr_owl_allocate_nm(s->lod, n_layers, t->nm_n, t->nm_m, s->nm_lambda,
                            nb);
        for (int64_t l = 0; l < n_layers; l++)
            for (int64_t j = 0; j < per_layer; j++)
                per_linear[l * per_layer + j] =
                    nb[l] ? (struct cpr_prune_target){(double)nb[l] / t->nm_m,
                                                      nb[l], t->nm_m}
                          : (struct cpr_prune_target){0.0, 0, 0};
        free(nb);
        return CPR_OK;
    }
    double *sp = malloc((size_t)n_layers * sizeof *sp);
    if (!sp) return cpr_err_set(err, CPR_ERR_NOMEM, "owl: allocation");
    cpr_owl_allocate(s->lod, n_layers, t->sparsity, s->lambda, sp);
    for (int64_t l = 0; l < n_layers; l++)
        for (int64_t j = 0; j < per_layer; j++)
            per_linear[l * per_layer + j] =
                (struct cpr_prune_target){sp[l] >= 1.0 ? 0.99 : sp[l], 0, 0};
    free(sp);
    return CPR_OK;
}

static enum cpr_status owl_prune(const void *state, const struct cpr_matrix *m,
                                 struct cpr_linear_stats *stats,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err) {
    const struct owl_state *s = state;
    return s->bm->prune_matrix(s->bstate, m, stats, t, mask, pool, k, err);
}

static enum cpr_status owl_scores(const void *state, const struct cpr_matrix *m,
                                  const struct cpr_linear_stats *stats,
                                  float *out, struct cpr_err *err) {
    const struct owl_state *s = state;
    if (!s->bm->scores)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "owl: base %s has no "
                           "scores", s->bm->name);
    return s->bm->scores(s->bstate, m, stats, out, err);
}

const struct cpr_method cpr_method_owl = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "owl",
    .summary = "outlier-weighed layerwise sparsity: per-block sparsity from "
               "the Wanda-score outlier ratio, then wanda/sparsegpt/magnitude",
    .needs = CPR_NEED_COLSUMSQ,
    .opts = owl_opts,
    .n_opts = N_OWL_OPTS,
    .init = owl_init,
    .parse_opts = owl_parse,
    .prune_matrix = owl_prune,
    .free = owl_free,
    .needs_of = owl_needs,
    .scan_needs = CPR_NEED_COLSUMSQ,
    .scan = owl_scan,
    .allocate = owl_allocate,
    .scores = owl_scores,
};
