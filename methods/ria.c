// methods/ria.c: RIA (Relative Importance and Activations, Zhang et al.,
// ICLR'24) as biomedical-cybernetics/Relative-importance-and-activation-
// pruning lib/prune.py prune_ria runs it (main.py defaults: a = 0.5,
// importance_score "sum"). Not here: the --reconstruction (SparseGPT
// update with the RIA mask), --gptq and --semi_sparse_acc paths.
//
// Score (prune_ria, "ria" branch):
//   S_ij = (|W_ij| / sum_i |W_ij| + |W_ij| / sum_j |W_ij|) * sqrt(s_j) ** a
// where s = scaler_row. The RIA repo's lib/layerwrapper.py accumulates
// scaler_row exactly as Wanda (sum over tokens of x_j^2 / n_samples), so
// sqrt(s_j) = ||X_j||_2 / sqrt(n_samples) and the activation factor is
// sqrt(scaler_row_j) ** a: with a = 0.5 that is scaler_row_j ** 0.25.
// The constant n_samples factor does not change any selection.
// Numerics: f32 like torch; the row and column sums of |W| are taken in
// double and rounded to f32 (torch sums in f32 in its own order: an ulp
// apart at most). torch's pow(tensor, scalar) takes fast paths for some
// exponents (0.5 -> sqrt, 2 -> x*x, 3, -0.5 -> 1/sqrt, -1, -2); so do we,
// and powf otherwise.
//
// Selection (target from cpr_prune_target):
//   group=matrix (default, the reference): thresh = sort(S.flatten())
//     [int(numel*s)], prune S <= thresh. That prunes int(numel*s) + 1
//     weights plus any tie with the threshold (the reference's rule, as
//     magnitude; kept on purpose). NaN scores are never pruned.
//   group=row (--per_outneuron): stable sort of each row, prune the first
//     int(cols*s): exactly that many per row, ties to the lower index.
//   N:M: per row, in each group of m consecutive inputs prune the n
//     smallest S (torch.topk; its tie order is unspecified, ours is the
//     lower index).
//   N:M with reallocation=1 (--reallocation, "Heuristic Channel
//     Reallocation"): columns are ordered by an importance (importance=
//     sum: the column sums of S, ascending; retained_matrix /
//     retained_row: lexicographic (kept-score sum, pruned count) of the
//     unstructured mask at sparsity n/m per matrix / per row), the sorted
//     list is cut into m equal chunks, and chunk t fills slots t, t+m,
//     t+2m, ... of the new order (chunks with odd t reversed), so every
//     group gets one channel from each importance band. The N:M groups
//     are then taken over the permuted columns, and the mask is scattered
//     back: W keeps its original column order, so the resulting mask is
//     N:M only in the permuted order (the reference's non-semi_sparse_acc
//     path does exactly this; deploying it on 2:4 hardware needs the
//     permutation applied to W's columns and the producer of its input).
//     cpr_ria_channel_order returns the permutation.
//   lsa=1 (--lsa): then, for each slot c = 0..m-1 and each of lsa_blocks
//     equal parts of the permuted order, a linear sum assignment moves the
//     slot-c channels between groups to maximize the total kept score:
//     entry (g, h) = sum over rows of the kept-score sum of group g with
//     its slot-c channel replaced by group h's. The reference solves it
//     with scipy linear_sum_assignment on a GPU-built matrix; we use an
//     O(G^3) shortest-augmenting-path Hungarian method in double. Where
//     several assignments reach the same optimum the two may pick
//     different ones. Cost O(m * rows * G^2) per part, G = cols/m/blocks:
//     minutes for a 4096-wide matrix on a few cores; the reference's
//     --fast mode (blocks 4/8/16 by layer name) is lsa_blocks here.
//
// Reference quirks and our choices:
//   - The reference model is fp16, so |W|/colsum + |W|/rowsum is computed
//     in fp16 there (many exact ties); our weights are f32 by the time a
//     method sees them and we compute in f32. Masks therefore match the
//     reference exactly for f32 inputs, not for its fp16 rounding.
//   - importance "retained_*" need a sparsity: the reference uses the
//     global --sparsity_ratio (0.5 for 2:4 runs); we use n/m.
//   - The per-matrix rule prunes one more than int(numel*s) (see above).
//   - reallocation / lsa with an unstructured target are ignored by the
//     reference; here they are CPR_ERR_ARG so a typo cannot go unnoticed.
// Threads: column sums over column ranges and row work over row ranges,
// each item summed in a fixed order; the matrix threshold is one
// selection. Results are bit-identical for any pool size and ISA.
#include "methods/ria.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/rowsel.h"

