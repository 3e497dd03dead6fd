// methods/hutchinson.c: Hutchinson Hessian traces per decoder linear
// (contract in hutchinson.h).
#include "methods/hutchinson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backward.h"
#include "core/matmul_bwd.h"

static uint64_t mix64(uint64_t z) { // splitmix64's finalizer
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t probe_key(uint64_t seed, int64_t iter, int64_t lin) {
    return mix64(mix64(mix64(seed) + (uint64_t)iter) + (uint64_t)lin);
}

// Bit e of the probe's stream: word e/64 = mix64(key + e/64), bit e%64.
static int sign_of(uint64_t key, int64_t e) {
    uint64_t w = mix64(key + (uint64_t)(e >> 6));
    return (w >> (e & 63)) & 1u ? -1 : 1;
}

int cpr_hutch_sign(uint64_t seed, int64_t iter, int64_t lin, int64_t e) {
    return sign_of(probe_key(seed, iter, lin), e);
}

// The perturbed model: a shallow copy of m whose decoder linears are owned
// f32 tensors (w + s eps v), and the bookkeeping of one probe.
struct hutch {
    const struct cpr_model *m; // the caller's (read only)
    struct cpr_model pm;       // layers copied; linears replaced
    struct cpr_tensor *own;    // (n_lin) the f32 copies pm points at
    enum cpr_linear_role *role; // (n_lin)
    int64_t n_lin, per_layer;
    float *dw, *row;           // scratch: largest linear, widest row
    double *acc;               // (n_lin) sum over windows of v . g
    uint64_t seed;
    int64_t iter;
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
};

static void hutch_free(struct hutch *h) {
    for (int64_t i = 0; h->own && i < h->n_lin; i++)
        cpr_tensor_free(&h->own[i]);
    free(h->own);
    free(h->role);
    free(h->pm.layers);
    free(h->dw);
    free(h->row);
    free(h->acc);
    memset(h, 0, sizeof *h);
}

static enum cpr_status hutch_init(struct hutch *h, const struct cpr_model *m,
                                  struct cpr_err *err) {
    const int64_t L = m->cfg.n_layers;
    h->m = m;
    h->pm = *m;
    h->pm.backing = NULL;
    h->pm.backing_free = NULL;
    h->per_layer = cpr_model_linears_per_layer(m);
    h->n_lin = L * h->per_layer;
    h->pm.layers = malloc((size_t)(L ? L : 1) * sizeof *h->pm.layers);
    h->own = calloc((size_t)(h->n_lin ? h->n_lin : 1), sizeof *h->own);
    h->role = calloc((size_t)(h->n_lin ? h->n_lin : 1), sizeof *h->role);
    h->acc = calloc((size_t)(h->n_lin ? h->n_lin : 1), sizeof *h->acc);
    if (!h->pm.layers || !h->own || !h->role || !h->acc)
        return cpr_err_set(err, CPR_ERR_NOMEM, "hutchinson: tables");
    memcpy(h->pm.layers, m->layers, (size_t)L * sizeof *h->pm.layers);
    size_t big = 1, wide = 1;
    for (int64_t l = 0; l < L; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears(&h->pm, l, r, CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const int64_t i = l * h->per_layer + j;
            const struct cpr_tensor *t = r[j].w;
            if (!t->data || t->ndim != 2 || t->sparse)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "hutchinson: "
                                   "layer %lld %s is %s; the trace needs "
                                   "every decoder linear dense",
                                   (long long)l, r[j].name,
                                   t->sparse ? "compressed" : "empty");
            CPR_TRY(cpr_tensor_copy_f32(&h->own[i], t, err));
            *r[j].w = h->own[i]; // pm now points at the copy (borrowed)
            r[j].w->owns_data = 0;
            h->role[i] = r[j].role;
            const size_t n = (size_t)(t->shape[0] * t->shape[1]);
            if (n > big) big = n;
            if ((size_t)t->shape[1] > wide) wide = (size_t)t->shape[1];
        }
    }
    h->dw = malloc(big * sizeof *h->dw);
    h->row = malloc(wide * sizeof *h->row);
    if (!h->dw || !h->row)
        return cpr_err_set(err, CPR_ERR_NOMEM, "hutchinson: scratch of %zu "
                           "floats", big);
    return CPR_OK;
}

// pm's linears = w + s * eps * v for probe h->iter (s = +1 or -1).
static void perturb(struct hutch *h, double s_eps) {
    for (int64_t l = 0; l < h->m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears((struct cpr_model *)h->m, l, r,
                                         CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const int64_t i = l * h->per_layer + j;
            const uint64_t key = probe_key(h->seed, h->iter, i);
            const int64_t R = r[j].w->shape[0], C = r[j].w->shape[1];
            float *dst = h->own[i].data;
            for (int64_t a = 0; a < R; a++) {
                cpr_tensor_row_f32(r[j].w, a, h->row);
                for (int64_t b = 0; b < C; b++)
                    dst[a * C + b] = (float)((double)h->row[b] +
                                             s_eps * sign_of(key, a * C + b));
            }
        }
    }
}

