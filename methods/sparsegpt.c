// methods/sparsegpt.c: SparseGPT's fasterprune (IST-DASLab/sparsegpt
// sparsegpt.py), OBS pruning with lazy block updates, without quantization.
//
// Steps, as the reference:
//   1. dead inputs: where H[d][d] == 0 set H[d][d] = 1 and W[:, d] = 0;
//   2. damping: H += percdamp * mean(diag H) * I;
//   3. Hinv = cholesky(H^-1, upper=True) (core/linalg.h computes it as
//      J chol(J H J)^-1 J, without forming H^-1; equal in exact arithmetic,
//      f32 rounding differs from torch's chol -> cholesky_inverse -> chol);
//   4. for each block of `blocksize` columns [i1, i2):
//      unstructured: tmp = W1^2 / diag(Hinv1)^2 over the whole rows x block
//        slab, thresh = sort(tmp.flatten())[int(numel*s)], mask1 = tmp <=
//        thresh (so int(numel*s)+1 entries per block plus ties with the
//        threshold are pruned, as the reference);
//      N:M: at each column i with i % m == 0 (relative to i1), the n
//        smallest W1[:, i:i+m]^2 / diag^2 of the already-updated weights
//        (ties: lower index; torch.topk's tie order is unspecified);
//      per column i: q = w with masked entries 0, err = (w - q) / Hinv[i][i],
//        W1[:, i+1:] -= err (x) Hinv[i, i+1:i2], W[:, i] = q;
//      lazy update: W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:] (the GEMM kernel).
// Rows are independent once the block threshold is known, so each block
// is: slab scores (rows split over the pool), one selection, then each
// thread runs the column loop and the lazy update on its own rows. The
// column loop is plain C (same arithmetic on every ISA); the lazy update
// uses the gemm slot, whose k-sum order differs between ISAs, so weights
// agree across ISAs to f32 rounding and an N:M or threshold decision on a
// near-tie may differ; for one ISA results are identical for any thread
// count. H (stats->hessian) is overwritten: on return it holds Hinv in its
// upper triangle mirrored into the lower one.
#include "methods/sparsegpt.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "methods/rowsel.h"

struct sgpt_state {
    size_t blocksize;
    double percdamp;
};

static const struct cpr_method_opt sgpt_opts[] = {
    {"blocksize", CPR_OPT_SIZE, offsetof(struct sgpt_state, blocksize), "128",
     NULL, 1, 65536, "columns per lazy-update block (mask chosen per block)"},
    {"percdamp", CPR_OPT_DOUBLE, offsetof(struct sgpt_state, percdamp), "0.01",
     NULL, 0, 1e6, "dampening: H += percdamp * mean(diag H) * I"},
};
#define N_SGPT_OPTS (sizeof sgpt_opts / sizeof sgpt_opts[0])

static enum cpr_status sgpt_init(void **state, struct cpr_err *err) {
    struct sgpt_state *s = calloc(1, sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "sparsegpt: state");
    enum cpr_status st =
        cpr_method_opts_defaults(sgpt_opts, N_SGPT_OPTS, s, "sparsegpt", err);
    if (st != CPR_OK) {
        free(s);
        return st;
    }
    *state = s;
    return CPR_OK;
}

static enum cpr_status sgpt_parse(void *state, const char *list,
                                  struct cpr_err *err) {
    return cpr_method_opts_parse(sgpt_opts, N_SGPT_OPTS, state, "sparsegpt",
                                 list, err);
}

static void sgpt_free(void *state) { free(state); }

// ---- one block ----
struct blk_ctx {
    const struct cpr_matrix *m;
    const struct cpr_prune_target *t;
    const struct cpr_kernels *k;
    const float *hinv; // (cols, cols): U upper, U^T mirrored lower
    size_t i1, i2, bs; // block, blocksize (row stride of tmp / err)
    float *tmp;        // (rows, i2 - i1) slab scores (unstructured)
    float thresh;      // unstructured threshold
    float *err1;       // (rows, bs)
    uint8_t *mask;     // output (rows, cols) or NULL
    uint8_t *mscratch; // (nth, bs) per-thread block mask
};