struct ria_state {
    double a;
    int group; // 0 matrix, 1 row
    int reallocation;
    int importance; // enum cpr_ria_importance
    int lsa;
    size_t lsa_blocks;
};

static const struct cpr_method_opt ria_opts[] = {
    {"a", CPR_OPT_DOUBLE, offsetof(struct ria_state, a), "0.5", NULL, -16, 16,
     "activation exponent: score * sqrt(scaler_row)^a (--a)"},
    {"group", CPR_OPT_ENUM, offsetof(struct ria_state, group), "matrix",
     "matrix|row", 0, 0,
     "comparison group: whole matrix (reference) or per row "
     "(--per_outneuron)"},
    {"reallocation", CPR_OPT_BOOL, offsetof(struct ria_state, reallocation),
     "0", NULL, 0, 1,
     "N:M only: heuristic channel reallocation (--reallocation); the mask "
     "is N:M in the permuted column order"},
    {"importance", CPR_OPT_ENUM, offsetof(struct ria_state, importance),
     "sum", "sum|retained_matrix|retained_row", 0, 0,
     "channel importance for the reallocation (--importance_score)"},
    {"lsa", CPR_OPT_BOOL, offsetof(struct ria_state, lsa), "0", NULL, 0, 1,
     "refine the reallocation by linear sum assignment (--lsa)"},
    {"lsa_blocks", CPR_OPT_SIZE, offsetof(struct ria_state, lsa_blocks), "1",
     NULL, 1, 1 << 20,
     "lsa: independent column parts (the reference's --fast blocks)"},
};
#define N_RIA_OPTS (sizeof ria_opts / sizeof ria_opts[0])

static enum cpr_status ria_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(ria_opts, N_RIA_OPTS,
                                sizeof(struct ria_state), "ria", state,
                                err);
}

static enum cpr_status ria_parse(void *state, const char *list,
                                 struct cpr_err *err) {
    return cpr_method_opts_parse(ria_opts, N_RIA_OPTS, state, "ria", list,
                                 err);
}

static void ria_free(void *state) { free(state); }

// ---- score ----
struct score_ctx {
    const struct cpr_matrix *m;
    const float *act; // (cols)
    double *csum;     // (cols)
    float *score;     // (rows, cols)
};

static void colsum_worker(void *vctx, size_t ith, size_t nth) {
    struct score_ctx *c = vctx;
    size_t c0, c1;
    cpr_pool_split(c->m->cols, ith, nth, 16, &c0, &c1);
    for (size_t j = c0; j < c1; j++) c->csum[j] = 0.0;
    for (size_t i = 0; i < c->m->rows; i++) {
        const float *w = c->m->w + i * c->m->ld;
        for (size_t j = c0; j < c1; j++) c->csum[j] += fabsf(w[j]);
    }
}

static void rowscore_worker(void *vctx, size_t ith, size_t nth) {
    struct score_ctx *c = vctx;
    size_t cols = c->m->cols, r0, r1;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t i = r0; i < r1; i++) {
        const float *w = c->m->w + i * c->m->ld;
        float *s = c->score + i * cols;
        double acc = 0.0;
        for (size_t j = 0; j < cols; j++) acc += fabsf(w[j]);
        float rs = (float)acc;
        for (size_t j = 0; j < cols; j++) {
            float aw = fabsf(w[j]), cs = (float)c->csum[j];
            s[j] = (aw / cs + aw / rs) * c->act[j];
        }
    }
}