// Gradient hook: acc[i] += v_i . dW_i.
static enum cpr_status on_grad(void *user, const struct cpr_grad *g,
                               struct cpr_err *err) {
    struct hutch *h = user;
    int64_t i = -1;
    for (int64_t j = 0; j < h->per_layer; j++)
        if (h->role[g->layer * h->per_layer + j] == g->role)
            i = g->layer * h->per_layer + j;
    if (i < 0)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "hutchinson: layer %lld "
                           "has no %s", (long long)g->layer,
                           cpr_role_name(g->role));
    const size_t R = (size_t)g->n_out, C = (size_t)g->n_in;
    CPR_TRY(cpr_matmul_dw(h->pool, h->k, (size_t)g->n_rows, R, C, 1.0f, g->dy,
                          R, g->x, C, 0.0f, h->dw, C, err));
    const uint64_t key = probe_key(h->seed, h->iter, i);
    double s = 0.0;
    for (size_t e = 0; e < R * C; e++)
        s += sign_of(key, (int64_t)e) > 0 ? (double)h->dw[e]
                                          : -(double)h->dw[e];
    h->acc[i] += s;
    return CPR_OK;
}

void cpr_hutch_result_free(struct cpr_hutch_result *res) {
    if (!res) return;
    free(res->trace);
    free(res->stderr_);
    free(res->sens);
    free(res->samples);
    memset(res, 0, sizeof *res);
}

enum cpr_status cpr_hutchinson(const struct cpr_model *m,
                               const int32_t *windows, int64_t n_win,
                               int64_t seqlen,
                               const struct cpr_hutch_opts *o,
                               const struct cpr_kernels *k,
                               struct cpr_pool *pool,
                               struct cpr_hutch_result *res,
                               struct cpr_err *err) {
    memset(res, 0, sizeof *res);
    if (!windows || n_win < 1 || seqlen < 2)
        return cpr_err_set(err, CPR_ERR_ARG, "hutchinson: needs >= 1 window "
                           "of >= 2 tokens (found %lld of %lld)",
                           (long long)n_win, (long long)seqlen);
    if (o->max_iter < 1 || !(o->eps > 0.0) || !(o->tol >= 0.0))
        return cpr_err_set(err, CPR_ERR_ARG, "hutchinson: max_iter >= 1, "
                           "eps > 0 and tol >= 0 expected (found %lld, %g, "
                           "%g)", (long long)o->max_iter, o->eps, o->tol);
    if (!k) k = cpr_kernels_get();
    struct hutch h;
    memset(&h, 0, sizeof h);
    struct cpr_backward b;
    memset(&b, 0, sizeof b);
    enum cpr_status s = hutch_init(&h, m, err);
    h.seed = o->seed;
    h.pool = pool;
    h.k = k;
    const int64_t n = h.n_lin;
    if (!s) {
        res->n_lin = n;
        res->trace = calloc((size_t)(n ? n : 1), sizeof *res->trace);
        res->stderr_ = calloc((size_t)(n ? n : 1), sizeof *res->stderr_);
        res->sens = calloc((size_t)(n ? n : 1), sizeof *res->sens);
        res->samples = calloc((size_t)(n ? n : 1) * (size_t)o->max_iter,
                              sizeof *res->samples);
        if (!res->trace || !res->stderr_ || !res->sens || !res->samples)
            s = cpr_err_set(err, CPR_ERR_NOMEM, "hutchinson: results");
    }
    if (!s) s = cpr_backward_init(&b, &h.pm, k, pool, 1, seqlen, err);
    double pooled = 0.0, mean_old = 0.0;
    for (int64_t it = 0; it < o->max_iter && !s; it++) {
        h.iter = it;
        double *row = res->samples + it * n;
        for (int side = 0; side < 2 && !s; side++) {
            memset(h.acc, 0, (size_t)n * sizeof *h.acc);
            perturb(&h, side ? -o->eps : o->eps);
            for (int64_t w = 0; w < n_win && !s; w++)
                s = cpr_backward_run(&b, windows + w * seqlen, 1, seqlen, 1.0f,
                                     on_grad, &h, NULL, err);
            for (int64_t i = 0; i < n; i++)
                row[i] += side ? -h.acc[i] : h.acc[i];
        }
        if (s) break;
        for (int64_t i = 0; i < n; i++) {
            row[i] /= 2.0 * o->eps * (double)n_win;
            pooled += row[i];
        }
        res->iters = it + 1;
        const double mean_new = pooled / (double)((it + 1) * n);
        if (fabs(mean_new - mean_old) / (fabs(mean_old) + 1e-6) < o->tol)
            break;
        mean_old = mean_new;
    }
    cpr_backward_free(&b);
    for (int64_t i = 0; i < n && !s; i++) {
        const int64_t T = res->iters;
        double sum = 0.0, ss = 0.0;
        for (int64_t it = 0; it < T; it++) sum += res->samples[it * n + i];
        const double mean = sum / (double)T;
        for (int64_t it = 0; it < T; it++) {
            const double d = res->samples[it * n + i] - mean;
            ss += d * d;
        }
        res->trace[i] = mean;
        res->stderr_[i] = T > 1 ? sqrt(ss / (double)(T - 1) / (double)T) : 0.0;
        const struct cpr_tensor *t = &h.own[i];
        res->sens[i] = fabs(mean) / (double)(t->shape[0] * t->shape[1]);
    }
    hutch_free(&h);
    return s;
}

size_t cpr_hutch_bytes(const struct cpr_model *m, int64_t seqlen,
                       size_t n_threads, int64_t max_iter) {
    size_t copy = 0, big = 0, n_lin = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears((struct cpr_model *)m, l, r,
                                         CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) {
            const size_t n = (size_t)cpr_tensor_numel(r[j].w);
            copy += n;
            if (n > big) big = n;
        }
        n_lin += (size_t)nl;
    }
    return (copy + big) * sizeof(float) +
           cpr_backward_bytes(m, n_threads, 1, seqlen) +
           n_lin * (size_t)(max_iter > 0 ? max_iter : 1) * sizeof(double);
}
