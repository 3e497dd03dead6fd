// methods/stats.c: per-capture-site calibration statistics (see stats.h).
//
// What this file does: validate chunks, run the colstats kernel over the
// pool (columns split, each column's rows still added in increasing order,
// so sums are bit-identical for any ISA and thread count), accumulate the
// raw Hessian with cpr_syrk (f32 directly; f64 through an f32 per-chunk
// scratch), and turn the sums into the cpr_linear_stats a method reads.
// What it is not: no I/O, no rescaling per batch (the reference's running
// H *= n/(n+b) is the same sum in exact arithmetic; we scale once at the
// end), no copies of the activations.
#include "methods/stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"

// Column boundaries of the colstats split: 16 columns = one AVX-512 tile
// of the kernel and two cache lines of double accumulators, so threads
// never share an accumulator line.
#define STATS_COL_ALIGN 16
// Element boundaries of the f64 Hessian fold (64 doubles = 8 lines).
#define STATS_FOLD_ALIGN 64

static const unsigned STATS_NEEDS =
    CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN | CPR_NEED_COLMEANVAR;

// ---- sizes ----

// n * n without overflow (0 on overflow; n >= 1).
static size_t square_of(size_t n) {
    if (n > SIZE_MAX / n) return 0;
    return n * n;
}

size_t cpr_site_stats_bytes(size_t n_cols, unsigned needs, int hessian_f64) {
    size_t b = 0;
    if (n_cols == 0) return 0;
    if (needs & (CPR_NEED_COLSUMSQ | CPR_NEED_COLMEANVAR))
        b += n_cols * sizeof(double);
    if (needs & CPR_NEED_COLMEANVAR) b += n_cols * sizeof(double);
    if (needs & CPR_NEED_HESSIAN) {
        size_t nn = square_of(n_cols);
        size_t per = hessian_f64 ? sizeof(double) + sizeof(float)
                                 : sizeof(float);
        if (nn == 0 || nn > (SIZE_MAX - b) / per) return SIZE_MAX;
        b += nn * per;
    }
    return b;
}

// ---- init / reset / free ----

void cpr_site_stats_free(struct cpr_site_stats *s) {
    if (!s) return;
    free(s->sumsq);
    free(s->sum);
    free(s->h32);
    free(s->h64);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}

enum cpr_status cpr_site_stats_init(struct cpr_site_stats *s, size_t n_cols,
                                    unsigned needs, int hessian_f64,
                                    struct cpr_err *err) {
    if (!s) return cpr_err_set(err, CPR_ERR_ARG, "site stats: NULL struct");
    memset(s, 0, sizeof *s);
    if (n_cols == 0)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats: n_cols is 0; "
                           "expected >= 1 input columns");
    s->n_cols = n_cols;
    s->needs = needs & STATS_NEEDS;
    s->hessian_f64 = (s->needs & CPR_NEED_HESSIAN) && hessian_f64;
    size_t bytes = cpr_site_stats_bytes(n_cols, s->needs, s->hessian_f64);
    if (bytes == SIZE_MAX)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats: a %zu x %zu "
                           "Hessian does not fit in memory addresses",
                           n_cols, n_cols);
    // calloc: the Hessians are big and calloc maps zero pages lazily.
    if (s->needs & (CPR_NEED_COLSUMSQ | CPR_NEED_COLMEANVAR))
        if (!(s->sumsq = calloc(n_cols, sizeof(double)))) goto nomem;
    if (s->needs & CPR_NEED_COLMEANVAR)
        if (!(s->sum = calloc(n_cols, sizeof(double)))) goto nomem;
    if (s->needs & CPR_NEED_HESSIAN) {
        size_t nn = n_cols * n_cols; // checked by cpr_site_stats_bytes
        if (s->hessian_f64) {
            if (!(s->h64 = calloc(nn, sizeof(double)))) goto nomem;
            // Invariant: the scratch is all zeros between calls to add.
            if (!(s->scratch = calloc(nn, sizeof(float)))) goto nomem;
        } else {
            if (!(s->h32 = calloc(nn, sizeof(float)))) goto nomem;
        }
    }
    return CPR_OK;
