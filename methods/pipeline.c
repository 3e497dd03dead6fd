// methods/pipeline.c: the layer-wise sequential pruning pipeline (contract
// in pipeline.h).
#include "methods/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arch_name.h"
#include "core/backward.h"
#include "core/forward.h"
#include "methods/calib_compute.h"
#include "methods/calib_store.h"
#include "methods/gradstats.h"
#include "methods/magnitude.h"
#include "methods/magnitude_hist.h"
#include "methods/pipe_diag.h"
#include "methods/stats.h"

#define STAT_BITS (CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN | CPR_NEED_COLMEANVAR)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cpr_pipe_report_free(struct cpr_pipe_report *rep) {
    if (!rep) return;
    free(rep->zeros);
    free(rep->numel);
    free(rep->alloc);
    free(rep->recon_err);
    free(rep->score_q);
    rep->score_q = NULL;
    free(rep->row_dev_mean);
    free(rep->row_dev_max);
    free(rep->block_sec);
    rep->block_sec = NULL;
    rep->row_dev_mean = rep->row_dev_max = NULL;
    rep->zeros = rep->numel = NULL;
    rep->alloc = NULL;
    rep->recon_err = NULL;
}

// ---- weights ----

// Zeros in a 2-D contiguous tensor of any dtype (+0 and -0 both count).
static int64_t tensor_zeros(const struct cpr_tensor *t,
                            const struct cpr_kernels *k) {
    const int64_t n = cpr_tensor_numel(t);
    if (t->dtype == CPR_DTYPE_F32)
        return (int64_t)k->count_zeros_f32((size_t)n, t->data);
    const uint16_t *h = t->data;
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++) z += (h[i] & 0x7fffu) == 0;
    return z;
}

// Replace *t by an owned, writable, contiguous f32 tensor with the same
// values (no copy when it already is one).
static enum cpr_status make_f32_writable(struct cpr_tensor *t,
                                         struct cpr_err *err) {
    if (t->dtype == CPR_DTYPE_F32 && t->owns_data && !t->readonly &&
        cpr_tensor_is_contiguous(t))
        return CPR_OK;
    struct cpr_tensor c = {0};
    CPR_TRY(cpr_tensor_copy_f32(&c, t, err));
    cpr_tensor_free(t);
    *t = c;
    return CPR_OK;
}

// Round an owned f32 tensor back to `dt` (bf16/f16, nearest even).
static enum cpr_status restore_dtype(struct cpr_tensor *t, enum cpr_dtype dt,
                                     const struct cpr_kernels *k,
                                     struct cpr_err *err) {
    if (dt == CPR_DTYPE_F32) return CPR_OK;
    struct cpr_tensor c = {0};
    CPR_TRY(cpr_tensor_alloc(&c, dt, t->ndim, t->shape, err));
    const size_t n = (size_t)cpr_tensor_numel(t);
    if (dt == CPR_DTYPE_BF16) k->f32_to_bf16(n, t->data, c.data);
    else k->f32_to_f16(n, t->data, c.data);
    cpr_tensor_free(t);
    *t = c;
    return CPR_OK;
}

// Linears per block: the stride of every per-linear array.
static int64_t per_layer(const struct cpr_model *m) {
    return cpr_model_linears_per_layer(m);
}

// Block `layer`'s linear table (core/model.h); cpr_layer_linears takes a
// non-const model, it only indexes.
static int table_of(const struct cpr_model *m, int64_t layer,
                    struct cpr_linear_ref *r) {
    return cpr_layer_linears((struct cpr_model *)m, layer, r, CPR_MAX_LINEARS);
}

static struct cpr_prune_target target_of(const struct cpr_pipe_opts *o,
                                         int64_t pl, int64_t layer, int j) {
    return o->per_linear ? o->per_linear[layer * pl + j] : o->target;
}

static void name_of(char *buf, size_t cap, int64_t layer,
                    const struct cpr_linear_ref *r) {
    snprintf(buf, cap, "layers.%lld.%s", (long long)layer, r->name);
}

// The matrix view of an f32 contiguous weight, labelled and grouped.
static struct cpr_matrix matrix_of(const struct cpr_tensor *t,
                                   const char *name,
                                   const struct cpr_linear_ref *r) {
    return (struct cpr_matrix){
        .name = name, .w = t->data, .rows = (size_t)t->shape[0],
        .cols = (size_t)t->shape[1], .ld = (size_t)t->shape[1],
        .group = cpr_role_group_of(r->role) == CPR_GROUP_MLP
                     ? CPR_MATRIX_GROUP_MLP : CPR_MATRIX_GROUP_ATTN};
}

// Diagnostics: min, quartiles and max (nearest rank: the ceil(q n)-th
// smallest) of the method's scores of m, before pruning. A method whose
// scores entry answers CPR_ERR_UNSUPPORTED for this configuration gets NaN
// quantiles (left out of the JSON), not an error.
static enum cpr_status score_quantiles(const struct cpr_method *md,
                                       const void *state,
                                       const struct cpr_matrix *m,
                                       const struct cpr_linear_stats *ls,
                                       const struct cpr_kernels *k,
                                       double *q5, struct cpr_err *err) {
    const size_t n = m->rows * m->cols;
    float *sc = malloc(n * sizeof *sc);
    uint32_t *scratch = malloc(n * sizeof *scratch);
    enum cpr_status s = CPR_OK;
    if (!sc || !scratch)
        s = cpr_err_set(err, CPR_ERR_NOMEM, "diagnostics: %zu scores", n);
    if (!s) s = md->scores(state, m, ls, sc, err);
    if (s == CPR_ERR_UNSUPPORTED) { // e.g. owl over a base without scores:
        for (int q = 0; q < 5; q++) q5[q] = NAN; // no distribution, no error
        cpr_err_clear(err);
        s = CPR_OK;
    } else {
        for (int q = 0; q < 5 && !s; q++) {
            size_t kk = (size_t)ceil((double)n * q / 4.0);
            if (kk < 1) kk = 1;
            if (kk > n) kk = n;
            q5[q] = k->kth_smallest_f32(n, kk, sc, scratch);
        }
    }
    free(sc);
    free(scratch);
    return s;
}