enum cpr_status cpr_ria_score(const struct cpr_matrix *m,
                              const float *scaler_row, double a, float *score,
                              struct cpr_pool *pool, struct cpr_err *err) {
    size_t cols = m->cols;
    float *act = malloc((cols ? cols : 1) * sizeof *act);
    double *csum = malloc((cols ? cols : 1) * sizeof *csum);
    if (!act || !csum) {
        free(act);
        free(csum);
        return cpr_err_set(err, CPR_ERR_NOMEM, "ria: %s: column sums",
                           m->name ? m->name : "matrix");
    }
    for (size_t j = 0; j < cols; j++)
        act[j] = cpr_pow_torch(sqrtf(scaler_row[j]), a); // sqrt(s) ** a
    struct score_ctx c = {m, act, csum, score};
    cpr_pool_run(pool, colsum_worker, &c);
    cpr_pool_run(pool, rowscore_worker, &c);
    free(act);
    free(csum);
    return CPR_OK;
}

// ---- sorting keys (for cpr_sort_stable) ----
struct lex_ctx {
    const float *kept;
    const uint32_t *cnt;
};

// lexsort([cnt, kept]) as the reference's helper (and numpy) orders it:
// the last key is the primary one, then cnt, then the index (its sorts
// are stable).
static int by_lex(const void *ctx, uint32_t a, uint32_t b) {
    const struct lex_ctx *c = ctx;
    if (cpr_flt_before(c->kept[a], c->kept[b])) return 1;
    if (cpr_flt_before(c->kept[b], c->kept[a])) return 0;
    return c->cnt[a] < c->cnt[b];
}

// ---- channel reallocation ----
// Column keys for the importance; fills order (cols) ascending.
static enum cpr_status importance_order(const float *score, size_t rows,
                                        size_t cols, unsigned n, unsigned m,
                                        enum cpr_ria_importance imp,
                                        uint32_t *order,
                                        const struct cpr_kernels *k,
                                        struct cpr_err *err) {
    size_t numel = rows * cols;
    float *kept = malloc(cols * sizeof *kept);
    uint32_t *cnt = calloc(cols, sizeof *cnt);
    uint32_t *tmp = malloc((numel > cols ? numel : cols) * sizeof *tmp);
    uint8_t *rmask = malloc(cols);
    double *acc = calloc(cols, sizeof *acc);
    enum cpr_status st = CPR_OK;
    if (!kept || !cnt || !tmp || !rmask || !acc) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: reallocation scratch for "
                         "%zu x %zu", rows, cols);
        goto fail;
    }
    double s = (double)n / (double)m;
    if (imp == CPR_RIA_IMP_SUM) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) acc[j] += score[i * cols + j];
        for (size_t j = 0; j < cols; j++) kept[j] = (float)acc[j];
    } else {
        float thresh = INFINITY;
        size_t kk = cpr_count_of(cols, s);
        if (imp == CPR_RIA_IMP_RETAINED_MATRIX) {
            size_t idx = cpr_count_of(numel, s);
            if (idx < numel)
                thresh = k->kth_smallest_f32(numel, idx + 1, score, tmp);
        }
        for (size_t i = 0; i < rows; i++) {
            const float *sr = score + i * cols;
            if (imp == CPR_RIA_IMP_RETAINED_ROW)
                k->select_smallest_f32(cols, kk, sr, rmask, tmp);
            else
                for (size_t j = 0; j < cols; j++) rmask[j] = sr[j] <= thresh;
            for (size_t j = 0; j < cols; j++) {
                if (rmask[j])
                    cnt[j]++;
                else
                    acc[j] += sr[j];
            }
        }
        for (size_t j = 0; j < cols; j++) kept[j] = (float)acc[j];
    }
    for (size_t j = 0; j < cols; j++) order[j] = (uint32_t)j;
    if (imp == CPR_RIA_IMP_SUM) {
        cpr_sort_stable(order, cols, tmp, cpr_before_by_key, kept);
    } else {
        struct lex_ctx lc = {kept, cnt};
        cpr_sort_stable(order, cols, tmp, by_lex, &lc);
    }
fail:
    free(kept);
    free(cnt);
    free(tmp);
    free(rmask);
    free(acc);
    return st;
}

