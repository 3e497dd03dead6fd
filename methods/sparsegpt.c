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
// is: slab scores (rows split over the pool), one selection, the column
// loop in fixed tasks of RB rows, then the lazy update split over columns
// (see "one block" below). Inside a block the column loop works on
// SB-column sub-blocks and hands the rest of the block to the gemm kernel,
// so the per-column rank-1 updates are summed in a different order than
// the reference's (same math, f32 rounding differs: ~1e-7 relative on the
// oracle fixtures); that moved the O(rows * n * blocksize) part of the
// work from plain C to the GEMM and about halved the time of a whole
// 11008 x 4096 matrix (bench/bench_prune.c; figures in
// bench/results/prune.json). The plain-C part has the same arithmetic on every
// ISA; the gemm slot's k-sum order differs between ISAs, so weights agree
// across ISAs to f32 rounding and an N:M or threshold decision on a
// near-tie may differ; for one ISA results are identical for any thread
// count. H (stats->hessian) is overwritten: on return it holds Hinv in its
// upper triangle mirrored into the lower one.
#include "methods/sparsegpt.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "methods/method_util.h"
#include "methods/rowsel.h"

struct sgpt_state {
    size_t blocksize;
    double percdamp;
    int saliency; // SAL_*
};

static const struct cpr_method_opt sgpt_opts[] = {
    {"blocksize", CPR_OPT_SIZE, offsetof(struct sgpt_state, blocksize), "128",
     NULL, 1, 65536, "columns per lazy-update block (mask chosen per block)"},
    {"percdamp", CPR_OPT_DOUBLE, offsetof(struct sgpt_state, percdamp), "0.01",
     NULL, 0, 1e6, "dampening: H += percdamp * mean(diag H) * I"},
    {"saliency", CPR_OPT_ENUM, offsetof(struct sgpt_state, saliency), "obs",
     "obs|isc|isc_paper", 0, 0,
     "mask score: obs = W^2/d^2 (SparseGPT); isc = W^2 (H_qq + 1/d) "
     "(MixGPT code); isc_paper = W^2 (H_qq + 1/d^2) (its Eq. 4); d = "
     "diag of chol(H^-1) upper, H damped"},
};
#define N_SGPT_OPTS (sizeof sgpt_opts / sizeof sgpt_opts[0])

static enum cpr_status sgpt_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(sgpt_opts, N_SGPT_OPTS,
                                sizeof(struct sgpt_state), "sparsegpt", state,
                                err);
}

static enum cpr_status sgpt_parse(void *state, const char *list,
                                  struct cpr_err *err) {
    return cpr_method_opts_parse(sgpt_opts, N_SGPT_OPTS, state, "sparsegpt",
                                 list, err);
}

static void sgpt_free(void *state) { free(state); }

// ---- one block ----
// Work split (every task has a fixed shape, so results are bit-identical
// for any pool size):
//   scores   rows split over the pool (element-wise);
//   columns  tasks of RB rows; inside the block, SB-column sub-blocks: the
//            column loop runs on the sub-block only, then the rest of the
//            block gets the sub-block's error at once through the gemm
//            kernel (m = the task's rows, a fixed number):
//              W1[:, s1:] -= Err1[:, s0:s1] @ Hinv1[s0:s1, s1:]
//            which is the reference's per-column rank-1 updates summed in
//            another order (f32 rounding differs; math is the same). The
//            plain-C column loop thus does rows * n * SB / 2 multiply-adds
//            instead of rows * n * blocksize / 2. The task's rows go through
//            one column at a time, so each N:M group start makes a single
//            nm_mask_f32 call for all the task's rows.
//   lazy     W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:] split over the columns of
//            W (n splits of the gemm kernel are bit-identical; m = all rows).
enum {
    RB = 128, // rows per column-loop task
    SB = 16,  // columns per sub-block (rounded to a multiple of M for N:M)
};

struct blk_ctx {
    const struct cpr_matrix *m;
    const struct cpr_prune_target *t;
    const struct cpr_kernels *k;
    const float *hinv; // (cols, cols): U upper, U^T mirrored lower
    size_t i1, i2, bs; // block, blocksize (row stride of tmp / err)
    size_t sub;        // sub-block width (SB, or a multiple of nm_m)
    float *tmp;        // (rows, i2 - i1) slab scores (unstructured)
    float thresh;      // unstructured threshold
    float *err1;       // (rows, bs)
    uint8_t *mask;     // output (rows, cols) or NULL
    uint8_t *mscratch; // (nth, RB, bs) per-thread block mask
    float *gscratch;   // (nth, RB, nm_m) N:M group scores
    uint8_t *gmscratch; // (nth, RB, nm_m) N:M group masks
    int saliency;       // SAL_*
    const float *hdiag; // (cols) damped diag(H) (isc saliencies)
};

enum { SAL_OBS = 0, SAL_ISC, SAL_ISC_PAPER };

