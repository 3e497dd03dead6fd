// methods/mixed.c: sensitivity-aware mixed sparsity (contract in mixed.h).
//
// Sensitivity. The paper estimates, per weight matrix, the trace of the
// full-model loss Hessian with Hutchinson's method (pyhessian, Rademacher
// vectors, averaged by parameter count: sen = Tr(H)/n).
// `sensitivity=hutchinson` does that (methods/hutchinson.h: Hessian-vector
// products by central finite differences of exact gradients, max_iter /
// tol as the official code) in the method's prepass, over the calibration
// windows; it needs the backward pass (LLaMA-kind blocks for now).
// `sensitivity=layer` (the default: one forward scan instead of
// 2 x probes x windows gradient passes) uses the layer-wise
// reconstruction Hessian instead: for y = x W^T the Hessian of
// ||X W^T - X What^T||^2 w.r.t. W is I_rows (x) H_in with H_in = (2/ns)
// X^T X, so Tr/n = tr(H_in)/cols = 2 * sum_j scaler_row_j / cols: only the
// column sums of squares are needed. Note the layer-wise proxy gives q/k/v (and gate/up) the same value, as
// they share their input; their ranks are then decided by index.
//
// Pruning: SparseGPT (methods/sparsegpt.c) per linear at its allocated
// sparsity, with saliency `isc` (the code: W^2 (diag(H_damped) +
// 1/diag(Hinv_chol))), `isc_paper` (Eq. 4: W^2 (H_mm + 1/[H^-1]_mm), i.e.
// 1/d^2) or `obs` (plain SparseGPT). N:M targets are refused: the paper's
// allocation is unstructured.
#include "methods/mixed.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/hutchinson.h"
#include "methods/registry.h"

enum { SENS_LAYER = 0, SENS_HUTCHINSON };
static const char *const saliency_names[] = {"isc", "isc_paper", "obs"};

struct mixed_state {
    double alpha;
    int sensitivity;
    int saliency;
    double percdamp;
    size_t blocksize;
    const struct cpr_method *sg;
    void *sgstate;
    double *sens; // (n) grown during the scan
    int64_t n_sens, cap_sens;
    size_t hutch_iters, hutch_seed;
    double hutch_tol, hutch_eps;
    double *hsens; // (n_hsens) Hutchinson Tr(H)/n from the prepass
    int64_t n_hsens, hutch_probes;
};

static const struct cpr_method_opt mixed_opts[] = {
    {"alpha", CPR_OPT_DOUBLE, offsetof(struct mixed_state, alpha), "0.1",
     NULL, 0, 0.5, "densities spread over [1-p-alpha, 1-p+alpha]"},
    {"sensitivity", CPR_OPT_ENUM, offsetof(struct mixed_state, sensitivity),
     "layer", "layer|hutchinson", 0, 0,
     "layer = tr(H_in)/cols of the calibration Hessian; hutchinson = "
     "Tr(H)/n of the full-model loss (Rademacher probes, finite-difference "
     "HVPs; LLaMA-kind blocks)"},
    {"hutch_iters", CPR_OPT_SIZE, offsetof(struct mixed_state, hutch_iters),
     "100", NULL, 1, 100000, "hutchinson: probes at most (maxIter)"},
    {"hutch_tol", CPR_OPT_DOUBLE, offsetof(struct mixed_state, hutch_tol),
     "0.001", NULL, 0, 1, "hutchinson: stop when the pooled running mean "
     "changes by less than this, relatively (tol)"},
    {"hutch_seed", CPR_OPT_SIZE, offsetof(struct mixed_state, hutch_seed),
     "0", NULL, 0, 4e18, "hutchinson: seed of the Rademacher probes"},
    {"hutch_eps", CPR_OPT_DOUBLE, offsetof(struct mixed_state, hutch_eps),
     "0.0001", NULL, 1e-8, 1, "hutchinson: finite-difference step of the "
     "Hessian-vector products"},
    {"saliency", CPR_OPT_ENUM, offsetof(struct mixed_state, saliency), "isc",
     "isc|isc_paper|obs", 0, 0,
     "SparseGPT mask score: isc = W^2 (H_mm + 1/d) as the code, isc_paper "
     "= W^2 (H_mm + 1/d^2) as Eq. 4, obs = W^2/d^2"},
    {"percdamp", CPR_OPT_DOUBLE, offsetof(struct mixed_state, percdamp),
     "0.01", NULL, 0, 1e6, "SparseGPT dampening"},
    {"blocksize", CPR_OPT_SIZE, offsetof(struct mixed_state, blocksize), "128",
     NULL, 1, 65536, "SparseGPT columns per block"},
};
#define N_MIXED_OPTS (sizeof mixed_opts / sizeof mixed_opts[0])

