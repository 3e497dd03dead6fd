// core/struct_plan.c: check and apply a width-structured plan
// (core/struct_plan.h). Gathers copy raw bytes in the tensor's dtype.
#include "core/struct_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum cpr_status cpr_struct_plan_init(struct cpr_struct_plan *p,
                                     const struct cpr_model *m,
                                     struct cpr_err *err) {
    memset(p, 0, sizeof *p);
    p->layers = calloc((size_t)m->cfg.n_layers, sizeof *p->layers);
    if (!p->layers)
        return cpr_err_set(err, CPR_ERR_NOMEM, "structured plan: out of "
                           "memory for %lld layers",
                           (long long)m->cfg.n_layers);
    p->n_layers = m->cfg.n_layers;
    for (int64_t l = 0; l < p->n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        p->layers[l].n_kv = sh.n_kv_heads;
        p->layers[l].n_ch = sh.intermediate;
    }
    return CPR_OK;
}

void cpr_struct_plan_free(struct cpr_struct_plan *p) {
    for (int64_t l = 0; p->layers && l < p->n_layers; l++) {
        free(p->layers[l].keep_kv);
        free(p->layers[l].keep_ch);
        free(p->layers[l].o_bias);
        free(p->layers[l].down_bias);
    }
    free(p->layers);
    memset(p, 0, sizeof *p);
}

static int64_t count_kept(const uint8_t *keep, int64_t n) {
    if (!keep) return n;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += keep[i] != 0;
    return k;
}

int64_t cpr_struct_plan_kept_kv(const struct cpr_struct_plan *p,
                                const struct cpr_model *m, int64_t layer) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, layer);
    return count_kept(p->layers[layer].keep_kv, sh.n_kv_heads);
}

int64_t cpr_struct_plan_kept_ch(const struct cpr_struct_plan *p,
                                const struct cpr_model *m, int64_t layer) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, layer);
    return count_kept(p->layers[layer].keep_ch, sh.intermediate);
}

int64_t cpr_struct_plan_linear_params(const struct cpr_struct_plan *p,
                                      const struct cpr_model *m) {
    const int64_t h = m->cfg.hidden;
    const int gated = m->cfg.block.mlp == CPR_MLP_SWIGLU ||
                      m->cfg.block.mlp == CPR_MLP_GEGLU_TANH;
    int64_t n = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const int64_t rep = sh.n_heads / sh.n_kv_heads;
        const int64_t kv = cpr_struct_plan_kept_kv(p, m, l);
        const int64_t ch = cpr_struct_plan_kept_ch(p, m, l);
        // q and o: kv * rep heads; k and v: kv heads (fused q/k/v: the
        // same rows in one matrix)
        n += 2 * h * kv * rep * sh.head_dim + 2 * h * kv * sh.head_dim;
        n += (gated ? 3 : 2) * h * ch;
    }
    return n;
}

static int vec_finite(const float *v, int64_t n) {
    for (int64_t i = 0; v && i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

enum cpr_status cpr_struct_plan_check(const struct cpr_struct_plan *p,
                                      const struct cpr_model *m,
                                      struct cpr_err *err) {
    if (p->n_layers != m->cfg.n_layers || !p->layers)
        return cpr_err_set(err, CPR_ERR_ARG, "structured plan: %lld layers, "
                           "the model has %lld", (long long)p->n_layers,
                           (long long)m->cfg.n_layers);
    for (int64_t l = 0; l < p->n_layers; l++) {
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "structured plan: "
                               "layer %lld has a removed sub-block",
                               (long long)l);
        if (cpr_struct_plan_kept_kv(p, m, l) < 1)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "structured plan: "
                               "layer %lld keeps no KV group of %lld; removing "
                               "a whole attention sub-block is depth pruning",
                               (long long)l, (long long)sh.n_kv_heads);
        if (cpr_struct_plan_kept_ch(p, m, l) < 1)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "structured plan: "
                               "layer %lld keeps no MLP channel of %lld; "
                               "removing a whole MLP is depth pruning",
                               (long long)l, (long long)sh.intermediate);
        if (!vec_finite(lp->o_bias, m->cfg.hidden) ||
            !vec_finite(lp->down_bias, m->cfg.hidden))
            return cpr_err_set(err, CPR_ERR_ARG, "structured plan: layer "
                               "%lld: a compensation bias is not finite",
                               (long long)l);
        const struct cpr_layer *L = &m->layers[l];
        const struct cpr_tensor *ts[] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                         &L->w_gate, &L->w_up, &L->w_down,
                                         &L->wqkv};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            if (ts[i]->sparse)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "structured "
                                   "plan: layer %lld holds a compressed "
                                   "weight; decompress it first",
                                   (long long)l);
    }
    return CPR_OK;
}