// The mask score of weight w in column q (d = Hinv[q][q]).
static inline float saliency(const struct blk_ctx *c, float w, float d,
                             size_t q) {
    switch (c->saliency) {
    case SAL_ISC: return (w * w) * (c->hdiag[q] + 1.0f / d);
    case SAL_ISC_PAPER: return (w * w) * (c->hdiag[q] + 1.0f / (d * d));
    default: return (w * w) / (d * d);
    }
}

static void slab_worker(void *vctx, size_t ith, size_t nth) {
    struct blk_ctx *c = vctx;
    size_t r0, r1, cnt = c->i2 - c->i1, n = c->m->cols;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        const float *w = c->m->w + r * c->m->ld + c->i1;
        for (size_t j = 0; j < cnt; j++) {
            float d = c->hinv[(c->i1 + j) * n + c->i1 + j];
            c->tmp[r * cnt + j] = saliency(c, w[j], d, c->i1 + j);
        }
    }
}

// mask ? +0 : w, without a branch (half of a 50% mask would be
// mispredicted): the bits of w ANDed with 0 or ~0.
static inline float keep_or_zero(float w, uint8_t mask) {
    uint32_t b;
    memcpy(&b, &w, sizeof b);
    b &= (uint32_t)(mask != 0) - 1u;
    memcpy(&w, &b, sizeof b);
    return w;
}

// The block's column loop for rows [ra, ra + nr), nr <= RB.
static void column_task(struct blk_ctx *c, size_t ith, size_t ra, size_t nr) {
    const struct cpr_matrix *m = c->m;
    size_t n = m->cols, ld = m->ld, i1 = c->i1, cnt = c->i2 - i1, bs = c->bs;
    unsigned pn = c->t->nm_n, pm = c->t->nm_m;
    uint8_t *mk = c->mscratch + ith * RB * bs; // (nr, cnt), stride bs
    float *g = c->gscratch + ith * RB * (pm ? pm : 1);
    uint8_t *gm = c->gmscratch + ith * RB * (pm ? pm : 1);
    float *w1 = m->w + ra * ld + i1; // (nr, cnt), stride ld
    float *e1 = c->err1 + ra * bs;   // (nr, cnt), stride bs
    for (size_t r = 0; r < nr; r++) {
        uint8_t *mr = mk + r * bs;
        if (pm == 0)
            for (size_t j = 0; j < cnt; j++)
                mr[j] = c->tmp[(ra + r) * cnt + j] <= c->thresh;
        else
            memset(mr, 0, cnt);
    }
    for (size_t s0 = 0; s0 < cnt; s0 += c->sub) {
        size_t s1 = s0 + c->sub < cnt ? s0 + c->sub : cnt;
        for (size_t i = s0; i < s1; i++) {
            const float *hrow = c->hinv + (i1 + i) * n + i1; // Hinv1[i, :]
            if (pm && i % pm == 0) {
                // Scores of the group's already-updated weights: every
                // column before i has been applied (sub-blocks start at
                // multiples of pm, so the group lies in this sub-block).
                for (size_t r = 0; r < nr; r++)
                    for (size_t j = 0; j < pm; j++) {
                        float d = c->hinv[(i1 + i + j) * n + i1 + i + j];
                        float v = w1[r * ld + i + j];
                        g[r * pm + j] = saliency(c, v, d, i1 + i + j);
                    }
                c->k->nm_mask_f32(nr * pm, pn, pm, g, gm);
                for (size_t r = 0; r < nr; r++)
                    for (size_t j = 0; j < pm; j++) mk[r * bs + i + j] |= gm[r * pm + j];
            }
            float d = hrow[i];
            for (size_t r = 0; r < nr; r++) {
                float *wr = w1 + r * ld;
                float w = wr[i], q = keep_or_zero(w, mk[r * bs + i]);
                float e = (w - q) / d;
                for (size_t j = i + 1; j < s1; j++) wr[j] -= e * hrow[j];
                wr[i] = q;
                e1[r * bs + i] = e;
            }
        }
        // W1[:, s1:] -= Err1[:, s0:s1] @ Hinv1[s0:s1, s1:]; the gemm kernel
        // wants W as (n_out, k): Hinv1[s0:s1, s1:]^T = the mirrored lower
        // block.
        if (s1 < cnt)
            c->k->gemm_f32(nr, cnt - s1, s1 - s0, -1.0f, e1 + s0, bs,
                           c->hinv + (i1 + s1) * n + i1 + s0, n, 1.0f, w1 + s1,
                           ld);
    }
    if (c->mask)
        for (size_t r = 0; r < nr; r++)
            memcpy(c->mask + (ra + r) * n + i1, mk + r * bs, cnt);
}

static void column_worker(void *vctx, size_t ith, size_t nth) {
    struct blk_ctx *c = vctx;
    size_t rows = c->m->rows, t0, t1;
    cpr_pool_split((rows + RB - 1) / RB, ith, nth, 1, &t0, &t1);
    for (size_t tk = t0; tk < t1; tk++) {
        size_t ra = tk * RB;
        column_task(c, ith, ra, rows - ra < RB ? rows - ra : RB);
    }
}

