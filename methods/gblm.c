// methods/gblm.c: GBLM-Pruner and its gradient-only ablation, as
// VILA-Lab/GBLM-Pruner lib/prune.py (prune_gblm, prune_gradient @338e2b5)
// computes them from the per-weight gradient norms G of
// gradient_computation.py (methods/gradstats.h: G = l2 = sqrt(sum (100g)^2)
// by default, or l1 = sum |100g|; stats->grad_l2 / grad_l1).
//
// Metric, per weight, in f32 in the reference's order:
//   gblm:      a = |W| * sqrt(scaler_row[j]);  S = a + |W| * |G|
//              (gradient_inv: S = a * (1 / (|G| + 1e-8)))
//   gradient:  S = |W| * |G|   (gradient_inv: |W| * (1 / (|G| + 1e-8)))
// Comparison group, as Wanda: per output row, exactly int(cols * s)
// smallest (stable sort: ties to the lower index), or N:M per row.
// The reference holds G in fp16; we hold f32 (the oracle does the same).
#include "methods/gblm.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/rowsel.h"

struct gblm_state {
    int norm; // 0 = l2, 1 = l1
    int inv;
};

static const struct cpr_method_opt gblm_opts[] = {
    {"gradient_norm", CPR_OPT_ENUM, offsetof(struct gblm_state, norm), "l2",
     "l2|l1", 0, 0,
     "G = sqrt(sum (100g)^2) (l2) or sum |100g| (l1) over the windows"},
    {"gradient_inv", CPR_OPT_BOOL, offsetof(struct gblm_state, inv), "0",
     NULL, 0, 1, "1: multiply by 1 / (|G| + 1e-8) instead (--gradient_inv)"},
};
#define N_GBLM_OPTS (sizeof gblm_opts / sizeof gblm_opts[0])

static enum cpr_status gblm_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(gblm_opts, N_GBLM_OPTS,
                                sizeof(struct gblm_state), "gblm", state, err);
}
static enum cpr_status gradient_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(gblm_opts, N_GBLM_OPTS,
                                sizeof(struct gblm_state), "gradient", state,
                                err);
}
static enum cpr_status gblm_parse(void *state, const char *list,
                                  struct cpr_err *err) {
    return cpr_method_opts_parse(gblm_opts, N_GBLM_OPTS, state, "gblm", list,
                                 err);
}
static enum cpr_status gradient_parse(void *state, const char *list,
                                      struct cpr_err *err) {
    return cpr_method_opts_parse(gblm_opts, N_GBLM_OPTS, state, "gradient",
                                 list, err);
}
static void gblm_free(void *state) { free(state); }

// One row's scores. scale == NULL: the gradient-only metric.
static void score_row(size_t cols, const float *w, const float *scale,
                      const float *g, int inv, float *out) {
    for (size_t j = 0; j < cols; j++) {
        float aw = fabsf(w[j]), ag = fabsf(g[j]);
        if (!scale) {
            out[j] = inv ? aw * (1.0f / (ag + 1e-8f)) : aw * ag;
        } else {
            float a = aw * scale[j];
            out[j] = inv ? a * (1.0f / (ag + 1e-8f)) : a + aw * ag;
        }
    }
}

struct sel_ctx {
    const struct cpr_matrix *m;
    const float *scale, *grad; // grad (rows, cols) contiguous
    int inv;
    const struct cpr_prune_target *t;
    uint8_t *mask;
    const struct cpr_kernels *k;
    unsigned char *scratch;
    size_t per_thread;
};

static void sel_worker(void *vctx, size_t ith, size_t nth) {
    struct sel_ctx *c = vctx;
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
        score_row(cols, w, c->scale, c->grad + r * cols, c->inv, score);
        if (c->t->nm_m)
            c->k->nm_mask_f32(cols, c->t->nm_n, c->t->nm_m, score, mk);
        else
            c->k->select_smallest_f32(cols, kcount, score, mk, idx);
        for (size_t j = 0; j < cols; j++)
            if (mk[j]) w[j] = 0.0f;
    }
}

static const float *grad_of(const struct gblm_state *s,
                            const struct cpr_linear_stats *st) {
    if (!st) return NULL;
    return s->norm ? st->grad_l1 : st->grad_l2;
}

