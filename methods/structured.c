// methods/structured.c: FLAP, Wanda-sp and magnitude-sp
// (methods/structured.h): statistics, scores, masks, compensation.
#include "methods/structured.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "methods/cfsp.h"
#include "simd/kernels.h"

// ---- names ----

static const char *const kind_names[] = {"flap", "wanda-sp", "magnitude-sp",
                                         "cfsp"};
static const char *const metric_names[] = {"ifv", "wifv", "wifn"};
static const char *const struct_names[] = {"ul-um", "al-am", "ul-mm",
                                           "al-mm"};

static int parse(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
const char *cpr_struct_kind_name(enum cpr_struct_kind k) {
    return (unsigned)k < 4 ? kind_names[k] : "?";
}
int cpr_struct_kind_parse(const char *s) { return parse(s, kind_names, 4); }
const char *cpr_flap_metric_name(enum cpr_flap_metric x) {
    return (unsigned)x < 3 ? metric_names[x] : "?";
}
int cpr_flap_metric_parse(const char *s) { return parse(s, metric_names, 3); }
const char *cpr_flap_structure_name(enum cpr_flap_structure x) {
    return (unsigned)x < 4 ? struct_names[x] : "?";
}
int cpr_flap_structure_parse(const char *s) {
    return parse(s, struct_names, 4);
}

// ---- input statistics of one linear (BiasGPT / WrappedGPT) ----

struct site_stats {
    int64_t dim, n;     // columns; windows seen
    double *mu;         // (dim) running mean of the window means
    double *fluc;       // (dim) FLAP's fluctuation
    double *scaler;     // (dim) mean over windows of sum_t x^2
};

static void stats_free(struct site_stats *s) {
    free(s->mu), free(s->fluc), free(s->scaler);
    memset(s, 0, sizeof *s);
}

static enum cpr_status stats_init(struct site_stats *s, int64_t dim,
                                  struct cpr_err *err) {
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->mu = calloc((size_t)dim, sizeof(double));
    s->fluc = calloc((size_t)dim, sizeof(double));
    s->scaler = calloc((size_t)dim, sizeof(double));
    if (!s->mu || !s->fluc || !s->scaler) {
        stats_free(s);
        return cpr_err_set(err, CPR_ERR_NOMEM, "structured: statistics of "
                           "%lld columns", (long long)dim);
    }
    return CPR_OK;
}

// One window x (T, dim), row stride ld, in the reference's update order.
static void stats_add(struct site_stats *s, const float *x, int64_t T,
                      int64_t ld) {
    const int64_t d = s->dim;
    const double n = (double)s->n;
    for (int64_t j = 0; j < d; j++) {
        double sum = 0, sq = 0;
        for (int64_t t = 0; t < T; t++) {
            const double v = x[t * ld + j];
            sum += v, sq += v * v;
        }
        s->mu[j] = s->mu[j] * n / (n + 1) + (sum / (double)T) / (n + 1);
        s->scaler[j] = s->scaler[j] * n / (n + 1) + sq / (n + 1);
    }
    if (s->n == 0) {
        memset(s->fluc, 0, (size_t)d * sizeof(double));
    } else {
        for (int64_t j = 0; j < d; j++) {
            double f = 0;
            for (int64_t t = 0; t < T; t++) {
                const double e = x[t * ld + j] - s->mu[j];
                f += e * e;
            }
            s->fluc[j] = s->fluc[j] * (n - 1) / n + f / (n + 1);
        }
    }
    s->n++;
}

struct hook_ctx {
    struct site_stats *o, *down; // o_proj input, down_proj input
};

static enum cpr_status on_capture(void *user, const struct cpr_capture *cap,
                                  struct cpr_err *err) {
    (void)err;
    struct hook_ctx *h = user;
    struct site_stats *s = cap->site == CPR_CAPTURE_O_IN ? h->o : h->down;
    for (int64_t q = 0; q < cap->n_seq; q++)
        stats_add(s, cap->x + q * cap->seqlen * cap->ld, cap->seqlen,
                  cap->ld);
    return CPR_OK;
}

// ---- weight columns ----

// sq[j] = sum_r W_rj^2, ab[j] = mean_r |W_rj| (either may be NULL).
static enum cpr_status weight_cols(const struct cpr_tensor *w, double *sq,
                                   double *ab, struct cpr_err *err) {
    const int64_t R = w->shape[0], C = w->shape[1];
    float *row = malloc((size_t)C * sizeof *row);
    if (!row) return cpr_err_set(err, CPR_ERR_NOMEM, "structured: a row");
    if (sq) memset(sq, 0, (size_t)C * sizeof *sq);
    if (ab) memset(ab, 0, (size_t)C * sizeof *ab);
    for (int64_t r = 0; r < R; r++) {
        cpr_tensor_row_f32(w, r, row);
        for (int64_t j = 0; j < C; j++) {
            if (sq) sq[j] += (double)row[j] * row[j];
            if (ab) ab[j] += fabs((double)row[j]);
        }
    }
    for (int64_t j = 0; ab && j < C; j++) ab[j] /= (double)R;
    free(row);
    return CPR_OK;
}

// metric[j] per input column of w from its statistics (flap's three
// metrics; wanda-sp = WIFN's formula; magnitude-sp = column norms).
static enum cpr_status column_metric(const struct cpr_struct_opts *o,
                                     const struct cpr_tensor *w,
                                     const struct site_stats *s, int square,
                                     double *metric, struct cpr_err *err) {
    const int64_t C = w->shape[1];
    double *tmp = malloc((size_t)C * sizeof *tmp);
    if (!tmp) return cpr_err_set(err, CPR_ERR_NOMEM, "structured: metric");
    enum cpr_status st = CPR_OK;
    if (o->kind == CPR_STRUCT_MAGNITUDE_SP) {
        st = weight_cols(w, tmp, NULL, err);
        for (int64_t j = 0; j < C; j++) metric[j] = sqrt(tmp[j]);
    } else if (o->kind == CPR_STRUCT_WANDA_SP || o->metric == CPR_FLAP_WIFN) {
        st = weight_cols(w, NULL, tmp, err);
        for (int64_t j = 0; j < C; j++)
            metric[j] = tmp[j] * sqrt(s->scaler[j]);
    } else if (o->metric == CPR_FLAP_WIFV) {
        st = weight_cols(w, tmp, NULL, err);
        for (int64_t j = 0; j < C; j++) metric[j] = s->fluc[j] * tmp[j];
    } else {
        for (int64_t j = 0; j < C; j++) metric[j] = s->fluc[j];
    }
    if (square)
        for (int64_t j = 0; j < C; j++) metric[j] *= metric[j];
    free(tmp);
    return st;
}

// ---- selection ----

static int cmp_asc(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// keep[i] = v[i] >= (v sorted ascending)[k] (the reference's per-layer
// rule, ties kept). 0 <= k < n.
static enum cpr_status keep_ge_kth(const double *v, int64_t n, int64_t k,
                                   uint8_t *keep, struct cpr_err *err) {
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "structured: sort");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_asc);
    const double th = s[k < 0 ? 0 : k >= n ? n - 1 : k];
    for (int64_t i = 0; i < n; i++) keep[i] = v[i] >= th;
    free(s);
    return CPR_OK;
}

