// core/matmul_bwd.c: threaded dX = dY W and dW = dY^T X (see matmul_bwd.h).
#include "core/matmul_bwd.h"

// Split boundaries are multiples of this (>= every micro-kernel NR).
#define BWD_ALIGN 64

struct bwd_job {
    const struct cpr_kernels *k;
    int tn, bf16; // tn: dW = dY^T X; else dX = dY W (bf16: W as bf16)
    size_t m, n, kd, lda, ldb, ldc;
    float alpha, beta;
    const float *a;
    const void *b;
    float *c;
};

static void bwd_worker(void *ctx, size_t ith, size_t nth) {
    const struct bwd_job *j = ctx;
    size_t c0, c1;
    cpr_pool_split(j->n, ith, nth, BWD_ALIGN, &c0, &c1);
    if (c0 >= c1) return;
    float *c = j->c + c0;
    if (j->bf16)
        j->k->gemm_nn_bf16b(j->m, c1 - c0, j->kd, j->alpha, j->a, j->lda,
                            (const uint16_t *)j->b + c0, j->ldb, j->beta, c,
                            j->ldc);
    else
        (j->tn ? j->k->gemm_tn_f32 : j->k->gemm_nn_f32)(
            j->m, c1 - c0, j->kd, j->alpha, j->a, j->lda,
            (const float *)j->b + c0, j->ldb, j->beta, c, j->ldc);
}

enum cpr_status cpr_matmul_dx(struct cpr_pool *pool, const struct cpr_kernels *k,
                              size_t m, const float *dy, size_t lddy,
                              const struct cpr_tensor *w, float *dx,
                              size_t lddx, float beta, struct cpr_err *err) {
    if (!w || w->sparse || w->ndim != 2 || w->stride[1] != 1 || !w->data ||
        (w->dtype != CPR_DTYPE_F32 && w->dtype != CPR_DTYPE_BF16) ||
        w->shape[0] < 0 || w->shape[1] < 0 || w->stride[0] < w->shape[1])
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "matmul_dx: weight is not a dense row-major 2-D "
                           "f32/bf16 tensor (ndim %d)",
                           w ? w->ndim : -1);
    size_t n_out = (size_t)w->shape[0], n_in = (size_t)w->shape[1];
    if (m > 0 && n_in > 0 && (!dy || !dx))
        return cpr_err_set(err, CPR_ERR_ARG, "matmul_dx: NULL dy or dx");
    if (lddy < n_out || lddx < n_in)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "matmul_dx: lddy %zu < n_out %zu or lddx %zu < "
                           "n_in %zu",
                           lddy, n_out, lddx, n_in);
    if (m == 0 || n_in == 0) return CPR_OK;
    struct bwd_job j = {.k = k ? k : cpr_kernels_get(), .tn = 0,
                        .bf16 = w->dtype == CPR_DTYPE_BF16, .m = m, .n = n_in,
                        .kd = n_out, .lda = lddy, .ldb = (size_t)w->stride[0],
                        .ldc = lddx, .alpha = 1.0f, .beta = beta, .a = dy,
                        .b = w->data, .c = dx};
    cpr_pool_run(pool, bwd_worker, &j);
    return CPR_OK;
}

enum cpr_status cpr_matmul_dw(struct cpr_pool *pool, const struct cpr_kernels *k,
                              size_t m, size_t n_out, size_t n_in,
                              float alpha, const float *dy, size_t lddy,
                              const float *x, size_t ldx, float beta,
                              float *dw, size_t lddw, struct cpr_err *err) {
    if (n_out == 0 || n_in == 0) return CPR_OK;
    if (!dw || (m > 0 && (!dy || !x)))
        return cpr_err_set(err, CPR_ERR_ARG, "matmul_dw: NULL dy, x or dw");
    if (lddy < n_out || ldx < n_in || lddw < n_in)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "matmul_dw: lddy %zu < n_out %zu, or ldx %zu / "
                           "lddw %zu < n_in %zu",
                           lddy, n_out, ldx, lddw, n_in);
    struct bwd_job j = {.k = k ? k : cpr_kernels_get(), .tn = 1, .bf16 = 0,
                        .m = n_out, .n = n_in, .kd = m, .lda = lddy,
                        .ldb = ldx, .ldc = lddw, .alpha = alpha, .beta = beta,
                        .a = dy, .b = x, .c = dw};
    cpr_pool_run(pool, bwd_worker, &j);
    return CPR_OK;
}
