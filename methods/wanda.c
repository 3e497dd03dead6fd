// methods/wanda.c: Wanda, as locuslab/wanda lib/prune.py prune_wanda runs
// it (metric line 166, selection lines 168-199).
//
// Metric: S[r][j] = |W[r][j]| * sqrt(scaler_row[j]), sqrt and product in
// f32 exactly as torch computes them from an f32 scaler_row, so masks
// match the reference bit for bit given the same scaler_row.
// Comparison group: each output row.
//   unstructured: exactly int(cols*s) smallest S per row; torch.sort(
//     stable=True) puts ties in index order, so ties go to the lower index.
//   N:M: per row, each group of m input columns, the n smallest S.
//   variant=1 (--use_variant, return_given_alpha): per row, sort S
//     ascending and take its running sum c_k; with one alpha for the whole
//     matrix, the row prunes every S <= sorted[k*-1] where k* = #{c_k <=
//     alpha * rowsum}. alpha is bisected from 0.4 on [0, 0.8] until the
//     matrix sparsity is within 0.001 of s or the interval is < 0.001.
//     Numerics follow torch on CPU: running sums accumulated in double and
//     stored as f32, rowsum in f32 (we sum in double then round: may
//     differ from torch's pairwise f32 sum by an ulp), alpha*rowsum and
//     the sparsity test in f32. A row with k* = 0 prunes nothing (torch
//     would gather index -1 and fail there).
#include "methods/wanda.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/rowsel.h"

struct wanda_state {
    int variant;
};

static const struct cpr_method_opt wanda_opts[] = {
    {"variant", CPR_OPT_BOOL, offsetof(struct wanda_state, variant), "0",
     NULL, 0, 1,
     "1: per-row cumulative-sum rule with alpha bisection (--use_variant)"},
};
#define N_WANDA_OPTS (sizeof wanda_opts / sizeof wanda_opts[0])

static enum cpr_status wanda_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(wanda_opts, N_WANDA_OPTS,
                                sizeof(struct wanda_state), "wanda", state,
                                err);
}

static enum cpr_status wanda_parse(void *state, const char *list,
                                   struct cpr_err *err) {
    return cpr_method_opts_parse(wanda_opts, N_WANDA_OPTS, state, "wanda",
                                 list, err);
}

static void wanda_free(void *state) { free(state); }

// ---- variant ----
static int cmp_float(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    int na = isnan(a), nb = isnan(b);
    if (na || nb) return na - nb; // NaN last, as torch.sort
    return (a > b) - (a < b);
}

struct var_ctx {
    const struct cpr_matrix *m;
    const float *scale;
    const struct cpr_kernels *k;
    float *sorted, *cum, *rowsum; // (rows, cols), (rows, cols), (rows)
};

static void var_sort_worker(void *vctx, size_t ith, size_t nth) {
    struct var_ctx *c = vctx;
    size_t cols = c->m->cols, r0, r1;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        float *srt = c->sorted + r * cols, *cum = c->cum + r * cols;
        c->k->absmul_f32(cols, c->m->w + r * c->m->ld, c->scale, srt);
        double tot = 0.0;
        for (size_t j = 0; j < cols; j++) tot += srt[j];
        c->rowsum[r] = (float)tot;
        qsort(srt, cols, sizeof *srt, cmp_float);
        double run = 0.0;
        for (size_t j = 0; j < cols; j++) {
            run += srt[j];
            cum[j] = (float)run;
        }
    }
}