// keep[i] = v[i] > (v sorted ascending)[r - 1] (AL-MM: the r lowest go;
// r = 0 keeps nothing, as the reference's sorted[-0]).
static enum cpr_status keep_gt_rth(const double *v, int64_t n, int64_t r,
                                   uint8_t *keep, struct cpr_err *err) {
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "structured: sort");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_asc);
    const double th = r >= 1 && r <= n ? s[r - 1] : s[n - 1];
    for (int64_t i = 0; i < n; i++) keep[i] = v[i] > th;
    free(s);
    return CPR_OK;
}

// out[u] = sum (or mean) of v over unit u's `w` consecutive columns.
static void unit_reduce(const double *v, int64_t n_units, int64_t w,
                        int mean, double *out) {
    for (int64_t u = 0; u < n_units; u++) {
        double s = 0;
        for (int64_t j = 0; j < w; j++) s += v[u * w + j];
        out[u] = mean ? s / (double)w : s;
    }
}

// (x - mean) / std with the unbiased std (torch.std), in place.
static void standardize(double *x, int64_t n) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    const double sd = sqrt(v / (double)(n - 1));
    for (int64_t i = 0; i < n; i++) x[i] = (x[i] - m) / sd;
}

struct ranked { double v; int64_t i; };
static int cmp_desc(const void *a, const void *b) {
    const struct ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

// ---- per-model state ----

struct layer_scores {
    double *attn;   // (units) attention unit metric
    double *mlp;    // (intermediate) channel metric
    double *mu_o;   // (n_heads * head_dim) o_proj input mean
    double *mu_d;   // (intermediate) down_proj input mean
};

static void scores_free(struct layer_scores *s, int64_t L) {
    for (int64_t l = 0; s && l < L; l++)
        free(s[l].attn), free(s[l].mlp), free(s[l].mu_o), free(s[l].mu_d);
    free(s);
}

// Scores of layer l from its statistics (o, d may be NULL for
// magnitude-sp). AL-* keep the standardised column metric averaged per
// unit; the others sum it per unit.
static enum cpr_status layer_scores(const struct cpr_struct_opts *o,
                                    struct cpr_model *m, int64_t l,
                                    const struct site_stats *so,
                                    const struct site_stats *sd,
                                    struct layer_scores *ls,
                                    struct cpr_err *err) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
    const int64_t qd = sh.n_heads * sh.head_dim, im = sh.intermediate;
    const int64_t units = sh.n_kv_heads, uw = qd / units;
    const int global = o->kind == CPR_STRUCT_FLAP &&
                       (o->structure == CPR_FLAP_AL_AM ||
                        o->structure == CPR_FLAP_AL_MM);
    double *col = malloc((size_t)qd * sizeof *col);
    ls->attn = malloc((size_t)units * sizeof *ls->attn);
    ls->mlp = malloc((size_t)im * sizeof *ls->mlp);
    ls->mu_o = calloc((size_t)qd, sizeof *ls->mu_o);
    ls->mu_d = calloc((size_t)im, sizeof *ls->mu_d);
    enum cpr_status s = CPR_OK;
    if (!col || !ls->attn || !ls->mlp || !ls->mu_o || !ls->mu_d)
        s = cpr_err_set(err, CPR_ERR_NOMEM, "structured: layer %lld scores",
                        (long long)l);
    const int sq = o->kind == CPR_STRUCT_FLAP; // flap squares attention
    if (!s) s = column_metric(o, &m->layers[l].wo, so, sq, col, err);
    if (!s) {
        if (global) standardize(col, qd);
        unit_reduce(col, units, uw, global, ls->attn);
        s = column_metric(o, &m->layers[l].w_down, sd, 0, ls->mlp, err);
    }
    if (!s && global) standardize(ls->mlp, im);
    if (!s && so) memcpy(ls->mu_o, so->mu, (size_t)qd * sizeof(double));
    if (!s && sd) memcpy(ls->mu_d, sd->mu, (size_t)im * sizeof(double));
    free(col);
    return s;
}