static void mixed_free(void *state) {
    struct mixed_state *s = state;
    if (!s) return;
    if (s->sg && s->sgstate) s->sg->free(s->sgstate);
    free(s->sens);
    free(s->hsens);
    free(s);
}

// Pass our SparseGPT options down.
static enum cpr_status sync_base(struct mixed_state *s, struct cpr_err *err) {
    char list[256];
    snprintf(list, sizeof list, "saliency=%s,percdamp=%.17g,blocksize=%zu",
             saliency_names[s->saliency], s->percdamp, s->blocksize);
    return s->sg->parse_opts(s->sgstate, list, err);
}

static enum cpr_status mixed_init(void **state, struct cpr_err *err) {
    struct mixed_state *s = calloc(1, sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "mixed: state");
    enum cpr_status st = cpr_method_opts_defaults(mixed_opts, N_MIXED_OPTS, s,
                                                  "mixed", err);
    s->sg = cpr_method_find("sparsegpt");
    if (!st && !s->sg)
        st = cpr_err_set(err, CPR_ERR_INTERNAL, "mixed: sparsegpt missing");
    if (!st) st = s->sg->init(&s->sgstate, err);
    if (!st) st = sync_base(s, err);
    if (st) {
        mixed_free(s);
        return st;
    }
    *state = s;
    return CPR_OK;
}

static enum cpr_status mixed_parse(void *state, const char *list,
                                   struct cpr_err *err) {
    struct mixed_state *s = state;
    CPR_TRY(cpr_method_opts_parse(mixed_opts, N_MIXED_OPTS, s, "mixed", list,
                                  err));
    return sync_base(s, err);
}

static enum cpr_status mixed_scan(void *state, int64_t layer, int which,
                                  int n_which, const struct cpr_matrix *w,
                                  const struct cpr_linear_stats *ls,
                                  struct cpr_err *err) {
    struct mixed_state *s = state;
    (void)n_which; // one sensitivity per linear, whatever the block holds
    if (layer == 0 && which == 0) s->n_sens = 0;
    if (s->sensitivity == SENS_HUTCHINSON && s->n_sens >= s->n_hsens)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "mixed: %s: no Hutchinson "
                           "trace (the prepass ran for %lld linears)",
                           w->name ? w->name : "", (long long)s->n_hsens);
    if (!ls || !ls->scaler_row || ls->n_cols != w->cols || !w->cols)
        return cpr_err_set(err, CPR_ERR_ARG, "mixed: %s: the scan needs "
                           "scaler_row", w->name ? w->name : "");
    double tr = 0.0;
    for (size_t j = 0; j < w->cols; j++) tr += 2.0 * ls->scaler_row[j];
    if (s->n_sens == s->cap_sens) {
        int64_t cap = s->cap_sens ? 2 * s->cap_sens : 256;
        double *p = realloc(s->sens, (size_t)cap * sizeof *p);
        if (!p) return cpr_err_set(err, CPR_ERR_NOMEM, "mixed: sensitivities");
        s->sens = p;
        s->cap_sens = cap;
    }
    s->sens[s->n_sens] = s->sensitivity == SENS_HUTCHINSON
                             ? s->hsens[s->n_sens]
                             : tr / (double)w->cols;
    s->n_sens++;
    return CPR_OK;
}

// sensitivity=hutchinson: the traces of the still-dense model.
static enum cpr_status mixed_prepass(void *state, const struct cpr_model *m,
                                     const int32_t *windows, int64_t n_win,
                                     int64_t seqlen, struct cpr_pool *pool,
                                     const struct cpr_kernels *k,
                                     struct cpr_err *err) {
    struct mixed_state *s = state;
    if (s->sensitivity != SENS_HUTCHINSON) return CPR_OK;
    const struct cpr_hutch_opts o = {(int64_t)s->hutch_iters, s->hutch_tol,
                                     (uint64_t)s->hutch_seed, s->hutch_eps};
    struct cpr_hutch_result r;
    enum cpr_status st = cpr_hutchinson(m, windows, n_win, seqlen, &o, k,
                                        pool, &r, err);
    if (!st) {
        free(s->hsens);
        s->hsens = r.sens; // taken over
        r.sens = NULL;
        s->n_hsens = r.n_lin;
        s->hutch_probes = r.iters;
    }
    cpr_hutch_result_free(&r);
    return st;
}

static size_t mixed_prepass_bytes(const void *state,
                                  const struct cpr_model *m, int64_t seqlen,
                                  size_t n_threads) {
    const struct mixed_state *s = state;
    if (s->sensitivity != SENS_HUTCHINSON) return 0;
    return cpr_hutch_bytes(m, seqlen, n_threads, (int64_t)s->hutch_iters);
}

struct ranked {
    double v;
    int64_t i;
};