// Prune linear j of block `layer` with statistics `ls` (NULL: none).
static enum cpr_status prune_one(struct cpr_model *m, int64_t layer, int j,
                                 const struct cpr_linear_ref *ref,
                                 const struct cpr_pipe_opts *o,
                                 struct cpr_linear_stats *ls,
                                 struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_pipe_report *rep,
                                 struct cpr_err *err) {
    struct cpr_tensor *t = ref->w;
    const enum cpr_dtype dt = t->dtype;
    const int64_t pl = per_layer(m);
    char name[64];
    name_of(name, sizeof name, layer, ref);
    struct cpr_prune_target tg = target_of(o, pl, layer, j);
    CPR_TRY(make_f32_writable(t, err));
    struct cpr_matrix mat = matrix_of(t, name, ref);
    const int64_t i = layer * pl + j;
    if (o->diagnostics && rep->score_q && o->method->abi_version >= 2 &&
        o->method->scores)
        CPR_TRY(score_quantiles(o->method, o->method_state, &mat, ls, k,
                                rep->score_q + 5 * i, err));
    double t0 = now_s();
    enum cpr_status s = o->method->prune_matrix(o->method_state, &mat, ls, &tg,
                                                NULL, pool, k, err);
    rep->sec_prune += now_s() - t0;
    if (s != CPR_OK) return s;
    if (!tg.nm_m && rep->row_dev_mean) { // per-row sparsity vs the target
        const double want = (double)(int64_t)((double)mat.cols * tg.sparsity);
        double sum = 0.0, mx = 0.0;
        for (size_t r = 0; r < mat.rows; r++) {
            size_t z = k->count_zeros_f32(mat.cols, mat.w + r * mat.ld);
            double dev = fabs((double)z - want) / (double)mat.cols;
            sum += dev;
            if (dev > mx) mx = dev;
        }
        rep->row_dev_mean[i] = sum / (double)mat.rows;
        rep->row_dev_max[i] = mx;
    }
    CPR_TRY(restore_dtype(t, dt, k, err));
    rep->zeros[i] = tensor_zeros(t, k);
    rep->numel[i] = cpr_tensor_numel(t);
    return CPR_OK;
}

enum cpr_status cpr_model_sparsity(const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pipe_report *rep,
                                   struct cpr_err *err) {
    if (!k) k = cpr_kernels_get();
    const int64_t pl = per_layer(m), n = m->cfg.n_layers * pl;
    rep->n_layers = m->cfg.n_layers;
    rep->per_layer = (int)pl;
    {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        table_of(m, 0, r);
        for (int j = 0; j < pl; j++)
            rep->lin_name[j] = r[j].name, rep->lin_role[j] = r[j].role;
    }
    if (!rep->zeros) rep->zeros = calloc((size_t)n, sizeof *rep->zeros);
    if (!rep->numel) rep->numel = calloc((size_t)n, sizeof *rep->numel);
    if (!rep->zeros || !rep->numel)
        return cpr_err_set(err, CPR_ERR_NOMEM, "sparsity: %lld counters",
                           (long long)n);
    rep->zeros_total = rep->numel_total = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        for (int j = 0; j < nl; j++) {
            const int64_t i = l * pl + j;
            rep->zeros[i] = tensor_zeros(r[j].w, k);
            rep->numel[i] = cpr_tensor_numel(r[j].w);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        rep->zeros_total += rep->zeros[i];
        rep->numel_total += rep->numel[i];
    }
    rep->sparsity = rep->numel_total
                        ? (double)rep->zeros_total / (double)rep->numel_total
                        : 0.0;
    return CPR_OK;
}

static void totals(struct cpr_pipe_report *rep) {
    rep->zeros_total = rep->numel_total = 0;
    for (int64_t i = 0; i < rep->n_layers * rep->per_layer; i++) {
        rep->zeros_total += rep->zeros[i];
        rep->numel_total += rep->numel[i];
    }
    rep->sparsity = rep->numel_total
                        ? (double)rep->zeros_total / (double)rep->numel_total
                        : 0.0;
}

static double block_sparsity(const struct cpr_pipe_report *rep, int64_t l) {
    int64_t z = 0, n = 0;
    for (int j = 0; j < rep->per_layer; j++) {
        z += rep->zeros[l * rep->per_layer + j];
        n += rep->numel[l * rep->per_layer + j];
    }
    return n ? (double)z / (double)n : 0.0;
}

static void report(const struct cpr_pipe_opts *o, enum cpr_pipe_phase ph,
                   int64_t block, int64_t n_blocks, double t_start,
                   const struct cpr_pipe_report *rep) {
    if (!o->progress) return;
    struct cpr_pipe_progress p = {
        .phase = ph, .block = block, .n_blocks = n_blocks,
        .seconds = now_s() - t_start,
        .block_sparsity =
            ph == CPR_PIPE_PRUNE ? block_sparsity(rep, block) : 0.0};
    o->progress(o->progress_user, &p);
}