// Matrices an MLP channel spans: gate, up, down (3) in a gated MLP; fc1,
// fc2 (2) in a non-gated one (OPT, GPT-2, GPT-NeoX). The reference's
// constant 3 (LLaMA only) generalised: a channel costs mlp_mats * hidden
// parameters.
static int mlp_mats(const struct cpr_model *m) {
    return m->cfg.block.mlp == CPR_MLP_SWIGLU ||
                   m->cfg.block.mlp == CPR_MLP_GEGLU_TANH
               ? 3
               : 2;
}

// The reference's cal_remove_neuron, with this model's parameter counts.
static int64_t remove_neurons(const struct cpr_model *m,
                              const struct cpr_struct_opts *o, int per_layer,
                              int64_t unit_params) {
    const double h = (double)m->cfg.hidden * mlp_mats(m),
                 L = (double)m->cfg.n_layers;
    const double layer = (double)cpr_model_linear_params(m) / L;
    if (per_layer) {
        const double rp = o->ratio * layer;
        const double hp = (double)unit_params *
                          (double)(o->remove_heads / m->cfg.n_layers);
        return (int64_t)((rp - hp) / h);
    }
    const double rp = L * o->ratio * layer;
    const double hp = (double)unit_params * (double)o->remove_heads;
    return (int64_t)((rp - hp) / h);
}