// Hungarian method (shortest augmenting paths with potentials) maximizing
// sum_g val[g][col[g]] over permutations; val (n, n) row-major, finite.
// Scratch: 4 (n+1) doubles/ints. Returns 0, or -1 on allocation failure.
static int assign_max(size_t n, const double *val, uint32_t *col) {
    double *u = calloc(n + 1, sizeof *u), *v = calloc(n + 1, sizeof *v);
    double *minv = malloc((n + 1) * sizeof *minv);
    size_t *p = calloc(n + 1, sizeof *p), *way = calloc(n + 1, sizeof *way);
    uint8_t *used = malloc(n + 1);
    int rc = 0;
    if (!u || !v || !minv || !p || !way || !used) {
        rc = -1;
        goto done;
    }
    for (size_t i = 1; i <= n; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= n; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            size_t i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (size_t j = 1; j <= n; j++) {
                if (used[j]) continue;
                double cur = -val[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= n; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t j = 1; j <= n; j++) col[p[j] - 1] = (uint32_t)(j - 1);
done:
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
    return rc;
}

struct lsa_ctx {
    const float *score;
    size_t rows, cols;
    unsigned n, m, c;   // pattern, slot being reassigned
    const uint32_t *sub; // (G*m) columns of this part, permuted order
    size_t g;            // G groups
    double *val;         // (G, G)
    double *acc;         // (nth, G)
};

// val[g][h] = sum over rows of the kept-score sum (all but the n smallest)
// of group g with its slot-c column replaced by group h's slot-c column.
static void lsa_worker(void *vctx, size_t ith, size_t nth) {
    struct lsa_ctx *c = vctx;
    size_t g0, g1, G = c->g, m = c->m, n = c->n;
    cpr_pool_split(G, ith, nth, 1, &g0, &g1);
    double *acc = c->acc + ith * G;
    float o[256];
    for (size_t g = g0; g < g1; g++) {
        for (size_t h = 0; h < G; h++) acc[h] = 0.0;
        for (size_t i = 0; i < c->rows; i++) {
            const float *sr = c->score + i * c->cols;
            size_t q = 0;
            for (size_t p = 0; p < m; p++)
                if (p != c->c) o[q++] = sr[c->sub[g * m + p]];
            for (size_t a = 1; a < q; a++) { // insertion sort, m - 1 values
                float x = o[a];
                size_t b = a;
                for (; b > 0 && o[b - 1] > x; b--) o[b] = o[b - 1];
                o[b] = x;
            }
            // kept = sum_{t >= n-1} o[t] + max(v - o[n-1], 0)
            double tail = 0.0;
            for (size_t t = n - 1; t < q; t++) tail += o[t];
            double pivot = o[n - 1];
            for (size_t h = 0; h < G; h++) {
                double v = sr[c->sub[h * m + c->c]];
                acc[h] += tail + (v > pivot ? v - pivot : 0.0);
            }
        }
        memcpy(c->val + g * G, acc, G * sizeof *acc);
    }
}

static enum cpr_status lsa_refine(const float *score, size_t rows,
                                  size_t cols, unsigned n, unsigned m,
                                  size_t blocks, uint32_t *index,
                                  struct cpr_pool *pool, struct cpr_err *err) {
    size_t part = cols / blocks, G = part / m, nth = cpr_pool_size(pool);
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(score[i]))
            return cpr_err_set(err, CPR_ERR_NUMERIC, "ria: lsa: score[%zu][%zu]"
                               " is not finite (a zero row or column?)",
                               i / cols, i % cols);
    double *val = malloc((G > 0 ? G * G : 1) * sizeof *val);
    double *acc = malloc((G > 0 ? nth * G : 1) * sizeof *acc);
    uint32_t *col = malloc((G ? G : 1) * sizeof *col);
    uint32_t *sub = malloc((part ? part : 1) * sizeof *sub);
    enum cpr_status st = CPR_OK;
    if (!val || !acc || !col || !sub) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: lsa: %zu x %zu assignment "
                         "matrix", G, G);
        goto fail;
    }
    for (unsigned c = 0; c < m; c++) {
        for (size_t b = 0; b < blocks; b++) {
            uint32_t *blk = index + b * part;
            memcpy(sub, blk, part * sizeof *sub);
            struct lsa_ctx lc = {score, rows, cols, n, m, c, sub, G, val, acc};
            cpr_pool_run(pool, lsa_worker, &lc);
            if (assign_max(G, val, col) != 0) {
                st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: lsa: assignment "
                                 "scratch");
                goto fail;
            }
            for (size_t g = 0; g < G; g++)
                blk[g * m + c] = sub[(size_t)col[g] * m + c];
        }
    }
