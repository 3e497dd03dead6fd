// methods/rowsel.c: per-row exact-count and N:M selection (see rowsel.h).
#include "methods/rowsel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t cpr_count_of(size_t n, double s) {
    double v = (double)n * s;
    if (!(v > 0.0)) return 0;
    if (v >= (double)n) return n;
    return (size_t)v;
}

// w[j] = +0 where mask[j] != 0. Branch-free (an AND with 0 or ~0 on the
// bits): half of a random mask would otherwise be mispredicted branches.
// Same result as `if (mask[j]) w[j] = 0.0f` (a pruned weight is +0).
static void zero_masked(size_t n, const uint8_t *mask, float *w) {
    for (size_t j = 0; j < n; j++) {
        uint32_t b;
        memcpy(&b, &w[j], sizeof b);
        b &= (uint32_t)(mask[j] != 0) - 1u;
        memcpy(&w[j], &b, sizeof b);
    }
}

struct rowsel_ctx {
    const struct cpr_matrix *m;
    const float *colscale;
    const struct cpr_prune_target *t;
    uint8_t *mask;
    const struct cpr_kernels *k;
    unsigned char *scratch; // per thread: cols floats, cols uint32, cols bytes
    size_t per_thread;
};

static void rowsel_worker(void *vctx, size_t ith, size_t nth) {
    struct rowsel_ctx *c = vctx;
    const struct cpr_matrix *m = c->m;
    size_t cols = m->cols, r0, r1;
    cpr_pool_split(m->rows, ith, nth, 1, &r0, &r1);
    unsigned char *base = c->scratch + ith * c->per_thread;
    float *score = (float *)(void *)base;
    uint32_t *idx = (uint32_t *)(void *)(base + cols * sizeof(float));
    uint8_t *own = base + cols * (sizeof(float) + sizeof(uint32_t));
    size_t kcount = c->t->nm_m ? 0 : cpr_count_of(cols, c->t->sparsity);
    for (size_t r = r0; r < r1; r++) {
        float *w = m->w + r * m->ld;
        uint8_t *mk = c->mask ? c->mask + r * cols : own;
        if (c->colscale)
            c->k->absmul_f32(cols, w, c->colscale, score);
        else
            for (size_t j = 0; j < cols; j++) score[j] = fabsf(w[j]);
        if (c->t->nm_m)
            c->k->nm_mask_f32(cols, c->t->nm_n, c->t->nm_m, score, mk);
        else
            c->k->select_smallest_f32(cols, kcount, score, mk, idx);
        zero_masked(cols, mk, w);
    }
}

enum cpr_status cpr_rowsel_prune(const struct cpr_matrix *m,
                                 const float *colscale,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err) {
    size_t nth = cpr_pool_size(pool);
    // Round each thread's block to 64 bytes so threads do not share lines.
    size_t per = (m->cols * 9 + 63) / 64 * 64;
    unsigned char *scratch = malloc(per * nth + 64);
    if (!scratch)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: per-row selection "
                           "scratch of %zu bytes", m->name ? m->name : "matrix",
                           per * nth);
    struct rowsel_ctx c = {m, colscale, t, mask, k, scratch, per};
    cpr_pool_run(pool, rowsel_worker, &c);
    free(scratch);
    return CPR_OK;
}