// Masks of every layer into plan from the scores (flap's structures,
// wanda-sp / magnitude-sp's per-layer rule).
static enum cpr_status choose(const struct cpr_struct_opts *o,
                              const struct cpr_model *m,
                              const struct layer_scores *ls, int64_t l0,
                              int64_t l1, struct cpr_struct_plan *plan,
                              struct cpr_err *err) {
    const int64_t L = m->cfg.n_layers, h = m->cfg.hidden;
    const struct cpr_layer_shape sh0 = cpr_layer_shape_of(m, l0);
    const int64_t rep = sh0.n_heads / sh0.n_kv_heads;
    const int64_t unit_params = h * (2 * rep * sh0.head_dim +
                                     2 * sh0.head_dim);
    for (int64_t l = l0; l < l1; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        struct cpr_struct_layer_plan *lp = &plan->layers[l];
        lp->keep_kv = malloc((size_t)sh.n_kv_heads);
        lp->keep_ch = malloc((size_t)sh.intermediate);
        if (!lp->keep_kv || !lp->keep_ch)
            return cpr_err_set(err, CPR_ERR_NOMEM, "structured: masks");
    }
    enum cpr_flap_structure st = o->kind == CPR_STRUCT_FLAP ? o->structure
                                                            : CPR_FLAP_UL_UM;
    if (st == CPR_FLAP_UL_UM || st == CPR_FLAP_UL_MM) {
        for (int64_t l = l0; l < l1; l++) {
            const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
            int64_t ka = (int64_t)(o->ratio * (double)sh.n_kv_heads);
            int64_t km = (int64_t)((double)sh.intermediate * o->ratio);
            if (st == CPR_FLAP_UL_MM) {
                ka = o->remove_heads / L;
                km = remove_neurons(m, o, 1, unit_params);
            }
            if (ka >= sh.n_kv_heads || km >= sh.intermediate || km < 0)
                return cpr_err_set(err, CPR_ERR_ARG, "structured: layer %lld "
                                   "would lose %lld of %lld KV groups and "
                                   "%lld of %lld channels", (long long)l,
                                   (long long)ka, (long long)sh.n_kv_heads,
                                   (long long)km, (long long)sh.intermediate);
            CPR_TRY(keep_ge_kth(ls[l].attn, sh.n_kv_heads, ka,
                                plan->layers[l].keep_kv, err));
            CPR_TRY(keep_ge_kth(ls[l].mlp, sh.intermediate, km,
                                plan->layers[l].keep_ch, err));
        }
        return CPR_OK;
    }
    // global: every layer's units in one ranking (uniform model shapes)
    const int64_t U = sh0.n_kv_heads, I = sh0.intermediate;
    const int64_t na = L * U, nm = L * I;
    double *va = malloc((size_t)na * sizeof *va);
    double *vm = malloc((size_t)nm * sizeof *vm);
    uint8_t *ka = malloc((size_t)na), *km = malloc((size_t)nm);
    struct ranked *r = malloc((size_t)(na + nm) * sizeof *r);
    enum cpr_status s = CPR_OK;
    if (!va || !vm || !ka || !km || !r) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "structured: global ranking");
        goto done;
    }
    for (int64_t l = 0; l < L; l++) {
        memcpy(va + l * U, ls[l].attn, (size_t)U * sizeof *va);
        memcpy(vm + l * I, ls[l].mlp, (size_t)I * sizeof *vm);
    }
    if (st == CPR_FLAP_AL_MM) {
        const int64_t rn = remove_neurons(m, o, 0, unit_params);
        if ((s = keep_gt_rth(va, na, o->remove_heads, ka, err)) ||
            (s = keep_gt_rth(vm, nm, rn, km, err)))
            goto done;
    } else { // AL-AM
        for (int64_t i = 0; i < na; i++) r[i].v = va[i], r[i].i = i;
        for (int64_t i = 0; i < nm; i++) r[na + i].v = vm[i], r[na + i].i = na + i;
        qsort(r, (size_t)(na + nm), sizeof *r, cmp_desc);
        // the reference: int64 weights (512.0 / 3 stored as 170), a float32
        // target and float32 differences; argmin takes the first minimum.
        // A unit weighs its parameters in MLP channels (mlp_mats: 3 as the
        // reference, 2 for fc1/fc2 MLPs)
        const int64_t wa = (int64_t)((double)(2 * rep * sh0.head_dim +
                                              2 * sh0.head_dim) /
                                     (double)mlp_mats(m));
        const int64_t total = na * wa + nm;
        const float target = (float)total * (float)(1.0 - o->ratio);
        int64_t cum = 0, best = 0;
        float bestd = INFINITY;
        for (int64_t k = 0; k < na + nm; k++) {
            cum += r[k].i < na ? wa : 1;
            const float d = fabsf((float)cum - target);
            if (d < bestd) bestd = d, best = k;
        }
        const double th = r[best].v;
        for (int64_t i = 0; i < na; i++) ka[i] = va[i] > th;
        for (int64_t i = 0; i < nm; i++) km[i] = vm[i] > th;
    }
    for (int64_t l = 0; l < L; l++) {
        memcpy(plan->layers[l].keep_kv, ka + l * U, (size_t)U);
        memcpy(plan->layers[l].keep_ch, km + l * I, (size_t)I);
    }
