// core/weight_matmul.c: the compressed-weight product (see weight_matmul.h).
#include "core/weight_matmul.h"

#include "core/weight.h"

#define SPLIT_ALIGN 64 // as core/matmul.c: row splits at multiples of 64

struct sp_job {
    const struct cpr_kernels *k;
    const struct cpr_sparse *s;
    cpr_spmv_fn spmv;    // decode
    cpr_unpack_fn unpack; // prefill: the pack-B decompression
    cpr_spgemm_fn spgemm; // prefill
    size_t m, ldx, ldy;
    float beta;
    const float *x;
    float *y;
};

// One thread's rows. m = 1 (one decode token): one kernel call for all of
// them (the kernels set up x once per call: the AVX512_BF16 ones round it
// to bf16). m > 1: 64 rows at a time, each block against every x row while
// its weights are still in cache.
static void gemv_worker(void *ctx, size_t ith, size_t nth) {
    const struct sp_job *j = ctx;
    const struct cpr_sparse *s = j->s;
    size_t r0, r1, esz = cpr_dtype_size(s->dtype), kd = (size_t)s->n_cols;
    cpr_pool_split((size_t)s->n_rows, ith, nth, SPLIT_ALIGN, &r0, &r1);
    size_t rb = j->m == 1 ? r1 - r0 : 64;
    for (size_t b = r0; b < r1; b += rb) {
        size_t nb = r1 - b < rb ? r1 - b : rb;
        const uint8_t *meta = s->meta + b * (size_t)s->meta_ld;
        const char *vals = (const char *)s->values + (size_t)s->row_off[b] * esz;
        for (size_t i = 0; i < j->m; i++)
            j->spmv(nb, kd, meta, (size_t)s->meta_ld, vals, j->x + i * j->ldx,
                    j->beta, j->y + i * j->ldy + b);
    }
}

static void gemm_worker(void *ctx, size_t ith, size_t nth) {
    const struct sp_job *j = ctx;
    const struct cpr_sparse *s = j->s;
    size_t r0, r1;
    cpr_pool_split((size_t)s->n_rows, ith, nth, SPLIT_ALIGN, &r0, &r1);
    if (r0 >= r1) return;
    struct cpr_spw w = {.nm24 = s->layout == CPR_WLAYOUT_NM24,
                        .meta = s->meta + r0 * (size_t)s->meta_ld,
                        .ldm = (size_t)s->meta_ld, .vals = s->values,
                        .row_off = s->row_off + r0, .unpack = j->unpack};
    j->spgemm(j->m, r1 - r0, (size_t)s->n_cols, 1.0f, j->x, j->ldx, &w,
              j->beta, j->y + r0, j->ldy);
}

static cpr_spmv_fn pick_spmv(const struct cpr_kernels *k,
                             const struct cpr_sparse *s) {
    int bm = s->layout == CPR_WLAYOUT_BITMASK;
    switch (s->dtype) {
    case CPR_DTYPE_F32: return bm ? k->spmv_bitmask_f32 : k->spmv_nm24_f32;
    case CPR_DTYPE_BF16: return bm ? k->spmv_bitmask_bf16 : k->spmv_nm24_bf16;
    case CPR_DTYPE_F16: return bm ? k->spmv_bitmask_f16 : k->spmv_nm24_f16;
    default: return NULL;
    }
}

enum cpr_status cpr_sparse_matmul(struct cpr_pool *pool,
                                  const struct cpr_kernels *k, size_t m,
                                  const float *x, size_t ldx,
                                  const struct cpr_tensor *w, float *y,
                                  size_t ldy, float beta, struct cpr_err *err) {
    const struct cpr_sparse *s = w->sparse;
    if (!k) k = cpr_kernels_get();
    size_t n = (size_t)s->n_rows, kd = (size_t)s->n_cols;
    if (m > 0 && n > 0 && (!x || !y))
        return cpr_err_set(err, CPR_ERR_ARG, "matmul: NULL x or y");
    if (ldx < kd || ldy < n)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "matmul: ldx %zu < k %zu or ldy %zu < n %zu", ldx,
                           kd, ldy, n);
    if (m == 0 || n == 0) return CPR_OK;
    struct sp_job j = {.k = k, .s = s, .m = m, .ldx = ldx, .ldy = ldy,
                       .beta = beta, .x = x, .y = y};
    if (m <= CPR_SPARSE_GEMV_M) {
        j.spmv = pick_spmv(k, s);
        if (!j.spmv || (s->layout != CPR_WLAYOUT_BITMASK &&
                        s->layout != CPR_WLAYOUT_NM24))
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                               "matmul: no spmv kernel for layout %d dtype %s",
                               (int)s->layout, cpr_dtype_name(s->dtype));
        cpr_pool_run(pool, gemv_worker, &j);
        return CPR_OK;
    }
    int bm = s->layout == CPR_WLAYOUT_BITMASK, wide = s->dtype == CPR_DTYPE_F32;
    j.unpack = bm ? (wide ? k->unpack_bitmask_f32 : k->unpack_bitmask_h16)
                  : (wide ? k->unpack_nm24_f32 : k->unpack_nm24_h16);
    j.spgemm = s->dtype == CPR_DTYPE_F32    ? k->spgemm_f32
               : s->dtype == CPR_DTYPE_BF16 ? k->spgemm_bf16
                                            : k->spgemm_f16;
    cpr_pool_run(pool, gemm_worker, &j);
    return CPR_OK;
}
