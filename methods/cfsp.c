// methods/cfsp.c: CFSP (methods/cfsp.h): block distances, per-layer keep
// fractions, channel scores, masks.
#include "methods/cfsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"

static const char *const global_names[] = {"angular", "cosine", "mse", "mae",
                                           "avg"};
static const char *const local_names[] = {"three_w_one_wa", "three_w_one_a",
                                          "one_wa", "one_a", "wanda_base"};

const char *cpr_cfsp_global_name(int g) {
    return (unsigned)g < 5 ? global_names[g] : "?";
}
const char *cpr_cfsp_local_name(int l) {
    return (unsigned)l < 5 ? local_names[l] : "?";
}
static int find(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
int cpr_cfsp_global_parse(const char *s) { return find(s, global_names, 5); }
int cpr_cfsp_local_parse(const char *s) { return find(s, local_names, 5); }

void cpr_cfsp_report_free(struct cpr_cfsp_report *r) {
    free(r->importance), free(r->keep);
    memset(r, 0, sizeof *r);
}

// ---- coarse: block distance ----

// Sum over the n tokens of the distance between rows of x and y (hidden h).
static double block_distance(int g, const float *x, const float *y,
                             int64_t n, int64_t h) {
    double total = 0;
    for (int64_t t = 0; t < n; t++) {
        const float *a = x + t * h, *b = y + t * h;
        double dot = 0, na = 0, nb = 0, se = 0, ae = 0;
        for (int64_t d = 0; d < h; d++) {
            const double u = a[d], v = b[d];
            dot += u * v, na += u * u, nb += v * v;
            se += (u - v) * (u - v), ae += fabs(u - v);
        }
        double sim = dot / (sqrt(na) * sqrt(nb));
        if (isnan(sim)) sim = 0.5; // the reference's nan_to_num(nan=0.5)
        if (sim > 1) sim = 1;
        if (sim < -1) sim = -1;
        switch (g) {
        case CPR_CFSP_ANGULAR: total += acos(sim) / acos(-1.0); break;
        case CPR_CFSP_COSINE: total += 1 - sim; break;
        case CPR_CFSP_MSE: total += se / (double)h; break;
        case CPR_CFSP_MAE: total += ae / (double)h; break;
        default: break;
        }
    }
    return total;
}

// ---- fine: down_proj input statistic (WrappedGPT.scaler_row) ----

struct scaler { int64_t dim, n; double *v; };

static enum cpr_status on_down(void *user, const struct cpr_capture *cap,
                               struct cpr_err *err) {
    (void)err;
    struct scaler *s = user;
    for (int64_t q = 0; q < cap->n_seq; q++) {
        const float *x = cap->x + q * cap->seqlen * cap->ld;
        const double n = (double)s->n;
        for (int64_t j = 0; j < s->dim; j++) {
            double sq = 0;
            for (int64_t t = 0; t < cap->seqlen; t++) {
                const double v = x[t * cap->ld + j];
                sq += v * v;
            }
            s->v[j] = s->v[j] * n / (n + 1) + sq / (n + 1);
        }
        s->n++;
    }
    return CPR_OK;
}

// colsum[j] = sum_r |W_rj| of a (rows, cols) weight, scaled by w[j] (NULL:
// 1) before the absolute value.
static enum cpr_status abs_colsum(const struct cpr_tensor *W, double *out,
                                  struct cpr_err *err) {
    const int64_t R = W->shape[0], C = W->shape[1];
    float *row = malloc((size_t)C * sizeof *row);
    if (!row) return cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: a row");
    memset(out, 0, (size_t)C * sizeof *out);
    for (int64_t r = 0; r < R; r++) {
        cpr_tensor_row_f32(W, r, row);
        for (int64_t j = 0; j < C; j++) out[j] += fabs((double)row[j]);
    }
    free(row);
    return CPR_OK;
}

// rowterm[j] = mean_r |W_jr| / sum_r |W_jr| for up/gate (I, h): each
// channel is a row; the literal per-element quotient, averaged over h.
static enum cpr_status row_norm_term(const struct cpr_tensor *W, double *out,
                                     struct cpr_err *err) {
    const int64_t I = W->shape[0], h = W->shape[1];
    float *row = malloc((size_t)h * sizeof *row);
    if (!row) return cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: a row");
    for (int64_t j = 0; j < I; j++) {
        cpr_tensor_row_f32(W, j, row);
        double sum = 0, acc = 0;
        for (int64_t r = 0; r < h; r++) sum += fabs((double)row[r]);
        // an all-zero row (a dead or padded channel): 0, not 0/0
        if (sum > 0)
            for (int64_t r = 0; r < h; r++) acc += fabs((double)row[r]) / sum;
        out[j] = acc / (double)h;
    }
    free(row);
    return CPR_OK;
}

// score[j] of layer L's channels (cfsp.h's formulas) from scaler sc.
static enum cpr_status channel_scores(const struct cpr_struct_opts *o,
                                      const struct cpr_layer *L,
                                      const double *sc, double *score,
                                      struct cpr_err *err) {
    const struct cpr_tensor *D = &L->w_down;
    const int64_t h = D->shape[0], I = D->shape[1];
    const double b = o->cfsp_b ? o->cfsp_b : 1, c = o->cfsp_c ? o->cfsp_c : 1;
    double *sumd = malloc((size_t)I * sizeof *sumd);
    double *dterm = calloc((size_t)I, sizeof *dterm);
    double *uterm = calloc((size_t)I, sizeof *uterm);
    double *gterm = calloc((size_t)I, sizeof *gterm);
    float *row = malloc((size_t)I * sizeof *row);
    enum cpr_status s = CPR_OK;
    if (!sumd || !dterm || !uterm || !gterm || !row) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: channel scores");
        goto done;
    }
    const int lm = o->cfsp_local;
    // the s_j^b factor scales a whole column of D, so the column sum of
    // |D_rj| s_j^b is s_j^b times that of |D_rj|
    if ((s = abs_colsum(D, sumd, err))) goto done;
    for (int64_t r = 0; r < h; r++) {
        cpr_tensor_row_f32(D, r, row);
        for (int64_t j = 0; j < I; j++) {
            const double sj = sqrt(sc[j]), a = fabs((double)row[j]);
            if (lm == CPR_CFSP_WANDA_BASE) {
                dterm[j] += a * sj;
            } else if (sumd[j] == 0) {
                // all-zero column (dead or padded channel): the reference's
                // 0/0 would be NaN; the term is 0
            } else if (lm == CPR_CFSP_THREE_W_ONE_WA || lm == CPR_CFSP_ONE_WA) {
                const double p = pow(sj, b);
                if (p > 0) dterm[j] += a * p / (sumd[j] * p);
            } else {
                dterm[j] += a / sumd[j];
            }
        }
    }
    const int three = lm == CPR_CFSP_THREE_W_ONE_WA ||
                      lm == CPR_CFSP_THREE_W_ONE_A;
    // a non-gated MLP (fc1/fc2): fc1 stands for both gate and up
    const struct cpr_tensor *G = L->w_gate.data ? &L->w_gate : &L->w_up;
    if (three && ((s = row_norm_term(&L->w_up, uterm, err)) ||
                  (s = row_norm_term(G, gterm, err))))
        goto done;
    for (int64_t j = 0; j < I; j++) {
        const double sj = sqrt(sc[j]), dm = dterm[j] / (double)h;
        switch (lm) {
        case CPR_CFSP_WANDA_BASE: score[j] = dm; break;
        case CPR_CFSP_ONE_A: score[j] = dm * pow(sj, 0.5); break;
        case CPR_CFSP_ONE_WA: score[j] = dm * pow(sj, c); break;
        default: score[j] = (dm + uterm[j] + gterm[j]) * pow(sj, c); break;
        }
    }
done:
    free(sumd), free(dterm), free(uterm), free(gterm), free(row);
    return s;
}