static int cmp_ranked(const void *a, const void *b) {
    const struct ranked *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

double cpr_mixed_allocate(const double *sens, const int64_t *numel, int64_t n,
                          double p, double alpha, double *sparsity) {
    if (n < 1) return p;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += (double)numel[i];
    if (n == 1) {
        sparsity[0] = p;
        return p;
    }
    struct ranked *r = malloc((size_t)n * sizeof *r);
    double *d = malloc((size_t)n * sizeof *d);
    int *fixed = calloc((size_t)n, sizeof *fixed);
    if (!r || !d || !fixed) { // fall back to uniform
        for (int64_t i = 0; i < n; i++) sparsity[i] = p;
        free(r), free(d), free(fixed);
        return p;
    }
    for (int64_t i = 0; i < n; i++) r[i] = (struct ranked){sens[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    const double L = 1.0 - p - alpha, R = 2.0 * (1.0 - p) - L;
    for (int64_t k = 0; k < n; k++)
        d[r[k].i] = L + (double)k * (R - L) / (double)(n - 1);
    // parameter-weighted correction: shift the free densities by one
    // constant until sum numel_i d_i = (1 - p) total, clamping to [0, 1]
    for (int iter = 0; iter < 64; iter++) {
        double have = 0.0, free_n = 0.0;
        for (int64_t i = 0; i < n; i++) {
            have += (double)numel[i] * d[i];
            if (!fixed[i]) free_n += (double)numel[i];
        }
        const double want = (1.0 - p) * total;
        if (fabs(have - want) <= 1e-9 * total || free_n == 0.0) break;
        const double c = (want - have) / free_n;
        for (int64_t i = 0; i < n; i++) {
            if (fixed[i]) continue;
            d[i] += c;
            if (d[i] < 0.0) d[i] = 0.0, fixed[i] = 1;
            if (d[i] > 1.0) d[i] = 1.0, fixed[i] = 1;
        }
    }
    double achieved = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sparsity[i] = 1.0 - d[i];
        achieved += (double)numel[i] * sparsity[i];
    }
    free(r), free(d), free(fixed);
    return achieved / total;
}

static enum cpr_status mixed_allocate(void *state, int64_t n_layers,
                                      int64_t per_layer, const int64_t *numel,
                                      const struct cpr_prune_target *t,
                                      struct cpr_prune_target *per_linear,
                                      struct cpr_err *err) {
    struct mixed_state *s = state;
    const int64_t n = n_layers * per_layer;
    if (t->nm_m)
        return cpr_err_set(err, CPR_ERR_ARG, "mixed: the allocation is "
                           "unstructured; use --sparsity, not an N:M pattern");
    if (s->n_sens != n)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "mixed: scanned %lld "
                           "linears, the model has %lld", (long long)s->n_sens,
                           (long long)n);
    double *sp = malloc((size_t)n * sizeof *sp);
    if (!sp) return cpr_err_set(err, CPR_ERR_NOMEM, "mixed: allocation");
    cpr_mixed_allocate(s->sens, numel, n, t->sparsity, s->alpha, sp);
    for (int64_t i = 0; i < n; i++)
        per_linear[i] = (struct cpr_prune_target){
            sp[i] < 0 ? 0 : (sp[i] >= 1.0 ? 0.999999 : sp[i]), 0, 0};
    free(sp);
    return CPR_OK;
}

static unsigned mixed_needs(const void *state) {
    const struct mixed_state *s = state;
    return cpr_method_needs(s->sg, s->sgstate);
}

static enum cpr_status mixed_prune(const void *state,
                                   const struct cpr_matrix *m,
                                   struct cpr_linear_stats *stats,
                                   const struct cpr_prune_target *t,
                                   uint8_t *mask, struct cpr_pool *pool,
                                   const struct cpr_kernels *k,
                                   struct cpr_err *err) {
    const struct mixed_state *s = state;
    return s->sg->prune_matrix(s->sgstate, m, stats, t, mask, pool, k, err);
}

const struct cpr_method cpr_method_mixed = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "mixed",
    .summary = "sensitivity-aware mixed sparsity: per-linear densities "
               "linear in sensitivity rank, SparseGPT with the ISC saliency",
    .needs = CPR_NEED_HESSIAN,
    .opts = mixed_opts,
    .n_opts = N_MIXED_OPTS,
    .init = mixed_init,
    .parse_opts = mixed_parse,
    .prune_matrix = mixed_prune,
    .free = mixed_free,
    .needs_of = mixed_needs,
    .scan_needs = CPR_NEED_COLSUMSQ,
    .scan = mixed_scan,
    .allocate = mixed_allocate,
    .refuses = CPR_REFUSES_NM,
    .prepass = mixed_prepass,
    .prepass_bytes = mixed_prepass_bytes,
};