// ---- no calibration: magnitude and friends ----

static enum cpr_status block_finished(struct cpr_model *m, int64_t l,
                                      const struct cpr_pipe_opts *o,
                                      const struct cpr_kernels *k,
                                      struct cpr_pipe_report *rep,
                                      struct cpr_err *err);

// The threshold comes from histograms over the weights as they are
// (mapped, any dtype: methods/magnitude_hist.h); then one block at a time
// is copied to f32, pruned, rounded back and finished (written and
// released when streaming), so no f32 copy of the model is ever held.
static enum cpr_status prune_global_magnitude(struct cpr_model *m,
                                              const struct cpr_pipe_opts *o,
                                              struct cpr_pool *pool,
                                              const struct cpr_kernels *k,
                                              struct cpr_pipe_report *rep,
                                              struct cpr_err *err) {
    const int64_t pl = per_layer(m), n = m->cfg.n_layers * pl;
    const struct cpr_tensor **ws = calloc((size_t)n, sizeof *ws);
    float *thresh = calloc((size_t)n, sizeof *thresh);
    size_t *cap = calloc((size_t)n, sizeof *cap);
    enum cpr_status s = CPR_OK;
    if (!ws || !thresh || !cap) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "global magnitude: plan");
        goto out;
    }
    if (o->target.nm_m) {
        s = cpr_err_set(err, CPR_ERR_ARG, "magnitude: group=global takes "
                        "--sparsity, not an N:M pattern");
        goto out;
    }
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        for (int j = 0; j < nl; j++) ws[l * pl + j] = r[j].w;
    }
    double t0 = now_s();
    s = cpr_magnitude_global_plan_tensors(
        pool, (size_t)n, ws, o->target.sparsity,
        cpr_magnitude_min_density(o->method_state), thresh, cap, err);
    rep->sec_prune += now_s() - t0;
    for (int64_t l = 0; l < m->cfg.n_layers && !s; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        for (int j = 0; j < nl && !s; j++) {
            const int64_t i = l * pl + j;
            struct cpr_tensor *t = r[j].w;
            const enum cpr_dtype dt = t->dtype;
            char name[64];
            name_of(name, sizeof name, l, &r[j]);
            if ((s = make_f32_writable(t, err))) break;
            struct cpr_matrix mat = matrix_of(t, name, &r[j]);
            t0 = now_s();
            s = cpr_magnitude_global_apply(&mat, thresh[i], cap[i], NULL,
                                           pool, k, err);
            rep->sec_prune += now_s() - t0;
            if (!s) s = restore_dtype(t, dt, k, err);
            rep->zeros[i] = tensor_zeros(t, k);
            rep->numel[i] = cpr_tensor_numel(t);
        }
        if (!s) s = block_finished(m, l, o, k, rep, err);
    }
out:
    free(ws);
    free(thresh);
    free(cap);
    return s;
}

// ---- calibration state ----

struct calib {
    struct cpr_forward f;
    size_t elsize;     // 4 (f32) or 2 (bf16) per activation
    void *inps; // (nsamples * seqlen, hidden), updated in place per block
    struct cpr_calib_store store; // where inps lives
    struct cpr_calib_compute_state cc; // the forward's arithmetic
    float *work;       // (chunk_seq * seqlen, hidden)
    int64_t nsamples, seqlen, chunk, hidden;
    struct cpr_site_stats st[CPR_CAPTURE_SITE_COUNT];
    float *scaler, *hess; // per-linear finish buffers
    double *mean, *var;
    double hook_sec;
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
};

static void calib_free(struct calib *c) {
    cpr_forward_free(&c->f);
    cpr_calib_store_free(&c->store);
    cpr_calib_compute_free(&c->cc);
    c->inps = NULL;
    free(c->work);
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++)
        cpr_site_stats_free(&c->st[s]);
    free(c->scaler);
    free(c->hess);
    free(c->mean);
    free(c->var);
}

static void *act_at(const struct calib *c, void *base, int64_t seq) {
    return (char *)base + (size_t)(seq * c->seqlen * c->hidden) * c->elsize;
}

// work <- activations of windows [i0, i0 + n)
static void load_chunk(struct calib *c, void *base, int64_t i0, int64_t n) {
    const size_t cnt = (size_t)(n * c->seqlen * c->hidden);
    void *src = act_at(c, base, i0);
    if (c->elsize == 4) memcpy(c->work, src, cnt * 4);
    else c->k->bf16_to_f32(cnt, src, c->work);
}

static void store_chunk(struct calib *c, void *base, int64_t i0, int64_t n) {
    const size_t cnt = (size_t)(n * c->seqlen * c->hidden);
    void *dst = act_at(c, base, i0);
    if (c->elsize == 4) memcpy(dst, c->work, cnt * 4);
    else c->k->f32_to_bf16(cnt, c->work, dst);
}

static enum cpr_status on_capture(void *user, const struct cpr_capture *cap,
                                  struct cpr_err *err) {
    struct calib *c = user;
    double t0 = now_s();
    enum cpr_status s = cpr_site_stats_add(
        &c->st[cap->site], cap->x, (size_t)cap->n_rows, (size_t)cap->ld,
        (size_t)cap->n_seq, c->pool, c->k, err);
    c->hook_sec += now_s() - t0;
    return s;
}