static void slab_worker(void *vctx, size_t ith, size_t nth) {
    struct blk_ctx *c = vctx;
    size_t r0, r1, cnt = c->i2 - c->i1, n = c->m->cols;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        const float *w = c->m->w + r * c->m->ld + c->i1;
        for (size_t j = 0; j < cnt; j++) {
            float d = c->hinv[(c->i1 + j) * n + c->i1 + j];
            c->tmp[r * cnt + j] = (w[j] * w[j]) / (d * d);
        }
    }
}

static void block_worker(void *vctx, size_t ith, size_t nth) {
    struct blk_ctx *c = vctx;
    const struct cpr_matrix *m = c->m;
    size_t n = m->cols, i1 = c->i1, i2 = c->i2, cnt = i2 - i1, r0, r1;
    unsigned pn = c->t->nm_n, pm = c->t->nm_m;
    cpr_pool_split(m->rows, ith, nth, 1, &r0, &r1);
    uint8_t *mk = c->mscratch + ith * c->bs;
    float g[256];
    uint8_t gm[256];
    for (size_t r = r0; r < r1; r++) {
        float *w1 = m->w + r * m->ld + i1;
        float *e1 = c->err1 + r * c->bs;
        if (pm == 0)
            for (size_t j = 0; j < cnt; j++)
                mk[j] = c->tmp[r * cnt + j] <= c->thresh;
        else
            memset(mk, 0, cnt);
        for (size_t i = 0; i < cnt; i++) {
            const float *hrow = c->hinv + (i1 + i) * n + i1; // Hinv1[i, :]
            if (pm && i % pm == 0) {
                for (size_t j = 0; j < pm; j++) {
                    float d = c->hinv[(i1 + i + j) * n + i1 + i + j];
                    g[j] = (w1[i + j] * w1[i + j]) / (d * d);
                }
                c->k->nm_mask_f32(pm, pn, pm, g, gm);
                for (size_t j = 0; j < pm; j++) mk[i + j] |= gm[j];
            }
            float w = w1[i], q = mk[i] ? 0.0f : w, d = hrow[i];
            float e = (w - q) / d;
            for (size_t j = i + 1; j < cnt; j++) w1[j] -= e * hrow[j];
            w1[i] = q;
            e1[i] = e;
        }
        if (c->mask) memcpy(c->mask + r * n + i1, mk, cnt);
    }
    // W[r0:r1, i2:] -= Err1[r0:r1] @ Hinv[i1:i2, i2:]; the gemm kernel wants
    // W as (n_out, k): Hinv[i1:i2, i2:]^T = the mirrored lower block.
    if (r1 > r0 && i2 < n)
        c->k->gemm_f32(r1 - r0, n - i2, cnt, -1.0f, c->err1 + r0 * c->bs,
                       c->bs, c->hinv + i2 * n + i1, n, 1.0f,
                       m->w + r0 * m->ld + i2, m->ld);
}