// W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]; the gemm kernel wants W as
// (n_out, k): Hinv[i1:i2, i2:]^T = the mirrored lower block. Threads take
// 64-aligned column ranges (rows of the kernel's W).
static void lazy_worker(void *vctx, size_t ith, size_t nth) {
    struct blk_ctx *c = vctx;
    const struct cpr_matrix *m = c->m;
    size_t n = m->cols, i1 = c->i1, i2 = c->i2, j0, j1;
    cpr_pool_split(n - i2, ith, nth, 64, &j0, &j1);
    if (j1 > j0)
        c->k->gemm_f32(m->rows, j1 - j0, i2 - i1, -1.0f, c->err1, c->bs,
                       c->hinv + (i2 + j0) * n + i1, n, 1.0f,
                       m->w + i2 + j0, m->ld);
}

// ---- mirror ----
// h[j][i] = h[i][j] for j > i (upper triangle into the lower), in 64 x 64
// tiles so both sides are read and written a few cache lines at a time.
// Tile rows are dealt to threads round-robin (the work of tile row tb
// grows with tb). Pure copies: any split gives the same matrix.
enum { MT = 64 };

struct mirror_ctx {
    float *h;
    size_t n;
};

static void mirror_worker(void *vctx, size_t ith, size_t nth) {
    const struct mirror_ctx *c = vctx;
    size_t n = c->n;
    float *h = c->h;
    for (size_t tb = ith; tb * MT < n; tb += nth) {
        size_t ib = tb * MT, ie = ib + MT < n ? ib + MT : n; // lower rows
        for (size_t jb = 0; jb <= ib; jb += MT) {
            size_t je = jb + MT < n ? jb + MT : n;
            for (size_t i = ib; i < ie; i++)
                for (size_t j = jb; j < je && j < i; j++)
                    h[i * n + j] = h[j * n + i];
        }
    }
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
    int dense;
    CPR_TRY(cpr_prune_open("sparsegpt", m, stats, CPR_NEED_HESSIAN, t, mask,
                           &dense, err));
    if (dense) return CPR_OK;
    const char *name = cpr_matrix_label(m);
    size_t rows = m->rows, n = m->cols, bs = s->blocksize;
    if (t->nm_m && (bs % t->nm_m != 0 || t->nm_m > 256))
        return cpr_err_set(err, CPR_ERR_ARG, "sparsegpt: %s: pattern %u:%u "
                           "needs M <= 256 dividing blocksize %zu", name,
                           t->nm_n, t->nm_m, bs);
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
    float *hdiag = NULL; // the damped diagonal, for the isc saliencies
    if (s->saliency != SAL_OBS) {
        hdiag = malloc(n * sizeof *hdiag);
        if (!hdiag)
            return cpr_err_set(err, CPR_ERR_NOMEM, "sparsegpt: %s: diagonal",
                               name);
        for (size_t d = 0; d < n; d++) hdiag[d] = h[d * n + d];
    }

    // 3. Hinv = chol(H^-1, upper); mirror U into the strict lower triangle.
    enum cpr_status fs = cpr_inverse_chol_upper(pool, k, n, h, n, err);
    if (fs) {
        free(hdiag);
        return fs;
    }
    struct mirror_ctx mc = {h, n};
    cpr_pool_run(pool, mirror_worker, &mc);

    size_t nth = cpr_pool_size(pool), pm = t->nm_m ? t->nm_m : 1;
    size_t slab = rows * bs;
    float *err1 = malloc(slab * sizeof(float));
    float *tmp = t->nm_m ? NULL : malloc(slab * sizeof(float));
    uint32_t *sel = t->nm_m ? NULL : malloc(slab * sizeof(uint32_t));
    uint8_t *msc = malloc(nth * RB * bs);
    float *gsc = malloc(nth * RB * pm * sizeof(float));
    uint8_t *gmsc = malloc(nth * RB * pm);
    if (!err1 || !msc || !gsc || !gmsc || (!t->nm_m && (!tmp || !sel))) {
        free(err1);
        free(tmp);
        free(sel);
        free(msc);
        free(gsc);
        free(gmsc);
        free(hdiag);
        return cpr_err_set(err, CPR_ERR_NOMEM, "sparsegpt: %s: block scratch "
                           "for %zu x %zu", name, rows, bs);
    }
    // Sub-blocks start at multiples of nm_m so an N:M group never straddles
    // two of them.
    size_t sub = t->nm_m ? (SB > pm ? SB / pm * pm : pm) : SB;
    struct blk_ctx c = {m, t, k, h, 0, 0, bs, sub, tmp, 0.0f, err1, mask,
                        msc, gsc, gmsc, s->saliency, hdiag};
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
        cpr_pool_run(pool, column_worker, &c);
        if (c.i2 < n) cpr_pool_run(pool, lazy_worker, &c);
    }
    free(err1);
    free(tmp);
    free(sel);
    free(msc);
    free(gsc);
    free(gmsc);
    free(hdiag);
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