// Columns of a site's input for one layer shape.
static int64_t site_cols_of(const struct cpr_model *m,
                            const struct cpr_layer_shape *sh, int site) {
    switch (site) {
    case CPR_CAPTURE_O_IN: return sh->n_heads * sh->head_dim;
    case CPR_CAPTURE_DOWN_IN: return sh->intermediate;
    default: return m->cfg.hidden;
    }
}

// Largest over layers: the statistics buffers are sized once for it.
static int64_t site_cols(const struct cpr_model *m, int site) {
    const struct cpr_layer_shape mx = cpr_model_max_shape(m);
    return site_cols_of(m, &mx, site);
}

// Empty every site's statistics for block l, at that block's widths (a
// narrower layer uses the leading part of the buffers sized by site_cols).
static void stats_reset_for(struct calib *c, const struct cpr_model *m,
                            int64_t l) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
    for (int st = 0; st < CPR_CAPTURE_SITE_COUNT; st++) {
        c->st[st].n_cols = (size_t)site_cols_of(m, &sh, st);
        cpr_site_stats_reset(&c->st[st]);
    }
}

static enum cpr_status calib_init(struct calib *c, const struct cpr_model *m,
                                  int64_t nsamples, int64_t seqlen,
                                  unsigned needs,
                                  const struct cpr_pipe_opts *o,
                                  struct cpr_pool *pool,
                                  const struct cpr_kernels *k,
                                  struct cpr_pipe_report *rep,
                                  struct cpr_err *err) {
    const struct cpr_model_config *cfg = &m->cfg;
    c->nsamples = nsamples;
    c->seqlen = seqlen;
    c->hidden = cfg->hidden;
    c->pool = pool;
    c->k = k;
    c->elsize = o->calib_bf16 ? 2 : 4;
    c->chunk = o->chunk_seq > 0 ? o->chunk_seq : 4096 / seqlen;
    if (c->chunk < 1) c->chunk = 1;
    if (c->chunk > nsamples) c->chunk = nsamples;
    const size_t act = (size_t)(nsamples * seqlen * cfg->hidden) * c->elsize;
    rep->activation_bytes = act;
    CPR_TRY(cpr_calib_store_alloc(&c->store, act, o->calib_scratch, err));
    c->inps = c->store.data;
    c->work = malloc((size_t)(c->chunk * seqlen * cfg->hidden) * sizeof(float));
    if (!c->work)
        return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: calibration "
                           "activations, %zu bytes (nsamples %lld x "
                           "seqlen %lld x hidden %lld; --calib-dtype bf16 "
                           "halves it)", act, (long long)nsamples,
                           (long long)seqlen, (long long)cfg->hidden);
    CPR_TRY(cpr_forward_init(&c->f, m, k, pool, c->chunk, seqlen, err));
    CPR_TRY(cpr_calib_compute_init(&c->cc, (enum cpr_calib_compute)
                                   o->calib_compute, m, k, err));
    c->f.model = cpr_calib_compute_model(&c->cc); // same shapes as m
    c->f.k = cpr_calib_compute_kernels(&c->cc, k);
    needs &= STAT_BITS;
    int64_t maxc = 0;
    rep->stats_bytes = 0;
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) {
        const int64_t n = site_cols(m, s);
        if (n > maxc) maxc = n;
        CPR_TRY(cpr_site_stats_init(&c->st[s], (size_t)n, needs,
                                    o->hessian_f64, err));
        rep->stats_bytes += cpr_site_stats_bytes((size_t)n, needs,
                                                 o->hessian_f64);
    }
    const size_t mc = (size_t)maxc;
    if (needs & CPR_NEED_COLSUMSQ) c->scaler = malloc(mc * sizeof *c->scaler);
    if (needs & CPR_NEED_HESSIAN) c->hess = malloc(mc * mc * sizeof *c->hess);
    if (needs & CPR_NEED_COLMEANVAR) {
        c->mean = malloc(mc * sizeof *c->mean);
        c->var = malloc(mc * sizeof *c->var);
    }
    if (((needs & CPR_NEED_COLSUMSQ) && !c->scaler) ||
        ((needs & CPR_NEED_HESSIAN) && !c->hess) ||
        ((needs & CPR_NEED_COLMEANVAR) && (!c->mean || !c->var)))
        return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: statistics buffers "
                           "for %zu columns", mc);
    if (c->hess) rep->stats_bytes += mc * mc * sizeof *c->hess;
    return CPR_OK;
}

// Run windows [0, nsamples) of `src` through block l; with a hook, only
// statistics are wanted; else the outputs go to `dst`.
static enum cpr_status run_block(struct calib *c, int64_t l, void *src,
                                 void *dst, const struct cpr_block_hook *hook,
                                 struct cpr_pipe_report *rep,
                                 struct cpr_err *err) {
    CPR_TRY(cpr_calib_compute_block(&c->cc, l, c->k, err));
    for (int64_t i0 = 0; i0 < c->nsamples; i0 += c->chunk) {
        const int64_t n =
            c->nsamples - i0 < c->chunk ? c->nsamples - i0 : c->chunk;
        load_chunk(c, src, i0, n);
        double h0 = c->hook_sec, t0 = now_s();
        CPR_TRY(cpr_forward_block(&c->f, l, c->work, n, c->seqlen, hook, err));
        rep->sec_forward += now_s() - t0 - (c->hook_sec - h0);
        rep->sec_stats += c->hook_sec - h0;
        if (dst) store_chunk(c, dst, i0, n);
    }
    return CPR_OK;
}

