// core/matmul.c: threaded GEMM / SYRK over the kernel table (see matmul.h).
#include "core/matmul.h"

#include <assert.h>

#include "core/weight_matmul.h"

// Split boundaries are multiples of this (>= every micro-kernel NR).
#define MATMUL_ALIGN 64

// ---- gemm ----

struct mm_job {
    const struct cpr_kernels *k;
    enum cpr_dtype dt;
    size_t m, n, kd, ldx, ldw, ldy;
    float alpha, beta;
    const float *x;
    const void *w;
    float *y;
};

static void mm_worker(void *ctx, size_t ith, size_t nth) {
    const struct mm_job *j = ctx;
    size_t c0, c1;
    cpr_pool_split(j->n, ith, nth, MATMUL_ALIGN, &c0, &c1);
    if (c0 >= c1) return;
    float *y = j->y + c0;
    if (j->dt == CPR_DTYPE_F32) {
        j->k->gemm_f32(j->m, c1 - c0, j->kd, j->alpha, j->x, j->ldx,
                       (const float *)j->w + c0 * j->ldw, j->ldw, j->beta, y,
                       j->ldy);
    } else {
        cpr_gemm_h16_fn fn =
            j->dt == CPR_DTYPE_BF16 ? j->k->gemm_bf16w : j->k->gemm_f16w;
        fn(j->m, c1 - c0, j->kd, j->alpha, j->x, j->ldx,
           (const uint16_t *)j->w + c0 * j->ldw, j->ldw, j->beta, y, j->ldy);
    }
}

void cpr_gemm_f32_mt(struct cpr_pool *pool, const struct cpr_kernels *k,
                     size_t m, size_t n, size_t kd, float alpha,
                     const float *x, size_t ldx, const float *w, size_t ldw,
                     float beta, float *y, size_t ldy) {
    if (m == 0 || n == 0) return;
    assert(x && w && y && ldx >= kd && ldw >= kd && ldy >= n);
    struct mm_job j = {.k = k ? k : cpr_kernels_get(), .dt = CPR_DTYPE_F32,
                       .m = m, .n = n, .kd = kd, .ldx = ldx, .ldw = ldw,
                       .ldy = ldy, .alpha = alpha, .beta = beta, .x = x,
                       .w = w, .y = y};
    cpr_pool_run(pool, mm_worker, &j);
}

enum cpr_status cpr_matmul(struct cpr_pool *pool, const struct cpr_kernels *k,
                           size_t m, const float *x, size_t ldx,
                           const struct cpr_tensor *w, float *y, size_t ldy,
                           float beta, struct cpr_err *err) {
    if (w && w->sparse) // compressed weights (core/weight.h)
        return cpr_sparse_matmul(pool, k, m, x, ldx, w, y, ldy, beta, err);
    if (!w || w->ndim != 2 || w->stride[1] != 1 || !w->data ||
        (unsigned)w->dtype >= CPR_DTYPE_COUNT || w->shape[0] < 0 ||
        w->shape[1] < 0 || w->stride[0] < w->shape[1])
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "matmul: weight is not a row-major 2-D "
                           "f32/bf16/f16 tensor (ndim %d)",
                           w ? w->ndim : -1);
    size_t n = (size_t)w->shape[0], kd = (size_t)w->shape[1];
    if (m > 0 && n > 0 && (!x || !y))
        return cpr_err_set(err, CPR_ERR_ARG, "matmul: NULL x or y");
    if (ldx < kd || ldy < n)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "matmul: ldx %zu < k %zu or ldy %zu < n %zu", ldx,
                           kd, ldy, n);
    if (m == 0 || n == 0) return CPR_OK;
    struct mm_job j = {.k = k ? k : cpr_kernels_get(), .dt = w->dtype,
                       .m = m, .n = n, .kd = kd, .ldx = ldx,
                       .ldw = (size_t)w->stride[0], .ldy = ldy, .alpha = 1.0f,
                       .beta = beta, .x = x, .w = w->data, .y = y};
    cpr_pool_run(pool, mm_worker, &j);
    return CPR_OK;
}

// ---- syrk ----

struct syrk_job {
    const struct cpr_kernels *k;
    size_t n, n_tok, ldx, ldh;
    const float *x;
    float *h;
};

static void syrk_worker(void *ctx, size_t ith, size_t nth) {
    const struct syrk_job *j = ctx;
    size_t i0, i1;
    cpr_pool_split(j->n, ith, nth, MATMUL_ALIGN, &i0, &i1);
    if (i0 < i1) j->k->syrk_f32(j->n, j->n_tok, j->x, j->ldx, j->h, j->ldh, i0, i1);
}

enum cpr_status cpr_syrk(struct cpr_pool *pool, const struct cpr_kernels *k,
                         size_t n, size_t n_tok, const float *x, size_t ldx,
                         float *h, size_t ldh, struct cpr_err *err) {
    if (n == 0 || n_tok == 0) return CPR_OK;
    if (!x || !h)
        return cpr_err_set(err, CPR_ERR_ARG, "syrk: NULL x or h");
    if (ldx < n || ldh < n)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "syrk: ldx %zu or ldh %zu < n %zu", ldx, ldh, n);
    struct syrk_job j = {.k = k ? k : cpr_kernels_get(), .n = n,
                         .n_tok = n_tok, .ldx = ldx, .ldh = ldh, .x = x,
                         .h = h};
    cpr_pool_run(pool, syrk_worker, &j);
    return CPR_OK;
}