fail:
    free(val);
    free(acc);
    free(col);
    free(sub);
    return st;
}

enum cpr_status cpr_ria_channel_order(const float *score, size_t rows,
                                      size_t cols, unsigned n, unsigned m,
                                      enum cpr_ria_importance imp, int lsa,
                                      size_t lsa_blocks, uint32_t *index,
                                      struct cpr_pool *pool,
                                      const struct cpr_kernels *k,
                                      struct cpr_err *err) {
    if (!k) k = cpr_kernels_get();
    if (n == 0 || n >= m || m > 256 || cols % m != 0)
        return cpr_err_set(err, CPR_ERR_ARG, "ria: reallocation: pattern "
                           "%u:%u on %zu columns; expected 0 < N < M <= 256, "
                           "M dividing the columns", n, m, cols);
    if (lsa && (lsa_blocks == 0 || cols % ((size_t)m * lsa_blocks) != 0))
        return cpr_err_set(err, CPR_ERR_ARG, "ria: lsa: %zu columns do not "
                           "split into lsa_blocks=%zu parts of whole %u-groups",
                           cols, lsa_blocks, m);
    if (cols == 0) return CPR_OK;
    uint32_t *order = malloc(cols * sizeof *order);
    if (!order)
        return cpr_err_set(err, CPR_ERR_NOMEM, "ria: reallocation order");
    enum cpr_status st =
        importance_order(score, rows, cols, n, m, imp, order, k, err);
    if (st == CPR_OK) {
        // Chunk t of the ascending order fills slots t, t+m, ...; odd
        // chunks reversed (the reference's .flip(0) for even ii = t+1).
        size_t chunk = cols / m;
        for (size_t t = 0; t < m; t++)
            for (size_t q = 0; q < chunk; q++)
                index[q * m + t] =
                    order[t * chunk + (t % 2 == 0 ? q : chunk - 1 - q)];
        if (lsa)
            st = lsa_refine(score, rows, cols, n, m, lsa_blocks, index, pool,
                            err);
    }
    free(order);
    return st;
}

// ---- selection ----
enum { SEL_MATRIX, SEL_ROW, SEL_NM };

struct sel_ctx {
    const struct cpr_matrix *m;
    const float *score;     // (rows, cols)
    const uint32_t *index;  // N:M permutation or NULL
    int mode;
    float thresh;           // SEL_MATRIX
    size_t kcount;          // SEL_ROW
    unsigned n, nm;         // SEL_NM
    uint8_t *mask;          // (rows, cols) or NULL
    const struct cpr_kernels *k;
    unsigned char *scratch; // per thread
    size_t per;
};

static void sel_worker(void *vctx, size_t ith, size_t nth) {
    struct sel_ctx *c = vctx;
    size_t cols = c->m->cols, r0, r1;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    unsigned char *base = c->scratch + ith * c->per;
    float *g = (float *)(void *)base;
    uint32_t *idx = (uint32_t *)(void *)(base + cols * sizeof(float));
    uint8_t *own = base + cols * (sizeof(float) + sizeof(uint32_t));
    uint8_t *gm = own + cols;
    for (size_t r = r0; r < r1; r++) {
        const float *s = c->score + r * cols;
        uint8_t *mk = c->mask ? c->mask + r * cols : own;
        if (c->mode == SEL_MATRIX) {
            for (size_t j = 0; j < cols; j++) mk[j] = s[j] <= c->thresh;
        } else if (c->mode == SEL_ROW) {
            c->k->select_smallest_f32(cols, c->kcount, s, mk, idx);
        } else if (!c->index) {
            c->k->nm_mask_f32(cols, c->n, c->nm, s, mk);
        } else {
            for (size_t p = 0; p < cols; p++) g[p] = s[c->index[p]];
            c->k->nm_mask_f32(cols, c->n, c->nm, g, gm);
            for (size_t p = 0; p < cols; p++) mk[c->index[p]] = gm[p];
        }
        float *w = c->m->w + r * c->m->ld;
        for (size_t j = 0; j < cols; j++)
            if (mk[j]) w[j] = 0.0f;
    }
}