// inps <- the embeddings of every window (block 0's inputs).
static enum cpr_status embed_all(struct calib *c, const int32_t *windows,
                                 struct cpr_pipe_report *rep,
                                 struct cpr_err *err) {
    for (int64_t i0 = 0; i0 < c->nsamples; i0 += c->chunk) {
        const int64_t n =
            c->nsamples - i0 < c->chunk ? c->nsamples - i0 : c->chunk;
        double t0 = now_s();
        CPR_TRY(cpr_forward_embed(&c->f, windows + i0 * c->seqlen, n,
                                  c->seqlen, c->work, err));
        rep->sec_forward += now_s() - t0;
        store_chunk(c, c->inps, i0, n);
    }
    return CPR_OK;
}

// The dense scan of a layer-allocation method (method.h, version 2):
// statistics and dense outputs in one pass per block, scan() per linear.
static enum cpr_status scan_dense(const struct cpr_model *m,
                                  const int32_t *windows, int64_t nsamples,
                                  int64_t seqlen,
                                  const struct cpr_pipe_opts *o,
                                  struct cpr_pool *pool,
                                  const struct cpr_kernels *k,
                                  struct cpr_pipe_report *rep,
                                  struct cpr_err *err) {
    struct calib c = {0};
    struct cpr_pipe_report tmp = {0}; // scan timings are kept apart
    float *wf = NULL;
    double t0 = now_s();
    enum cpr_status s = calib_init(&c, m, nsamples, seqlen,
                                   o->method->scan_needs, o, pool, k, &tmp,
                                   err);
    if (!s) s = embed_all(&c, windows, &tmp, err);
    const struct cpr_block_hook hook = {.fn = on_capture, .user = &c};
    void *state = (void *)o->method_state; // scan accumulates into it
    for (int64_t l = 0; l < m->cfg.n_layers && !s; l++) {
        stats_reset_for(&c, m, l);
        // in place: each window's outputs depend only on its own inputs
        if ((s = run_block(&c, l, c.inps, c.inps, &hook, &tmp, err))) break;
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        for (int j = 0; j < nl && !s; j++) {
            struct cpr_linear_stats ls;
            s = cpr_site_stats_finish(&c.st[r[j].site], c.scaler, c.hess,
                                      c.mean, c.var, &ls, err);
            if (s) break;
            const struct cpr_tensor *t = r[j].w;
            const size_t R = (size_t)t->shape[0], C = (size_t)t->shape[1];
            float *w = t->data;
            if (t->dtype != CPR_DTYPE_F32 || !cpr_tensor_is_contiguous(t)) {
                free(wf);
                wf = malloc(R * C * sizeof *wf);
                if (!wf) {
                    s = cpr_err_set(err, CPR_ERR_NOMEM, "scan: weights");
                    break;
                }
                for (size_t r = 0; r < R; r++)
                    cpr_tensor_row_f32(t, (int64_t)r, wf + r * C);
                w = wf;
            }
            char name[64];
            name_of(name, sizeof name, l, &r[j]);
            struct cpr_matrix mat = matrix_of(t, name, &r[j]);
            mat.w = w, mat.ld = C;
            (void)R;
            s = o->method->scan(state, l, j, nl, &mat, &ls, err);
        }
    }
    free(wf);
    calib_free(&c);
    rep->sec_scan = now_s() - t0;
    return s;
}

// ---- block range, resume, streaming (pipeline.h) ----

static int64_t block_begin(const struct cpr_pipe_opts *o) {
    return o->block_begin > 0 ? o->block_begin : 0;
}

static int64_t block_end(const struct cpr_pipe_opts *o,
                         const struct cpr_model *m) {
    return o->block_end > 0 && o->block_end < m->cfg.n_layers
               ? o->block_end
               : m->cfg.n_layers;
}

// Block l is over: its seconds are the growth of the totals since the
// previous block's end (pipeline.h, block_sec); report them.
static void block_account(const struct cpr_pipe_opts *o,
                          struct cpr_pipe_report *rep, int64_t l,
                          int64_t n_blocks) {
    const struct cpr_pipe_block_sec cur = {
        .forward = rep->sec_forward, .stats = rep->sec_stats,
        .prune = rep->sec_prune, .diag = rep->sec_diag,
        .write = rep->sec_write};
    const struct cpr_pipe_block_sec *mk = &rep->sec_mark;
    if (rep->block_sec && l >= 0 && l < rep->n_layers)
        rep->block_sec[l] = (struct cpr_pipe_block_sec){
            .forward = cur.forward - mk->forward,
            .stats = cur.stats - mk->stats,
            .prune = cur.prune - mk->prune, .diag = cur.diag - mk->diag,
            .write = cur.write - mk->write};
    rep->sec_mark = cur;
    if (!o->progress || !rep->block_sec) return;
    struct cpr_pipe_progress p = {.phase = CPR_PIPE_DONE, .block = l,
                                  .n_blocks = n_blocks,
                                  .seconds = now_s() - rep->t_start,
                                  .block_sec = &rep->block_sec[l]};
    o->progress(o->progress_user, &p);
}