nomem:
    cpr_site_stats_free(s);
    return cpr_err_set(err, CPR_ERR_NOMEM, "site stats: cannot allocate %zu "
                       "bytes (%.1f MiB) of accumulators for %zu columns",
                       bytes, (double)bytes / 1048576.0, n_cols);
}

void cpr_site_stats_reset(struct cpr_site_stats *s) {
    size_t n = s->n_cols;
    s->n_samples = 0;
    s->n_tokens = 0;
    if (s->sumsq) memset(s->sumsq, 0, n * sizeof(double));
    if (s->sum) memset(s->sum, 0, n * sizeof(double));
    if (s->h32) memset(s->h32, 0, n * n * sizeof(float));
    if (s->h64) memset(s->h64, 0, n * n * sizeof(double));
    if (s->scratch) memset(s->scratch, 0, n * n * sizeof(float));
}

// ---- add ----

struct colstats_job {
    const struct cpr_kernels *k;
    const float *x;
    size_t n_rows, n_cols, ld;
    double *sumsq, *sum;
};

// Columns [c0, c1) of the chunk: the kernel adds each column's rows in
// increasing order whatever the column range, so the split is invisible in
// the result.
static void colstats_worker(void *vctx, size_t ith, size_t nth) {
    const struct colstats_job *j = vctx;
    size_t c0, c1;
    cpr_pool_split(j->n_cols, ith, nth, STATS_COL_ALIGN, &c0, &c1);
    if (c1 > c0)
        j->k->colstats_f32(j->n_rows, c1 - c0, j->x + c0, j->ld, j->sumsq + c0,
                           j->sum ? j->sum + c0 : NULL);
}

struct fold_job {
    size_t n; // elements
    float *scratch;
    double *h64;
};

// h64 += scratch; scratch = 0 (restores the scratch invariant in the same
// pass). Element-wise, so any split gives the same result.
static void fold_worker(void *vctx, size_t ith, size_t nth) {
    const struct fold_job *j = vctx;
    size_t e0, e1;
    cpr_pool_split(j->n, ith, nth, STATS_FOLD_ALIGN, &e0, &e1);
    for (size_t e = e0; e < e1; e++) j->h64[e] += (double)j->scratch[e];
    if (e1 > e0) memset(j->scratch + e0, 0, (e1 - e0) * sizeof(float));
}

enum cpr_status cpr_site_stats_add(struct cpr_site_stats *s, const float *x,
                                   size_t n_rows, size_t ld, size_t n_seq,
                                   struct cpr_pool *pool,
                                   const struct cpr_kernels *k,
                                   struct cpr_err *err) {
    if (!s || s->n_cols == 0)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: statistics "
                           "not initialized");
    if (n_rows == 0 && n_seq == 0) return CPR_OK; // empty chunk
    size_t n = s->n_cols;
    if (!x)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: x is NULL "
                           "for %zu rows", n_rows);
    if (ld < n)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: row stride "
                           "%zu < %zu columns (chunk narrower than the "
                           "site: wrong capture site?)", ld, n);
    if (n_seq == 0 || n_rows == 0 || n_rows % n_seq != 0)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: %zu rows do "
                           "not hold %zu whole sequences (expected n_rows = "
                           "n_seq * seqlen with both >= 1)", n_rows, n_seq);
    if (!k) k = cpr_kernels_get();

    if (s->sumsq) {
        struct colstats_job j = {k, x, n_rows, n, ld, s->sumsq, s->sum};
        cpr_pool_run(pool, colstats_worker, &j);
    }
    if (s->h32) {
        CPR_TRY(cpr_syrk(pool, k, n, n_rows, x, ld, s->h32, n, err));
    } else if (s->h64) {
        // The chunk's X^T X in f32 (scratch is zero here), then folded
        // into the double sum and the scratch zeroed again.
        CPR_TRY(cpr_syrk(pool, k, n, n_rows, x, ld, s->scratch, n, err));
        struct fold_job f = {n * n, s->scratch, s->h64};
        cpr_pool_run(pool, fold_worker, &f);
    }
    s->n_samples += n_seq;
    s->n_tokens += n_rows;
    return CPR_OK;
}

