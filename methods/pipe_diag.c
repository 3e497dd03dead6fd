// methods/pipe_diag.c: reconstruction-error diagnostics (contract in
// methods/pipe_diag.h).
#include "methods/pipe_diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"

#define DIAG_TILE 512 // output rows per weight tile

size_t cpr_pipe_diag_sample_size(size_t tokens) {
    if (tokens == 0) return 0;
    const size_t stride =
        (tokens + CPR_DIAG_MAX_TOKENS - 1) / CPR_DIAG_MAX_TOKENS;
    return (tokens - 1) / stride + 1;
}

size_t cpr_pipe_diag_bytes(struct cpr_model *m, int64_t layer,
                           size_t tokens) {
    struct cpr_linear_ref lin[CPR_MAX_LINEARS];
    const int n = cpr_layer_linears(m, layer, lin, CPR_MAX_LINEARS);
    size_t ns = cpr_pipe_diag_sample_size(tokens);
    if (ns == 0) ns = 1; // as cpr_pipe_diag_hook allocates
    size_t cols[CPR_CAPTURE_SITE_COUNT] = {0}, maxc = 1, bytes = 0;
    for (int j = 0; j < n; j++) {
        const struct cpr_tensor *t = lin[j].w;
        const size_t c = (size_t)t->shape[1];
        const int s = (int)lin[j].site;
        if (s >= 0 && s < CPR_CAPTURE_SITE_COUNT && c > cols[s]) cols[s] = c;
        if (c > maxc) maxc = c;
        if (t->owns_data) bytes += cpr_tensor_nbytes(t);
    }
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++)
        bytes += ns * cols[s] * sizeof(float);
    return bytes + 2 * DIAG_TILE * maxc * sizeof(float) +
           ns * DIAG_TILE * sizeof(float);
}

enum cpr_status cpr_pipe_diag_begin(struct cpr_pipe_diag *d,
                                    struct cpr_model *m, int64_t layer,
                                    size_t tokens,
                                    const struct cpr_block_hook *inner,
                                    struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err) {
    memset(d, 0, sizeof *d);
    d->m = m, d->layer = layer, d->pool = pool, d->k = k;
    if (inner) d->inner = *inner;
    d->stride = tokens ? (tokens + CPR_DIAG_MAX_TOKENS - 1) /
                             CPR_DIAG_MAX_TOKENS : 1;
    d->n_sample = cpr_pipe_diag_sample_size(tokens);
    d->n_lin = cpr_layer_linears(m, layer, d->lin, CPR_MAX_LINEARS);
    for (int j = 0; j < d->n_lin; j++) {
        const struct cpr_tensor *t = d->lin[j].w;
        if (t->sparse)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "diagnostics: "
                               "layer %lld linear %d is compressed",
                               (long long)layer, j);
        if (t->owns_data) { // pruning overwrites or frees it: keep a clone
            CPR_TRY(cpr_tensor_clone(&d->orig[j], t, err));
        } else { // mapped: stays valid and unchanged; a view
            d->orig[j] = *t;
        }
    }
    return CPR_OK;
}

static int site_used(const struct cpr_pipe_diag *d, int site) {
    for (int j = 0; j < d->n_lin; j++)
        if ((int)d->lin[j].site == site) return 1;
    return 0;
}

enum cpr_status cpr_pipe_diag_hook(void *user, const struct cpr_capture *cap,
                                   struct cpr_err *err) {
    struct cpr_pipe_diag *d = user;
    if (d->inner.fn &&
        (!d->inner.sites || (d->inner.sites & (1u << cap->site))))
        CPR_TRY(d->inner.fn(d->inner.user, cap, err));
    const int s = (int)cap->site;
    if (s < 0 || s >= CPR_CAPTURE_SITE_COUNT || !site_used(d, s))
        return CPR_OK;
    const size_t cols = (size_t)cap->n_cols;
    if (!d->xs[s]) {
        d->xs[s] = malloc((d->n_sample ? d->n_sample : 1) * cols *
                          sizeof(float));
        if (!d->xs[s])
            return cpr_err_set(err, CPR_ERR_NOMEM, "diagnostics: %zu x %zu "
                               "sample", d->n_sample, cols);
        d->cols[s] = cols;
    }
    if (cols != d->cols[s])
        return cpr_err_set(err, CPR_ERR_INTERNAL, "diagnostics: site %d "
                           "width %zu, expected %zu", s, cols, d->cols[s]);
    for (size_t r = 0; r < (size_t)cap->n_rows; r++) {
        const size_t g = d->seen[s] + r;
        if (g % d->stride || d->kept[s] >= d->n_sample) continue;
        memcpy(d->xs[s] + d->kept[s] * cols, cap->x + r * (size_t)cap->ld,
               cols * sizeof(float));
        d->kept[s]++;
    }
    d->seen[s] += (size_t)cap->n_rows;
    return CPR_OK;
}