// Block l is final (pruned, or outside the range): hand it to block_done.
static enum cpr_status block_finished(struct cpr_model *m, int64_t l,
                                      const struct cpr_pipe_opts *o,
                                      const struct cpr_kernels *k,
                                      struct cpr_pipe_report *rep,
                                      struct cpr_err *err) {
    (void)k;
    enum cpr_status s = CPR_OK;
    if (o->block_done) {
        const double t0 = now_s();
        s = o->block_done(o->block_user, m, l, err);
        rep->sec_write += now_s() - t0;
    }
    if (!s) block_account(o, rep, l, m->cfg.n_layers);
    return s;
}

// Block l was finished by an earlier run: load_block puts its weights back;
// its counters are recomputed from them.
static enum cpr_status block_reload(struct cpr_model *m, int64_t l,
                                    const struct cpr_pipe_opts *o,
                                    const struct cpr_kernels *k,
                                    struct cpr_pipe_report *rep,
                                    struct cpr_err *err) {
    if (!o->load_block)
        return cpr_err_set(err, CPR_ERR_ARG, "pipeline: resume_from %lld "
                           "without load_block", (long long)o->resume_from);
    CPR_TRY(o->load_block(o->block_user, m, l, err));
    const int64_t pl = rep->per_layer;
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    const int nl = table_of(m, l, r);
    for (int j = 0; j < nl; j++) {
        rep->zeros[l * pl + j] = tensor_zeros(r[j].w, k);
        rep->numel[l * pl + j] = cpr_tensor_numel(r[j].w);
    }
    return CPR_OK;
}

static enum cpr_status prune_calibrated(struct cpr_model *m,
                                        const int32_t *windows,
                                        int64_t nsamples, int64_t seqlen,
                                        unsigned needs,
                                        struct cpr_gradstats *gs,
                                        const struct cpr_pipe_opts *o,
                                        struct cpr_pool *pool,
                                        const struct cpr_kernels *k,
                                        struct cpr_pipe_report *rep,
                                        double t_start, struct cpr_err *err) {
    struct calib c = {0};
    struct cpr_pipe_diag dg;
    memset(&dg, 0, sizeof dg);
    enum cpr_status s =
        calib_init(&c, m, nsamples, seqlen, needs, o, pool, k, rep, err);
    if (!s) s = embed_all(&c, windows, rep, err);
    if (s) goto out;
    report(o, CPR_PIPE_EMBED, -1, m->cfg.n_layers, t_start, rep);

    const struct cpr_block_hook hook = {.fn = on_capture, .user = &c};
    const int64_t b0 = block_begin(o), b1 = block_end(o, m);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        if (l >= b1) { // past the range: nothing more to compute
            if ((s = block_finished(m, l, o, k, rep, err))) goto out;
            continue;
        }
        if (l < o->resume_from || l < b0) { // done earlier, or kept dense
            if (l < o->resume_from && (s = block_reload(m, l, o, k, rep, err)))
                goto out;
            if (l + 1 < b1 && (s = run_block(&c, l, c.inps, c.inps, NULL,
                                             rep, err)))
                goto out;
            if (l >= o->resume_from && (s = block_finished(m, l, o, k, rep,
                                                           err)))
                goto out;
            report(o, CPR_PIPE_PROPAGATE, l, m->cfg.n_layers, t_start, rep);
            if (l < o->resume_from) block_account(o, rep, l, m->cfg.n_layers);
            continue;
        }
        stats_reset_for(&c, m, l);
        if (o->diagnostics) { // samples the statistics pass's inputs
            if ((s = cpr_pipe_diag_begin(&dg, m, l,
                                         (size_t)(nsamples * seqlen),
                                         needs ? &hook : NULL, pool, k,
                                         err)))
                goto out;
            const struct cpr_block_hook dh = {.fn = cpr_pipe_diag_hook,
                                              .user = &dg};
            if ((s = run_block(&c, l, c.inps, NULL, &dh, rep, err)))
                goto out;
        } else if (needs &&
                   (s = run_block(&c, l, c.inps, NULL, &hook, rep, err))) {
            goto out;
        }
        report(o, CPR_PIPE_STATS, l, m->cfg.n_layers, t_start, rep);

        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        if (gs && (s = cpr_gradstats_load(gs, l, err))) goto out;
        for (int j = 0; j < nl; j++) {
            struct cpr_linear_stats ls;
            memset(&ls, 0, sizeof ls);
            double t0 = now_s();
            if (needs)
                s = cpr_site_stats_finish(&c.st[r[j].site], c.scaler, c.hess,
                                          c.mean, c.var, &ls, err);
            rep->sec_stats += now_s() - t0;
            if (s) goto out;
            if (gs) { // gradient norms from the dense pre-pass
                const struct cpr_gradstats_lin *g =
                    cpr_gradstats_get(gs, l, r[j].role);
                if (!g) {
                    s = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "pipeline: no "
                                    "gradients for layer %lld linear %d",
                                    (long long)l, j);
                    goto out;
                }
                ls.n_cols = g->cols;
                ls.grad_l1 = g->l1;
                ls.grad_l2 = g->l2;
            }
            if ((s = prune_one(m, l, j, &r[j], o, needs || gs ? &ls : NULL,
                               pool, k, rep, err)))
                goto out;
        }
        report(o, CPR_PIPE_PRUNE, l, m->cfg.n_layers, t_start, rep);
        if (o->diagnostics) { // original vs pruned on the sample
            const double t0 = now_s();
            s = cpr_pipe_diag_finish(&dg, rep->recon_err + l * per_layer(m),
                                     err);
            rep->diag_tokens = (int64_t)dg.n_sample;
            cpr_pipe_diag_end(&dg);
            rep->sec_diag += now_s() - t0;
            if (s) goto out;
        }

        if (l + 1 < b1) { // the last pruned block's outputs are unused
            // in place: each window's outputs depend only on its inputs
            if ((s = run_block(&c, l, c.inps, c.inps, NULL, rep, err)))
                goto out;
            report(o, CPR_PIPE_PROPAGATE, l, m->cfg.n_layers, t_start, rep);
        }
        if ((s = block_finished(m, l, o, k, rep, err))) goto out;
    }