// ---- prune ----
static enum cpr_status ria_prune(const void *state, const struct cpr_matrix *m,
                                 struct cpr_linear_stats *stats,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err) {
    const struct ria_state *s = state;
    if (!k) k = cpr_kernels_get();
    const char *name = cpr_matrix_label(m);
    // Option/target conflicts first: they are errors even at sparsity 0.
    if (t && (s->reallocation || s->lsa) && t->nm_m == 0)
        return cpr_err_set(err, CPR_ERR_ARG, "ria: %s: reallocation/lsa "
                           "apply to N:M targets only; the target is "
                           "unstructured (sparsity %g)", name, t->sparsity);
    if (s->lsa && !s->reallocation)
        return cpr_err_set(err, CPR_ERR_ARG, "ria: %s: lsa refines the "
                           "channel reallocation; set reallocation=1 too",
                           name);
    int dense;
    CPR_TRY(cpr_prune_open("ria", m, stats, CPR_NEED_COLSUMSQ, t, mask,
                           &dense, err));
    if (dense) return CPR_OK;
    size_t rows = m->rows, cols = m->cols, numel = rows * cols;
    if (numel == 0) return CPR_OK;
    size_t nth = cpr_pool_size(pool);
    size_t per = (cols * 10 + 63) / 64 * 64;
    float *score = malloc(numel * sizeof *score);
    unsigned char *scratch = malloc(per * nth + 64);
    uint32_t *index = NULL, *sel = NULL;
    struct sel_ctx c = {m, score, NULL, SEL_NM, 0.0f, 0, t->nm_n, t->nm_m,
                        mask, k, scratch, per};
    enum cpr_status st = CPR_OK;
    if (!score || !scratch) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: %s: %zu scores", name,
                         numel);
        goto fail;
    }
    if ((st = cpr_ria_score(m, stats->scaler_row, s->a, score, pool, err)) !=
        CPR_OK)
        goto fail;
    if (t->nm_m && s->reallocation) {
        index = malloc(cols * sizeof *index);
        if (!index) {
            st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: %s: permutation", name);
            goto fail;
        }
        st = cpr_ria_channel_order(score, rows, cols, t->nm_n, t->nm_m,
                                   (enum cpr_ria_importance)s->importance,
                                   s->lsa, s->lsa_blocks, index, pool, k, err);
        if (st != CPR_OK) goto fail;
        c.index = index;
    } else if (t->nm_m == 0 && s->group == 1) {
        c.mode = SEL_ROW;
        c.kcount = cpr_count_of(cols, t->sparsity);
    } else if (t->nm_m == 0) {
        c.mode = SEL_MATRIX;
        size_t idx = cpr_count_of(numel, t->sparsity);
        c.thresh = INFINITY; // s == 1: torch would index past the end
        if (idx < numel) {
            sel = malloc(numel * sizeof *sel);
            if (!sel) {
                st = cpr_err_set(err, CPR_ERR_NOMEM, "ria: %s: %zu-element "
                                 "selection scratch", name, numel);
                goto fail;
            }
            c.thresh = k->kth_smallest_f32(numel, idx + 1, score, sel);
        }
    }
    cpr_pool_run(pool, sel_worker, &c);
fail:
    free(score);
    free(scratch);
    free(index);
    free(sel);
    return st;
}

const struct cpr_method cpr_method_ria = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "ria",
    .summary = "(|W|/colsum + |W|/rowsum) * ||X_j||^a, per matrix "
               "(reference) or row; N:M with channel reallocation + LSA",
    .needs = CPR_NEED_COLSUMSQ,
    .opts = ria_opts,
    .n_opts = N_RIA_OPTS,
    .init = ria_init,
    .parse_opts = ria_parse,
    .prune_matrix = ria_prune,
    .free = ria_free,
};