// ---- prune ----
static enum cpr_status sgpt_prune(const void *state, const struct cpr_matrix *m,
                                  struct cpr_linear_stats *stats,
                                  const struct cpr_prune_target *t,
                                  uint8_t *mask, struct cpr_pool *pool,
                                  const struct cpr_kernels *k,
                                  struct cpr_err *err) {
    const struct sgpt_state *s = state;
    if (!k) k = cpr_kernels_get();
    const char *name = m && m->name ? m->name : "matrix";
    if (!m || !m->w || m->ld < m->cols)
        return cpr_err_set(err, CPR_ERR_ARG, "sparsegpt: bad matrix view");
    CPR_TRY(cpr_prune_target_check(t, m->cols, err));
    if (!stats || !stats->hessian)
        return cpr_err_set(err, CPR_ERR_ARG, "sparsegpt: %s: no Hessian "
                           "(needs hessian)", name);
    if (stats->n_cols != m->cols)
        return cpr_err_set(err, CPR_ERR_SHAPE, "sparsegpt: %s: Hessian is "
                           "%zu x %zu, weight has %zu columns", name,
                           stats->n_cols, stats->n_cols, m->cols);
    size_t rows = m->rows, n = m->cols, bs = s->blocksize;
    if (t->nm_m && (bs % t->nm_m != 0 || t->nm_m > 256))
        return cpr_err_set(err, CPR_ERR_ARG, "sparsegpt: %s: pattern %u:%u "
                           "needs M <= 256 dividing blocksize %zu", name,
                           t->nm_n, t->nm_m, bs);
    if (t->nm_m == 0 && t->sparsity == 0.0) {
        if (mask) memset(mask, 0, rows * n);
        return CPR_OK;
    }
    if (rows == 0 || n == 0) return CPR_OK;
    float *h = stats->hessian;

    // 1. dead inputs, 2. damping (mean of the diagonal in double).
    double dsum = 0.0;
    for (size_t d = 0; d < n; d++) {
        if (h[d * n + d] == 0.0f) {
            h[d * n + d] = 1.0f;
            for (size_t r = 0; r < rows; r++) m->w[r * m->ld + d] = 0.0f;
        }
        dsum += h[d * n + d];
    }
    float damp = (float)s->percdamp * (float)(dsum / (double)n);
    for (size_t d = 0; d < n; d++) h[d * n + d] += damp;

    // 3. Hinv = chol(H^-1, upper); mirror U into the strict lower triangle.
    CPR_TRY(cpr_inverse_chol_upper(pool, k, n, h, n, err));
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) h[j * n + i] = h[i * n + j];

    size_t nth = cpr_pool_size(pool);
    size_t slab = rows * bs;
    float *err1 = malloc(slab * sizeof(float));
    float *tmp = t->nm_m ? NULL : malloc(slab * sizeof(float));
    uint32_t *sel = t->nm_m ? NULL : malloc(slab * sizeof(uint32_t));
    uint8_t *msc = malloc(nth * bs);
    if (!err1 || !msc || (!t->nm_m && (!tmp || !sel))) {
        free(err1);
        free(tmp);
        free(sel);
        free(msc);
        return cpr_err_set(err, CPR_ERR_NOMEM, "sparsegpt: %s: block scratch "
                           "for %zu x %zu", name, rows, bs);
    }
    struct blk_ctx c = {m, t, k, h, 0, 0, bs, tmp, 0.0f, err1, mask, msc};
    for (size_t i1 = 0; i1 < n; i1 += bs) {
        c.i1 = i1;
        c.i2 = i1 + bs < n ? i1 + bs : n;
        if (!t->nm_m) {
            size_t cnt = c.i2 - i1, numel = rows * cnt;
            cpr_pool_run(pool, slab_worker, &c);
            size_t idx = cpr_count_of(numel, t->sparsity);
            // sort(tmp.flatten())[idx]; idx == numel only for s == 1,
            // where torch would index past the end: prune everything.
            c.thresh = idx >= numel
                           ? INFINITY
                           : k->kth_smallest_f32(numel, idx + 1, tmp, sel);
        }
        cpr_pool_run(pool, block_worker, &c);
    }
    free(err1);
    free(tmp);
    free(sel);
    free(msc);
    return CPR_OK;
}

const struct cpr_method cpr_method_sparsegpt = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "sparsegpt",
    .summary = "OBS with lazy block updates (fasterprune): mask per "
               "rows x block, error feedback; N:M on updated weights",
    .needs = CPR_NEED_HESSIAN,
    .opts = sgpt_opts,
    .n_opts = N_SGPT_OPTS,
    .init = sgpt_init,
    .parse_opts = sgpt_parse,
    .prune_matrix = sgpt_prune,
    .free = sgpt_free,
};