out:
    if (dg.m) cpr_pipe_diag_end(&dg); // a block failed midway
    calib_free(&c);
    return s;
}

// GBLM's gradient_computation.py on the still-dense model: one backward
// pass per window (batch 1) of 100 * loss, accumulated by gradstats.
static enum cpr_status grad_prepass(const struct cpr_model *m,
                                    const int32_t *windows, int64_t nsamples,
                                    int64_t seqlen,
                                    const struct cpr_pipe_opts *o,
                                    struct cpr_gradstats *gs,
                                    struct cpr_pool *pool,
                                    const struct cpr_kernels *k,
                                    struct cpr_pipe_report *rep,
                                    struct cpr_err *err) {
    const double t0 = now_s();
    struct cpr_backward b;
    memset(&b, 0, sizeof b);
    if (seqlen < 2)
        return cpr_err_set(err, CPR_ERR_ARG, "pipeline: the gradient "
                           "pre-pass needs seqlen >= 2 (found %lld)",
                           (long long)seqlen);
    CPR_TRY(cpr_backward_init(&b, m, k, pool, 1, seqlen, err));
    // only the pruned blocks' accumulators; no backward pass below them
    const int64_t b0 = block_begin(o), b1 = block_end(o, m);
    b.first_layer = b0;
    enum cpr_status s = cpr_gradstats_init_range(gs, m, k, pool,
                                                 o->grad_scratch, b0, b1, err);
    // with a scratch store, windows go in layer-major groups (each layer's
    // slab read and written once per group)
    const int64_t grp =
        cpr_gradstats_group(m, o->grad_scratch != NULL, seqlen, nsamples);
    for (int64_t i = 0; i < nsamples && !s; i += grp)
        s = cpr_gradstats_windows(gs, &b, windows + i * seqlen,
                                  nsamples - i < grp ? nsamples - i : grp,
                                  seqlen, 100.0f, NULL, err);
    cpr_backward_free(&b);
    if (!s) cpr_gradstats_finish(gs, o->grad_dtype);
    rep->sec_grad = now_s() - t0;
    return s;
}

// A gradient method on a family the backward pass lacks: say which.
static void refuse_family(const struct cpr_model *m, const char *method,
                          struct cpr_err *err) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    cpr_err_set(err, CPR_ERR_UNSUPPORTED, "method %s does not support the "
                "%s family yet (%s)", method,
                cpr_arch_family_name(m->cfg.arch), why);
}

static enum cpr_status check_targets(const struct cpr_model *m,
                                     const struct cpr_pipe_opts *o,
                                     struct cpr_err *err) {
    const int64_t pl = per_layer(m);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = table_of(m, l, r);
        for (int j = 0; j < nl; j++) {
            struct cpr_prune_target tg = target_of(o, pl, l, j);
            if (cpr_prune_target_check(&tg, (size_t)r[j].w->shape[1], err)) {
                char name[64], msg[sizeof err->msg];
                name_of(name, sizeof name, l, &r[j]);
                snprintf(msg, sizeof msg, "%s", err->msg);
                return cpr_err_set(err, err->code, "%s: %s", name, msg);
            }
        }
    }
    return CPR_OK;
}

static enum cpr_status check_windows(const struct cpr_model *m,
                                     const int32_t *windows, int64_t nsamples,
                                     int64_t seqlen, const char *method,
                                     struct cpr_err *err) {
    if (!windows || nsamples < 1 || seqlen < 1)
        return cpr_err_set(err, CPR_ERR_ARG, "pipeline: method %s needs "
                           "calibration windows (found nsamples %lld, "
                           "seqlen %lld)", method, (long long)nsamples,
                           (long long)seqlen);
    if (seqlen > m->cfg.context)
        return cpr_err_set(err, CPR_ERR_ARG, "pipeline: seqlen %lld exceeds "
                           "the model context %lld", (long long)seqlen,
                           (long long)m->cfg.context);
    return CPR_OK;
}