static enum cpr_status prune_common(const char *name, int with_act,
                                    const void *state,
                                    const struct cpr_matrix *m,
                                    struct cpr_linear_stats *stats,
                                    const struct cpr_prune_target *t,
                                    uint8_t *mask, struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_err *err) {
    const struct gblm_state *s = state;
    if (!k) k = cpr_kernels_get();
    int dense;
    CPR_TRY(cpr_prune_open(name, m, stats,
                           with_act ? CPR_NEED_COLSUMSQ : 0u, t, mask, &dense,
                           err));
    if (dense) return CPR_OK;
    const float *g = grad_of(s, stats);
    if (!g)
        return cpr_err_set(err, CPR_ERR_ARG, "%s: %s: no gradient norms "
                           "(%s); the pipeline's gradient pre-pass fills "
                           "them", name, cpr_matrix_label(m),
                           s->norm ? "l1" : "l2");
    size_t cols = m->cols, nth = cpr_pool_size(pool);
    size_t per = (cols * 9 + 63) / 64 * 64;
    float *scale = NULL;
    if (with_act) {
        scale = malloc((cols ? cols : 1) * sizeof *scale);
        if (!scale)
            return cpr_err_set(err, CPR_ERR_NOMEM, "%s: %s", name,
                               cpr_matrix_label(m));
        for (size_t j = 0; j < cols; j++) scale[j] = sqrtf(stats->scaler_row[j]);
    }
    unsigned char *scratch = malloc(per * nth + 64);
    if (!scratch) {
        free(scale);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: %s: selection scratch of "
                           "%zu bytes", name, cpr_matrix_label(m), per * nth);
    }
    struct sel_ctx c = {m, scale, g, s->inv, t, mask, k, scratch, per};
    cpr_pool_run(pool, sel_worker, &c);
    free(scratch);
    free(scale);
    return CPR_OK;
}

static enum cpr_status gblm_prune(const void *state, const struct cpr_matrix *m,
                                  struct cpr_linear_stats *stats,
                                  const struct cpr_prune_target *t,
                                  uint8_t *mask, struct cpr_pool *pool,
                                  const struct cpr_kernels *k,
                                  struct cpr_err *err) {
    return prune_common("gblm", 1, state, m, stats, t, mask, pool, k, err);
}

static enum cpr_status gradient_prune(const void *state,
                                      const struct cpr_matrix *m,
                                      struct cpr_linear_stats *stats,
                                      const struct cpr_prune_target *t,
                                      uint8_t *mask, struct cpr_pool *pool,
                                      const struct cpr_kernels *k,
                                      struct cpr_err *err) {
    return prune_common("gradient", 0, state, m, stats, t, mask, pool, k,
                        err);
}

static enum cpr_status scores_common(const char *name, int with_act,
                                     const void *state,
                                     const struct cpr_matrix *m,
                                     const struct cpr_linear_stats *stats,
                                     float *out, struct cpr_err *err) {
    const struct gblm_state *s = state;
    const float *g = grad_of(s, stats);
    if (!g || stats->n_cols != m->cols || (with_act && !stats->scaler_row))
        return cpr_err_set(err, CPR_ERR_ARG, "%s: scores need %sgradient "
                           "norms", name, with_act ? "scaler_row and " : "");
    float *scale = NULL;
    if (with_act) {
        scale = malloc((m->cols ? m->cols : 1) * sizeof *scale);
        if (!scale) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: scores", name);
        for (size_t j = 0; j < m->cols; j++)
            scale[j] = sqrtf(stats->scaler_row[j]);
    }
    for (size_t r = 0; r < m->rows; r++)
        score_row(m->cols, m->w + r * m->ld, scale, g + r * m->cols, s->inv,
                  out + r * m->cols);
    free(scale);
    return CPR_OK;
}

static enum cpr_status gblm_scores(const void *state,
                                   const struct cpr_matrix *m,
                                   const struct cpr_linear_stats *stats,
                                   float *out, struct cpr_err *err) {
    return scores_common("gblm", 1, state, m, stats, out, err);
}
static enum cpr_status gradient_scores(const void *state,
                                       const struct cpr_matrix *m,
                                       const struct cpr_linear_stats *stats,
                                       float *out, struct cpr_err *err) {
    return scores_common("gradient", 0, state, m, stats, out, err);
}

const struct cpr_method cpr_method_gblm = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "gblm",
    .summary = "GBLM-Pruner: |W| * ||X_j||_2 + |W| * G, G from a dense "
               "gradient pre-pass (l2 of 100*g per window); per row; N:M",
    .needs = CPR_NEED_COLSUMSQ | CPR_NEED_GRAD,
    .opts = gblm_opts,
    .n_opts = N_GBLM_OPTS,
    .init = gblm_init,
    .parse_opts = gblm_parse,
    .prune_matrix = gblm_prune,
    .free = gblm_free,
    .scores = gblm_scores,
};

const struct cpr_method cpr_method_gradient = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "gradient",
    .summary = "GBLM's ablation: |W| * G alone (G as gblm); per row; N:M",
    .needs = CPR_NEED_GRAD,
    .opts = gblm_opts,
    .n_opts = N_GBLM_OPTS,
    .init = gradient_init,
    .parse_opts = gradient_parse,
    .prune_matrix = gradient_prune,
    .free = gblm_free,
    .scores = gradient_scores,
};