// ---- gathers ----

// dst = the rows of src (1-D or 2-D) in the kept units of `unit` rows each.
// An unset src stays unset.
static enum cpr_status gather_rows(struct cpr_tensor *t, const uint8_t *keep,
                                   int64_t n_units, int64_t unit,
                                   struct cpr_err *err) {
    if (!t->data || !keep) return CPR_OK;
    const size_t es = cpr_dtype_size(t->dtype);
    const int64_t cols = t->ndim == 2 ? t->shape[1] : 1;
    const int64_t ld = t->ndim == 2 ? t->stride[0] : 1;
    const int64_t kept = count_kept(keep, n_units);
    int64_t shape[2] = {kept * unit, cols};
    struct cpr_tensor o;
    CPR_TRY(cpr_tensor_alloc(&o, t->dtype, t->ndim, shape, err));
    char *dst = o.data;
    const char *src = t->data;
    for (int64_t u = 0; u < n_units; u++) {
        if (!keep[u]) continue;
        for (int64_t r = u * unit; r < (u + 1) * unit; r++) {
            memcpy(dst, src + (size_t)(r * ld) * es, (size_t)cols * es);
            dst += (size_t)cols * es;
        }
    }
    cpr_tensor_free(t);
    *t = o;
    return CPR_OK;
}

// dst = the columns of 2-D src in the kept units of `unit` columns each.
static enum cpr_status gather_cols(struct cpr_tensor *t, const uint8_t *keep,
                                   int64_t n_units, int64_t unit,
                                   struct cpr_err *err) {
    if (!t->data || !keep) return CPR_OK;
    const size_t es = cpr_dtype_size(t->dtype);
    const int64_t rows = t->shape[0], kept = count_kept(keep, n_units);
    int64_t shape[2] = {rows, kept * unit};
    struct cpr_tensor o;
    CPR_TRY(cpr_tensor_alloc(&o, t->dtype, 2, shape, err));
    char *dst = o.data;
    const char *src = t->data;
    for (int64_t r = 0; r < rows; r++) {
        const char *row = src + (size_t)(r * t->stride[0]) * es;
        for (int64_t u = 0; u < n_units; u++) {
            if (!keep[u]) continue;
            memcpy(dst, row + (size_t)(u * unit) * es, (size_t)unit * es);
            dst += (size_t)unit * es;
        }
    }
    cpr_tensor_free(t);
    *t = o;
    return CPR_OK;
}

// bias (hidden) = existing bias (any dtype, or none) + add, as owned f32.
static enum cpr_status add_bias(struct cpr_tensor *b, const float *add,
                                int64_t h, struct cpr_err *err) {
    if (!add) return CPR_OK;
    struct cpr_tensor o;
    CPR_TRY(cpr_tensor_alloc(&o, CPR_DTYPE_F32, 1, &h, err));
    float *d = o.data;
    if (b->data) {
        struct cpr_tensor f;
        enum cpr_status s = cpr_tensor_copy_f32(&f, b, err);
        if (s) {
            cpr_tensor_free(&o);
            return s;
        }
        memcpy(d, f.data, (size_t)h * sizeof *d);
        cpr_tensor_free(&f);
    }
    for (int64_t i = 0; i < h; i++) d[i] += add[i];
    cpr_tensor_free(b);
    *b = o;
    return CPR_OK;
}