enum cpr_status cpr_prune_model(struct cpr_model *m, const int32_t *windows,
                                int64_t nsamples, int64_t seqlen,
                                const struct cpr_pipe_opts *o_in,
                                struct cpr_pool *pool,
                                const struct cpr_kernels *k,
                                struct cpr_pipe_report *rep,
                                struct cpr_err *err) {
    memset(rep, 0, sizeof *rep);
    if (!k) k = cpr_kernels_get();
    if (!o_in || !o_in->method || !o_in->method_state)
        return cpr_err_set(err, CPR_ERR_ARG, "pipeline: no method");
    struct cpr_pipe_opts o = *o_in;
    CPR_TRY(cpr_model_validate(m, err));
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "pipeline: layer "
                               "%lld has its %s removed (depth-pruned); "
                               "unstructured pruning of such models is not "
                               "supported yet", (long long)l,
                               sh.has_attn ? "MLP" : "attention");
    }
    CPR_TRY(check_targets(m, &o, err)); // before anything changes
    CPR_TRY(cpr_model_sparsity(m, k, rep, err)); // allocates the counters
    {
        const int64_t n = m->cfg.n_layers * per_layer(m);
        rep->row_dev_mean = malloc((size_t)n * sizeof *rep->row_dev_mean);
        rep->row_dev_max = malloc((size_t)n * sizeof *rep->row_dev_max);
        if (!rep->row_dev_mean || !rep->row_dev_max)
            return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: counters");
        for (int64_t i = 0; i < n; i++)
            rep->row_dev_mean[i] = rep->row_dev_max[i] = NAN;
    }
    if (o.diagnostics) {
        const int64_t n = m->cfg.n_layers * per_layer(m);
        rep->recon_err = malloc((size_t)n * sizeof *rep->recon_err);
        if (!rep->recon_err)
            return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: diagnostics");
        for (int64_t i = 0; i < n; i++) rep->recon_err[i] = NAN;
        rep->score_q = malloc((size_t)(5 * n) * sizeof *rep->score_q);
        if (!rep->score_q)
            return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: diagnostics");
        for (int64_t i = 0; i < 5 * n; i++) rep->score_q[i] = NAN;
    }
    rep->block_sec = calloc((size_t)m->cfg.n_layers, sizeof *rep->block_sec);
    if (!rep->block_sec)
        return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: block timings");
    const double t_start = now_s();
    rep->t_start = t_start;
    const unsigned all_needs = cpr_method_needs(o.method, o.method_state);
    const unsigned needs = all_needs & STAT_BITS;
    enum cpr_status s = CPR_OK;
    if (cpr_method_allocates(o.method)) {
        // layer allocation: dense scan, then one target per linear
        const int64_t n = m->cfg.n_layers * per_layer(m);
        rep->alloc = calloc((size_t)n, sizeof *rep->alloc);
        if (!rep->alloc)
            return cpr_err_set(err, CPR_ERR_NOMEM, "pipeline: allocation");
        CPR_TRY(check_windows(m, windows, nsamples, seqlen, o.method->name,
                              err));
        rep->used_calibration = 1;
        if (o.method->prepass) { // whole-model sensitivities (mixed)
            const double tp = now_s();
            CPR_TRY(o.method->prepass((void *)o.method_state, m, windows,
                                      nsamples, seqlen, pool, k, err));
            rep->sec_grad = now_s() - tp;
        }
        CPR_TRY(scan_dense(m, windows, nsamples, seqlen, &o, pool, k, rep,
                           err));
        CPR_TRY(o.method->allocate((void *)o.method_state, m->cfg.n_layers,
                                   per_layer(m), rep->numel, &o.target, rep->alloc, err));
        o.per_linear = rep->alloc;
        CPR_TRY(check_targets(m, &o, err));
    }
    if (all_needs & CPR_NEED_GLOBAL) {
        // The global entry points are magnitude's (the one method that
        // sets the bit); another method asking for it is not supported.
        if (o.method != &cpr_method_magnitude)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "pipeline: method "
                               "%s needs all matrices at once; only "
                               "magnitude has a global entry point",
                               o.method->name);
        if (o.resume_from > 0 || block_begin(&o) > 0 ||
            block_end(&o, m) < m->cfg.n_layers)
            return cpr_err_set(err, CPR_ERR_ARG, "pipeline: magnitude "
                               "group=global plans one threshold over all "
                               "blocks; it takes neither a block range nor "
                               "resume");
        s = prune_global_magnitude(m, &o, pool, k, rep, err);
    } else if (!needs && !(all_needs & CPR_NEED_GRAD) &&
               !(o.diagnostics && windows)) {
        const int64_t b0 = block_begin(&o), b1 = block_end(&o, m);
        for (int64_t l = 0; l < m->cfg.n_layers && !s; l++) {
            if (l < o.resume_from) {
                s = block_reload(m, l, &o, k, rep, err);
                if (!s) block_account(&o, rep, l, m->cfg.n_layers);
                continue;
            }
            struct cpr_linear_ref r[CPR_MAX_LINEARS];
            const int nl = l >= b0 && l < b1 ? table_of(m, l, r) : 0;
            for (int j = 0; j < nl && !s; j++)
                s = prune_one(m, l, j, &r[j], &o, NULL, pool, k, rep, err);
            if (!s && l >= b0 && l < b1)
                report(&o, CPR_PIPE_PRUNE, l, m->cfg.n_layers, t_start, rep);
            if (!s) s = block_finished(m, l, &o, k, rep, err);
        }
    } else {
        rep->used_calibration = 1;
        s = check_windows(m, windows, nsamples, seqlen, o.method->name, err);
        struct cpr_gradstats gs;
        memset(&gs, 0, sizeof gs);
        const int grad = (all_needs & CPR_NEED_GRAD) != 0;
        if (!s && grad)
            s = grad_prepass(m, windows, nsamples, seqlen, &o, &gs, pool, k,
                             rep, err);
        if (s == CPR_ERR_UNSUPPORTED && grad)
            refuse_family(m, o.method->name, err);
        if (!s)
            s = prune_calibrated(m, windows, nsamples, seqlen, needs,
                                 grad ? &gs : NULL, &o, pool, k, rep, t_start,
                                 err);
        if (grad) cpr_gradstats_free(&gs);
    }
    totals(rep);
    return s;
}