enum cpr_status cpr_site_stats_add_capture(struct cpr_site_stats *s,
                                           const struct cpr_capture *cap,
                                           struct cpr_pool *pool,
                                           const struct cpr_kernels *k,
                                           struct cpr_err *err) {
    if (!s || !cap)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: NULL argument");
    if (cap->n_rows < 0 || cap->n_cols < 0 || cap->ld < 0 || cap->n_seq < 0)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: negative size "
                           "in capture of layer %lld",
                           (long long)cap->layer);
    if ((size_t)cap->n_cols != s->n_cols)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats add: capture %s of "
                           "layer %lld has %lld columns, statistics have %zu "
                           "(statistics of another site?)",
                           cpr_capture_site_name(cap->site),
                           (long long)cap->layer, (long long)cap->n_cols,
                           s->n_cols);
    return cpr_site_stats_add(s, cap->x, (size_t)cap->n_rows, (size_t)cap->ld,
                              (size_t)cap->n_seq, pool, k, err);
}

// ---- finish ----

enum cpr_status cpr_site_stats_finish(const struct cpr_site_stats *s,
                                      float *scaler_row, float *hessian,
                                      double *col_mean, double *col_var,
                                      struct cpr_linear_stats *out,
                                      struct cpr_err *err) {
    if (!s || s->n_cols == 0 || !out)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats finish: NULL or "
                           "uninitialized argument");
    if (s->n_samples == 0)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats finish: no "
                           "calibration sample was added (n_samples = 0)");
    if (scaler_row && !s->sumsq)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats finish: scaler_row "
                           "asked for but column sums of squares were not "
                           "accumulated (needs colsumsq)");
    if (hessian && !s->h32 && !s->h64)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats finish: Hessian "
                           "asked for but not accumulated (needs hessian)");
    if ((col_mean || col_var) && !s->sum)
        return cpr_err_set(err, CPR_ERR_ARG, "site stats finish: column mean "
                           "/ variance asked for but not accumulated (needs "
                           "colmeanvar)");
    size_t n = s->n_cols;
    double ns = (double)s->n_samples, nt = (double)s->n_tokens;
    if (scaler_row)
        for (size_t j = 0; j < n; j++)
            scaler_row[j] = (float)(s->sumsq[j] / ns);
    if (hessian) {
        // H = (2 / n_samples) raw, the product in double then rounded once:
        // the same function of each entry, so H stays exactly symmetric.
        double c = 2.0 / ns;
        size_t nn = n * n;
        if (s->h32)
            for (size_t e = 0; e < nn; e++)
                hessian[e] = (float)(c * (double)s->h32[e]);
        else
            for (size_t e = 0; e < nn; e++)
                hessian[e] = (float)(c * s->h64[e]);
    }
    for (size_t j = 0; (col_mean || col_var) && j < n; j++) {
        double mu = s->sum[j] / nt, var = s->sumsq[j] / nt - mu * mu;
        if (col_mean) col_mean[j] = mu;
        if (col_var) col_var[j] = var > 0.0 ? var : 0.0;
    }
    out->n_cols = n;
    out->n_samples = s->n_samples;
    out->scaler_row = scaler_row;
    out->hessian = hessian;
    out->col_mean = col_mean;
    out->col_var = col_var;
    out->grad_l1 = out->grad_l2 = NULL; // the pipeline's gradient pre-pass
    return CPR_OK;
}
