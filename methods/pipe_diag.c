// methods/pipe_diag.c: reconstruction-error diagnostics (contract in
// methods/pipe_diag.h).
#include "methods/pipe_diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"

enum cpr_status cpr_pipe_diag_begin(struct cpr_pipe_diag *d,
                                    struct cpr_model *m, int64_t layer,
                                    struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err) {
    memset(d, 0, sizeof *d);
    d->m = m, d->layer = layer, d->pool = pool, d->k = k;
    d->n_lin = cpr_layer_linears(m, layer, d->lin, CPR_MAX_LINEARS);
    for (int j = 0; j < d->n_lin; j++)
        CPR_TRY(cpr_tensor_copy_f32(&d->dense[j], d->lin[j].w, err));
    return CPR_OK;
}

enum cpr_status cpr_pipe_diag_swap_in(struct cpr_pipe_diag *d,
                                      struct cpr_err *err) {
    for (int j = 0; j < d->n_lin; j++) {
        struct cpr_tensor *t = d->lin[j].w;
        CPR_TRY(cpr_tensor_copy_f32(&d->delta[j], t, err)); // pruned, f32
        float *dl = d->delta[j].data;
        const float *dn = d->dense[j].data;
        const size_t n = (size_t)cpr_tensor_numel(t);
        for (size_t i = 0; i < n; i++) dl[i] = dn[i] - dl[i];
    }
    for (int j = 0; j < d->n_lin; j++) {
        struct cpr_tensor *t = d->lin[j].w;
        d->pruned[j] = *t;
        *t = d->dense[j];
        t->owns_data = 0; // still owned by d->dense[j]
    }
    d->swapped = 1;
    return CPR_OK;
}

static double sumsq(const float *y, size_t rows, size_t cols) {
    double s = 0.0;
    for (size_t i = 0; i < rows * cols; i++) s += (double)y[i] * y[i];
    return s;
}

enum cpr_status cpr_pipe_diag_hook(void *user, const struct cpr_capture *cap,
                                   struct cpr_err *err) {
    struct cpr_pipe_diag *d = user;
    for (int j = 0; j < d->n_lin; j++) {
        if (d->lin[j].site != cap->site) continue;
        const size_t rows = (size_t)cap->n_rows;
        const size_t out = (size_t)d->dense[j].shape[0];
        if (rows * out > d->y_cap) {
            float *y = realloc(d->y, rows * out * sizeof *y);
            if (!y)
                return cpr_err_set(err, CPR_ERR_NOMEM, "diagnostics: %zu x "
                                   "%zu outputs", rows, out);
            d->y = y;
            d->y_cap = rows * out;
        }
        CPR_TRY(cpr_matmul(d->pool, d->k, rows, cap->x, (size_t)cap->ld,
                           &d->dense[j], d->y, out, 0.0f, err));
        d->den[j] += sumsq(d->y, rows, out);
        CPR_TRY(cpr_matmul(d->pool, d->k, rows, cap->x, (size_t)cap->ld,
                           &d->delta[j], d->y, out, 0.0f, err));
        d->num[j] += sumsq(d->y, rows, out);
    }
    return CPR_OK;
}

void cpr_pipe_diag_end(struct cpr_pipe_diag *d, double *err_out) {
    for (int j = 0; j < d->n_lin; j++) {
        if (d->swapped) *d->lin[j].w = d->pruned[j];
        if (err_out) err_out[j] = d->den[j] > 0 ? d->num[j] / d->den[j] : NAN;
        cpr_tensor_free(&d->dense[j]);
        cpr_tensor_free(&d->delta[j]);
    }
    free(d->y);
    memset(d, 0, sizeof *d);
}