done:
    free(va), free(vm), free(ka), free(km), free(r);
    return s;
}

// bias[r] = sum over removed columns j of fp16(mu_j) * W_rj (the
// reference's baseline_inp.type(torch.half) and (mu * ~mask) @ W^T).
static enum cpr_status comp_bias(const struct cpr_tensor *w, const double *mu,
                                 const uint8_t *keep, int64_t unit,
                                 float **out, struct cpr_err *err) {
    const int64_t R = w->shape[0], C = w->shape[1];
    const struct cpr_kernels *k = cpr_kernels_get();
    float *mh = malloc((size_t)C * sizeof *mh), *row = malloc((size_t)C * 4);
    uint16_t *h16 = malloc((size_t)C * sizeof *h16);
    *out = calloc((size_t)R, sizeof **out);
    if (!mh || !row || !h16 || !*out) {
        free(mh), free(row), free(h16), free(*out), *out = NULL;
        return cpr_err_set(err, CPR_ERR_NOMEM, "structured: bias");
    }
    for (int64_t j = 0; j < C; j++) mh[j] = (float)mu[j];
    k->f32_to_f16((size_t)C, mh, h16);
    k->f16_to_f32((size_t)C, h16, mh);
    for (int64_t r = 0; r < R; r++) {
        cpr_tensor_row_f32(w, r, row);
        double acc = 0;
        for (int64_t j = 0; j < C; j++)
            if (!keep[j / unit]) acc += (double)mh[j] * row[j];
        (*out)[r] = (float)acc;
    }
    free(mh), free(row), free(h16);
    return CPR_OK;
}

// ---- driver ----

static enum cpr_status run_blocks(struct cpr_forward *f, int64_t l,
                                  float *hid, int64_t n_seq, int64_t seqlen,
                                  const struct cpr_block_hook *hook,
                                  struct cpr_err *err) {
    const int64_t H = f->model->cfg.hidden;
    for (int64_t s0 = 0; s0 < n_seq; s0 += f->max_seq) {
        const int64_t ns = n_seq - s0 < f->max_seq ? n_seq - s0 : f->max_seq;
        CPR_TRY(cpr_forward_block(f, l, hid + s0 * seqlen * H, ns, seqlen,
                                  hook, err));
    }
    return CPR_OK;
}

// Move layer l's arrays of `one` into `all` (the record of the run).
static void keep_record(struct cpr_struct_plan *one,
                        struct cpr_struct_plan *all, int64_t l) {
    all->layers[l] = one->layers[l];
    memset(&one->layers[l], 0, sizeof one->layers[l]);
}