// ---- allocation and masks ----

static void keep_fractions(const struct cpr_struct_opts *o, const double *imp,
                           int64_t L, double *k) {
    const double a = o->cfsp_a ? o->cfsp_a : 1, r = o->ratio;
    double mid = 0;
    for (int64_t l = 0; l < L; l++) mid += imp[l];
    mid /= (double)L;
    double avg = 0, mx = -INFINITY;
    for (int64_t l = 0; l < L; l++) {
        k[l] = 1 / (1 + exp(-((imp[l] - mid) / 1e4) * a));
        avg += k[l];
        if (k[l] > mx) mx = k[l];
    }
    avg /= (double)L;
    if (mx / avg * (1 - r) >= 1) {
        const double scale = (avg * (1 / (1 - r) - 1)) / (mx - avg) / 1.05;
        double na = 0;
        for (int64_t l = 0; l < L; l++) {
            k[l] = k[l] > avg ? avg + (k[l] - avg) * scale
                              : avg - (avg - k[l]) * scale;
            na += k[l];
        }
        avg = na / (double)L;
    }
    for (int64_t l = 0; l < L; l++) k[l] = k[l] / avg * (1 - r);
}

static int cmp_desc(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    if (isnan(a) || isnan(b)) return isnan(b) - isnan(a); // NaN first
    return (a < b) - (a > b);
}

static enum cpr_status mask_layer(const struct cpr_struct_opts *o,
                                  const double *score, int64_t I, double k,
                                  uint8_t *keep, struct cpr_err *err) {
    double *s = malloc((size_t)I * sizeof *s);
    if (!s) return cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: sort");
    memcpy(s, score, (size_t)I * sizeof *s);
    qsort(s, (size_t)I, sizeof *s, cmp_desc);
    int64_t idx = o->cfsp_cuda_friendly
                      ? (int64_t)(((double)I * k + 64) / 128) * 128 - 1
                      : (int64_t)((double)I * k);
    if (idx < 0) idx += I; // Python's negative index
    if (idx < 0 || idx >= I) idx = I - 1;
    const double th = s[idx];
    for (int64_t j = 0; j < I; j++) keep[j] = score[j] >= th;
    free(s);
    return CPR_OK;
}

// ---- driver ----