// Fused q/k/v (multi-head: a KV group is one head). GPT-NeoX's per-head
// [q k v] rows: a head is 3 * hd consecutive rows; GPT-2's q | k | v: a head
// is hd rows in each of the three thirds, so the kept-head mask is
// repeated three times over units of hd rows. Weight and bias alike.
static enum cpr_status gather_qkv(const struct cpr_model *m,
                                  struct cpr_layer *L, const uint8_t *kv,
                                  int64_t nkv, int64_t hd,
                                  struct cpr_err *err) {
    if (!kv || m->cfg.block.qkv == CPR_QKV_SEPARATE) return CPR_OK;
    if (m->cfg.block.qkv == CPR_QKV_FUSED_HEADS) {
        CPR_TRY(gather_rows(&L->wqkv, kv, nkv, 3 * hd, err));
        return gather_rows(&L->bqkv, kv, nkv, 3 * hd, err);
    }
    uint8_t *k3 = malloc((size_t)(3 * nkv));
    if (!k3) return cpr_err_set(err, CPR_ERR_NOMEM, "structured plan: mask");
    for (int64_t i = 0; i < 3; i++) memcpy(k3 + i * nkv, kv, (size_t)nkv);
    enum cpr_status s = gather_rows(&L->wqkv, k3, 3 * nkv, hd, err);
    if (!s) s = gather_rows(&L->bqkv, k3, 3 * nkv, hd, err);
    free(k3);
    return s;
}

enum cpr_status cpr_struct_plan_apply(const struct cpr_struct_plan *p,
                                      struct cpr_model *m,
                                      struct cpr_err *err) {
    CPR_TRY(cpr_struct_plan_check(p, m, err));
    const int64_t h = m->cfg.hidden;
    for (int64_t l = 0; l < p->n_layers; l++) {
        const struct cpr_struct_layer_plan *lp = &p->layers[l];
        struct cpr_layer *L = &m->layers[l];
        struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        const int64_t hd = sh.head_dim, rep = sh.n_heads / sh.n_kv_heads;
        const int64_t nkv = sh.n_kv_heads, im = sh.intermediate;
        const uint8_t *kv = lp->keep_kv, *ch = lp->keep_ch;
        CPR_TRY(gather_rows(&L->wq, kv, nkv, rep * hd, err));
        CPR_TRY(gather_rows(&L->bq, kv, nkv, rep * hd, err));
        CPR_TRY(gather_rows(&L->wk, kv, nkv, hd, err));
        CPR_TRY(gather_rows(&L->bk, kv, nkv, hd, err));
        CPR_TRY(gather_rows(&L->wv, kv, nkv, hd, err));
        CPR_TRY(gather_rows(&L->bv, kv, nkv, hd, err));
        CPR_TRY(gather_qkv(m, L, kv, nkv, hd, err));
        CPR_TRY(gather_cols(&L->wo, kv, nkv, rep * hd, err));
        CPR_TRY(gather_rows(&L->w_gate, ch, im, 1, err));
        CPR_TRY(gather_rows(&L->w_up, ch, im, 1, err));
        CPR_TRY(gather_rows(&L->b_up, ch, im, 1, err));
        CPR_TRY(gather_cols(&L->w_down, ch, im, 1, err));
        CPR_TRY(add_bias(&L->bo, lp->o_bias, h, err));
        CPR_TRY(add_bias(&L->b_down, lp->down_bias, h, err));
        const int64_t kept_kv = count_kept(kv, nkv);
        sh.n_kv_heads = kept_kv;
        sh.n_heads = kept_kv * rep;
        sh.intermediate = count_kept(ch, im);
        sh.has_attn = sh.has_mlp = 1;
        L->shape = sh;
    }
    return CPR_OK;
}
