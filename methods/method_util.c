// methods/method_util.c: helpers shared by the method files (contracts in
// methods/method_util.h).
#include "methods/method_util.h"

#include <math.h>
#include <string.h>

const char *cpr_matrix_label(const struct cpr_matrix *m) {
    return m && m->name ? m->name : "matrix";
}

// ---- opening checks ----
enum cpr_status cpr_prune_open(const char *method, const struct cpr_matrix *m,
                               const struct cpr_linear_stats *stats,
                               unsigned needs,
                               const struct cpr_prune_target *t,
                               uint8_t *mask, int *dense, struct cpr_err *err) {
    *dense = 0;
    if (!m || !m->w || m->ld < m->cols)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: bad matrix view", method);
    const char *name = cpr_matrix_label(m);
    CPR_TRY(cpr_prune_target_check(t, m->cols, err));
    needs &= CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN | CPR_NEED_COLMEANVAR;
    if (needs) {
        int miss_sr = (needs & CPR_NEED_COLSUMSQ) && !(stats && stats->scaler_row);
        int miss_h = (needs & CPR_NEED_HESSIAN) && !(stats && stats->hessian);
        int miss_mv = (needs & CPR_NEED_COLMEANVAR) &&
                      !(stats && stats->col_mean && stats->col_var);
        if (miss_sr || miss_h || miss_mv) {
            char need[96];
            return cpr_err_set(err, CPR_ERR_ARG, "%s: %s: no %s%s%s%s%s "
                               "statistics (needs %s)", method, name,
                               miss_sr ? "scaler_row" : "",
                               miss_sr && (miss_h || miss_mv) ? ", " : "",
                               miss_h ? "Hessian" : "",
                               miss_h && miss_mv ? ", " : "",
                               miss_mv ? "col_mean/col_var" : "",
                               cpr_method_needs_str(needs, need, sizeof need));
        }
        if (stats->n_cols != m->cols)
            return cpr_err_set(err, CPR_ERR_SHAPE, "%s: %s: statistics have "
                               "%zu columns, weight has %zu", method, name,
                               stats->n_cols, m->cols);
    }
    if (t->nm_m == 0 && t->sparsity == 0.0) {
        if (mask) memset(mask, 0, m->rows * m->cols);
        *dense = 1;
    }
    return CPR_OK;
}

// ---- numerics ----
float cpr_pow_torch(float x, double p) {
    if (p == 1.0) return x;
    if (p == 0.5) return sqrtf(x);
    if (p == 2.0) return x * x;
    if (p == 3.0) return x * x * x;
    if (p == -0.5) return 1.0f / sqrtf(x);
    if (p == -1.0) return 1.0f / x;
    if (p == -2.0) return 1.0f / (x * x);
    return powf(x, (float)p);
}

// ---- stable sort ----
void cpr_sort_stable(uint32_t *idx, size_t n, uint32_t *tmp,
                     cpr_before_fn before, const void *ctx) {
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            // b first only when strictly before a: stability.
            while (a < mid && b < hi)
                tmp[o++] = before(ctx, idx[b], idx[a]) ? idx[b++] : idx[a++];
            while (a < mid) tmp[o++] = idx[a++];
            while (b < hi) tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

int cpr_before_by_key(const void *ctx, uint32_t a, uint32_t b) {
    const float *key = ctx;
    return cpr_flt_before(key[a], key[b]);
}