enum cpr_status cpr_cfsp_check_model(const struct cpr_model *m,
                                     struct cpr_err *err) {
    const struct cpr_layer_shape sh0 = cpr_layer_shape_of(m, 0);
    for (int64_t l = 1; l < m->cfg.n_layers; l++) {
        const struct cpr_layer_shape b = cpr_layer_shape_of(m, l);
        if (memcmp(&sh0, &b, sizeof b))
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "cfsp: layer %lld "
                               "differs in shape from layer 0; prune the "
                               "uniform model", (long long)l);
    }
    return CPR_OK;
}

enum cpr_status cpr_cfsp_prune(struct cpr_model *m, const int32_t *windows,
                               int64_t n_seq, int64_t seqlen,
                               const struct cpr_struct_opts *o,
                               struct cpr_pool *pool,
                               struct cpr_struct_plan *plan,
                               struct cpr_cfsp_report *report,
                               struct cpr_err *err) {
    memset(plan, 0, sizeof *plan);
    if (report) memset(report, 0, sizeof *report);
    if (!(o->ratio > 0 && o->ratio < 1))
        return cpr_err_set(err, CPR_ERR_ARG, "cfsp: ratio %g outside (0, 1)",
                           o->ratio);
    if ((unsigned)o->cfsp_global > CPR_CFSP_AVG ||
        (unsigned)o->cfsp_local > CPR_CFSP_WANDA_BASE)
        return cpr_err_set(err, CPR_ERR_ARG, "cfsp: unknown metric");
    CPR_TRY(cpr_cfsp_check_model(m, err));
    if (!windows || n_seq < 1 || seqlen < 1)
        return cpr_err_set(err, CPR_ERR_ARG, "cfsp: needs calibration "
                           "windows");
    const int64_t L = m->cfg.n_layers, H = m->cfg.hidden;
    const struct cpr_layer_shape sh0 = cpr_layer_shape_of(m, 0);
    const int64_t I = sh0.intermediate;
    CPR_TRY(cpr_struct_plan_init(plan, m, err));
    struct cpr_forward f = {0};
    struct scaler sc = {I, 0, NULL};
    const size_t hb = (size_t)(n_seq * seqlen * H) * sizeof(float);
    float *hid = malloc(hb), *in = malloc(hb);
    double *imp = calloc((size_t)L, sizeof *imp);
    double *kf = calloc((size_t)L, sizeof *kf);
    double *score = malloc((size_t)(L * I) * sizeof *score);
    sc.v = malloc((size_t)I * sizeof *sc.v);
    enum cpr_status s = CPR_OK;
    if (!hid || !in || !imp || !kf || !score || !sc.v)
        s = cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: %zu bytes of calibration "
                        "activations", 2 * hb);
    if (!s) s = cpr_forward_init(&f, m, NULL, pool, n_seq < 8 ? n_seq : 8,
                                 seqlen, err);
    for (int64_t s0 = 0; !s && s0 < n_seq; s0 += f.max_seq) {
        const int64_t ns = n_seq - s0 < f.max_seq ? n_seq - s0 : f.max_seq;
        s = cpr_forward_embed(&f, windows + s0 * seqlen, ns, seqlen,
                              hid + s0 * seqlen * H, err);
    }
    for (int64_t l = 0; !s && l < L; l++) {
        memset(sc.v, 0, (size_t)I * sizeof *sc.v);
        sc.n = 0;
        memcpy(in, hid, hb);
        struct cpr_block_hook hook = {on_down, &sc,
                                      1u << CPR_CAPTURE_DOWN_IN};
        for (int64_t s0 = 0; !s && s0 < n_seq; s0 += f.max_seq) {
            const int64_t ns = n_seq - s0 < f.max_seq ? n_seq - s0
                                                       : f.max_seq;
            s = cpr_forward_block(&f, l, hid + s0 * seqlen * H, ns, seqlen,
                                  &hook, err);
        }
        // per window, as the reference sums python floats window by window
        for (int64_t q = 0; !s && q < n_seq; q++)
            imp[l] += o->cfsp_global == CPR_CFSP_AVG
                          ? 100.0
                          : block_distance(o->cfsp_global,
                                           in + q * seqlen * H,
                                           hid + q * seqlen * H, seqlen, H);
        if (!s) s = channel_scores(o, &m->layers[l], sc.v, score + l * I,
                                   err);
    }
    if (!s) keep_fractions(o, imp, L, kf);
    for (int64_t l = 0; !s && l < L; l++) {
        struct cpr_struct_layer_plan *lp = &plan->layers[l];
        lp->keep_ch = malloc((size_t)I);
        if (!lp->keep_ch) s = cpr_err_set(err, CPR_ERR_NOMEM, "cfsp: masks");
        if (!s) s = mask_layer(o, score + l * I, I, kf[l], lp->keep_ch, err);
    }
    if (!s) s = cpr_struct_plan_apply(plan, m, err);
    if (!s && report) {
        report->n_layers = L;
        report->importance = imp, report->keep = kf;
        imp = kf = NULL;
    }
    cpr_forward_free(&f);
    free(hid), free(in), free(imp), free(kf), free(score), free(sc.v);
    if (s) cpr_struct_plan_free(plan);
    return s;
}