enum cpr_status cpr_struct_prune(struct cpr_model *m, const int32_t *windows,
                                 int64_t n_seq, int64_t seqlen,
                                 const struct cpr_struct_opts *o,
                                 struct cpr_pool *pool,
                                 struct cpr_struct_plan *plan,
                                 struct cpr_err *err) {
    memset(plan, 0, sizeof *plan);
    if (o->kind == CPR_STRUCT_CFSP)
        return cpr_cfsp_prune(m, windows, n_seq, seqlen, o, pool, plan, NULL,
                              err);
    if (!(o->ratio >= 0 && o->ratio < 1))
        return cpr_err_set(err, CPR_ERR_ARG, "structured: ratio %g outside "
                           "[0, 1)", o->ratio);
    if (o->kind == CPR_STRUCT_FLAP && !o->no_bias_comp &&
        m->cfg.arch == CPR_ARCH_GPT_NEOX && !m->cfg.qkv_bias)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "flap: this GPT-NeoX "
                           "model has attention_bias false, so no "
                           "attention.dense bias to hold the compensation; "
                           "use --no-bias-comp");
    const int calib = o->kind != CPR_STRUCT_MAGNITUDE_SP;
    if (calib && (!windows || n_seq < 2 || seqlen < 1))
        return cpr_err_set(err, CPR_ERR_ARG, "structured: %s needs at least "
                           "2 calibration windows (got %lld)",
                           cpr_struct_kind_name(o->kind), (long long)n_seq);
    const int64_t L = m->cfg.n_layers, H = m->cfg.hidden;
    for (int64_t l = 1; l < L; l++) {
        const struct cpr_layer_shape a = cpr_layer_shape_of(m, 0),
                                     b = cpr_layer_shape_of(m, l);
        if (memcmp(&a, &b, sizeof a))
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "structured: layer "
                               "%lld differs in shape from layer 0; prune "
                               "the uniform model", (long long)l);
    }
    CPR_TRY(cpr_struct_plan_init(plan, m, err));
    struct cpr_struct_plan one = {0};
    struct layer_scores *ls = calloc((size_t)L, sizeof *ls);
    struct site_stats so = {0}, sd = {0};
    struct cpr_forward f = {0};
    float *hid = NULL, *tmp = NULL;
    enum cpr_status s = ls ? CPR_OK
                           : cpr_err_set(err, CPR_ERR_NOMEM, "structured");
    if (!s) s = cpr_struct_plan_init(&one, m, err);
    const size_t hb = (size_t)(n_seq * seqlen * H) * sizeof(float);
    if (!s && calib) {
        hid = malloc(hb);
        tmp = o->kind == CPR_STRUCT_WANDA_SP ? malloc(hb) : NULL;
        if (!hid || (o->kind == CPR_STRUCT_WANDA_SP && !tmp))
            s = cpr_err_set(err, CPR_ERR_NOMEM, "structured: %zu bytes of "
                            "calibration activations", hb);
        if (!s) s = cpr_forward_init(&f, m, NULL, pool,
                                     n_seq < 8 ? n_seq : 8, seqlen, err);
        for (int64_t s0 = 0; !s && s0 < n_seq; s0 += f.max_seq) {
            const int64_t ns = n_seq - s0 < f.max_seq ? n_seq - s0
                                                       : f.max_seq;
            s = cpr_forward_embed(&f, windows + s0 * seqlen, ns, seqlen,
                                  hid + s0 * seqlen * H, err);
        }
    }
    for (int64_t l = 0; !s && l < L; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (calib) {
            struct hook_ctx hc = {&so, &sd};
            struct cpr_block_hook hook = {
                on_capture, &hc,
                (1u << CPR_CAPTURE_O_IN) | (1u << CPR_CAPTURE_DOWN_IN)};
            if ((s = stats_init(&so, sh.n_heads * sh.head_dim, err)) ||
                (s = stats_init(&sd, sh.intermediate, err)))
                break;
            float *x = hid;
            if (tmp) memcpy(tmp, hid, hb), x = tmp;
            s = run_blocks(&f, l, x, n_seq, seqlen, &hook, err);
        }
        if (!s) s = layer_scores(o, m, l, calib ? &so : NULL,
                                 calib ? &sd : NULL, &ls[l], err);
        stats_free(&so), stats_free(&sd);
        if (!s && o->kind != CPR_STRUCT_FLAP) {
            // per layer, sequential: prune, then the pruned block feeds
            // the next one
            s = choose(o, m, ls, l, l + 1, &one, err);
            if (!s) s = cpr_struct_plan_apply(&one, m, err);
            if (!s) keep_record(&one, plan, l);
            if (!s && calib) s = run_blocks(&f, l, hid, n_seq, seqlen, NULL,
                                            err);
        }
    }
    if (!s && o->kind == CPR_STRUCT_FLAP) {
        s = choose(o, m, ls, 0, L, plan, err);
        for (int64_t l = 0; !s && !o->no_bias_comp && l < L; l++) {
            const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
            struct cpr_struct_layer_plan *lp = &plan->layers[l];
            s = comp_bias(&m->layers[l].wo, ls[l].mu_o, lp->keep_kv,
                          sh.n_heads / sh.n_kv_heads * sh.head_dim,
                          &lp->o_bias, err);
            if (!s) s = comp_bias(&m->layers[l].w_down, ls[l].mu_d,
                                  lp->keep_ch, 1, &lp->down_bias, err);
        }
        if (!s) s = cpr_struct_plan_apply(plan, m, err);
    }
    cpr_forward_free(&f);
    free(hid), free(tmp);
    stats_free(&so), stats_free(&sd);
    scores_free(ls, L);
    cpr_struct_plan_free(&one);
    if (s) cpr_struct_plan_free(plan);
    return s;
}