static double sumsq(const float *y, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * y[i];
    return s;
}

// num and den of linear j over its tiles; a, b: DIAG_TILE x cols tiles,
// y: n_sample x DIAG_TILE.
static enum cpr_status one_linear(struct cpr_pipe_diag *d, int j, float *a,
                                  float *b, float *y, struct cpr_err *err) {
    const struct cpr_tensor *w0 = &d->orig[j], *w1 = d->lin[j].w;
    const int s = (int)d->lin[j].site;
    const size_t rows = (size_t)w0->shape[0], cols = (size_t)w0->shape[1];
    const size_t n = d->kept[s];
    if (!d->xs[s] || n == 0) return CPR_OK;
    for (size_t r0 = 0; r0 < rows; r0 += DIAG_TILE) {
        const size_t tr = rows - r0 < DIAG_TILE ? rows - r0 : DIAG_TILE;
        for (size_t r = 0; r < tr; r++) {
            cpr_tensor_row_f32(w0, (int64_t)(r0 + r), a + r * cols);
            cpr_tensor_row_f32(w1, (int64_t)(r0 + r), b + r * cols);
            for (size_t c = 0; c < cols; c++)
                b[r * cols + c] = a[r * cols + c] - b[r * cols + c];
        }
        const int64_t shape[2] = {(int64_t)tr, (int64_t)cols};
        struct cpr_tensor ta, tb;
        cpr_tensor_wrap(&ta, CPR_DTYPE_F32, a, 2, shape, 1);
        cpr_tensor_wrap(&tb, CPR_DTYPE_F32, b, 2, shape, 1);
        CPR_TRY(cpr_matmul(d->pool, d->k, n, d->xs[s], cols, &ta, y, tr,
                           0.0f, err));
        d->den[j] += sumsq(y, n * tr);
        CPR_TRY(cpr_matmul(d->pool, d->k, n, d->xs[s], cols, &tb, y, tr,
                           0.0f, err));
        d->num[j] += sumsq(y, n * tr);
    }
    return CPR_OK;
}

enum cpr_status cpr_pipe_diag_finish(struct cpr_pipe_diag *d,
                                     double *err_out, struct cpr_err *err) {
    size_t maxc = 1;
    for (int j = 0; j < d->n_lin; j++)
        if ((size_t)d->orig[j].shape[1] > maxc)
            maxc = (size_t)d->orig[j].shape[1];
    float *a = malloc(DIAG_TILE * maxc * sizeof *a);
    float *b = malloc(DIAG_TILE * maxc * sizeof *b);
    float *y = malloc((d->n_sample ? d->n_sample : 1) * DIAG_TILE *
                      sizeof *y);
    enum cpr_status s = CPR_OK;
    if (!a || !b || !y)
        s = cpr_err_set(err, CPR_ERR_NOMEM, "diagnostics: tiles of %zu "
                        "columns", maxc);
    for (int j = 0; j < d->n_lin && !s; j++) {
        s = one_linear(d, j, a, b, y, err);
        if (!s && err_out)
            err_out[j] = d->den[j] > 0 ? d->num[j] / d->den[j] : NAN;
    }
    free(a);
    free(b);
    free(y);
    return s;
}

void cpr_pipe_diag_end(struct cpr_pipe_diag *d) {
    for (int j = 0; j < d->n_lin; j++)
        if (d->orig[j].owns_data) cpr_tensor_free(&d->orig[j]);
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) free(d->xs[s]);
    memset(d, 0, sizeof *d);
}