// Number of leading entries of the ascending a[0..n) that are <= v.
static size_t count_le_sorted(const float *a, size_t n, float v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// Per-row threshold for alpha (-Inf: prune nothing) and the pruned count.
static size_t var_eval(const struct var_ctx *c, double alpha, float *thr) {
    size_t cols = c->m->cols, total = 0;
    for (size_t r = 0; r < c->m->rows; r++) {
        const float *srt = c->sorted + r * cols, *cum = c->cum + r * cols;
        float lim = c->rowsum[r] * (float)alpha;
        size_t kk = count_le_sorted(cum, cols, lim);
        thr[r] = kk ? srt[kk - 1] : -INFINITY;
        total += kk ? count_le_sorted(srt, cols, thr[r]) : 0;
    }
    return total;
}

static enum cpr_status wanda_variant(const struct cpr_matrix *m,
                                     const float *scale, double s,
                                     uint8_t *mask, struct cpr_pool *pool,
                                     const struct cpr_kernels *k,
                                     struct cpr_err *err) {
    size_t rows = m->rows, cols = m->cols, numel = rows * cols;
    float *sorted = malloc((numel ? numel : 1) * sizeof(float));
    float *cum = malloc((numel ? numel : 1) * sizeof(float));
    float *rowsum = malloc((rows ? rows : 1) * sizeof(float));
    float *thr = malloc((rows ? rows : 1) * sizeof(float));
    float *row = malloc((cols ? cols : 1) * sizeof(float));
    if (!sorted || !cum || !rowsum || !thr || !row) {
        free(sorted);
        free(cum);
        free(rowsum);
        free(thr);
        free(row);
        return cpr_err_set(err, CPR_ERR_NOMEM, "wanda variant: %s: 2 x %zu "
                           "floats of sort scratch",
                           m->name ? m->name : "matrix", numel);
    }
    struct var_ctx c = {m, scale, k, sorted, cum, rowsum};
    cpr_pool_run(pool, var_sort_worker, &c);
    // The reference's loop, with its f32 sparsity arithmetic.
    float target = (float)s, fnumel = (float)numel;
    double alpha = 0.4, lo = 0.0, hi = 0.8;
    float cur = (float)var_eval(&c, alpha, thr) / fnumel;
    while (fabsf(cur - target) > 0.001f && hi - lo >= 0.001) {
        double next;
        if (cur > target) {
            next = (alpha + lo) / 2.0;
            hi = alpha;
        } else {
            next = (alpha + hi) / 2.0;
            lo = alpha;
        }
        alpha = next;
        cur = (float)var_eval(&c, alpha, thr) / fnumel;
    }
    for (size_t r = 0; r < rows; r++) {
        float *w = m->w + r * m->ld;
        k->absmul_f32(cols, w, scale, row);
        for (size_t j = 0; j < cols; j++) {
            int p = row[j] <= thr[r];
            if (p) w[j] = 0.0f;
            if (mask) mask[r * cols + j] = (uint8_t)p;
        }
    }
    free(sorted);
    free(cum);
    free(rowsum);
    free(thr);
    free(row);
    return CPR_OK;
}

// ---- prune ----
static enum cpr_status wanda_prune(const void *state,
                                   const struct cpr_matrix *m,
                                   struct cpr_linear_stats *stats,
                                   const struct cpr_prune_target *t,
                                   uint8_t *mask, struct cpr_pool *pool,
                                   const struct cpr_kernels *k,
                                   struct cpr_err *err) {
    const struct wanda_state *s = state;
    if (!k) k = cpr_kernels_get();
    int dense;
    CPR_TRY(cpr_prune_open("wanda", m, stats, CPR_NEED_COLSUMSQ, t, mask,
                           &dense, err));
    if (dense) return CPR_OK;
    const char *name = cpr_matrix_label(m);
    float *scale = malloc((m->cols ? m->cols : 1) * sizeof *scale);
    if (!scale) return cpr_err_set(err, CPR_ERR_NOMEM, "wanda: %s", name);
    for (size_t j = 0; j < m->cols; j++) scale[j] = sqrtf(stats->scaler_row[j]);
    enum cpr_status st;
    if (s->variant && t->nm_m == 0)
        st = wanda_variant(m, scale, t->sparsity, mask, pool, k, err);
    else
        st = cpr_rowsel_prune(m, scale, t, mask, pool, k, err);
    free(scale);
    return st;
}

static enum cpr_status wanda_scores(const void *state,
                                    const struct cpr_matrix *m,
                                    const struct cpr_linear_stats *stats,
                                    float *out, struct cpr_err *err) {
    (void)state;
    if (!stats || !stats->scaler_row || stats->n_cols != m->cols)
        return cpr_err_set(err, CPR_ERR_ARG, "wanda: scores need scaler_row");
    for (size_t r = 0; r < m->rows; r++)
        for (size_t j = 0; j < m->cols; j++)
            out[r * m->cols + j] =
                fabsf(m->w[r * m->ld + j]) * sqrtf(stats->scaler_row[j]);
    return CPR_OK;
}

const struct cpr_method cpr_method_wanda = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "wanda",
    .summary = "|W| * ||X_j||_2 per output row, exact count per row; N:M; "
               "alpha-bisection variant",
    .needs = CPR_NEED_COLSUMSQ,
    .opts = wanda_opts,
    .n_opts = N_WANDA_OPTS,
    .init = wanda_init,
    .parse_opts = wanda_parse,
    .prune_matrix = wanda_prune,
    .free = wanda_free,
    .scores = wanda_scores,
};
