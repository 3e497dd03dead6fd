// methods/gradstats.c: GBLM gradient accumulators (see gradstats.h).
#include "methods/gradstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul_bwd.h"


static enum cpr_status init_any(struct cpr_gradstats *gs,
                                const struct cpr_model *m,
                                const struct cpr_kernels *k,
                                struct cpr_pool *pool,
                                const struct cpr_scratch_io *io, int64_t l0,
                                int64_t l1, struct cpr_err *err) {
    memset(gs, 0, sizeof *gs);
    if (l0 < 0 || l1 > m->cfg.n_layers || l0 >= l1)
        return cpr_err_set(err, CPR_ERR_ARG, "gradstats: layers [%lld, %lld) "
                           "of %lld", (long long)l0, (long long)l1,
                           (long long)m->cfg.n_layers);
    gs->lay0 = l0, gs->lay1 = l1;
    gs->io = io;
    gs->cur = -1;
    gs->n_layers = m->cfg.n_layers;
    gs->k = k ? k : cpr_kernels_get();
    gs->pool = pool;
    // one accumulator pair per entry of the model's linear table (LLaMA:
    // q k v o gate up down; OPT: q k v o fc1 down; GPT-2/NeoX: qkv o fc1
    // down), keyed by role
    const size_t n_roles = (size_t)cpr_model_linears_per_layer(m);
    gs->per_layer = n_roles;
    gs->n_lin = (size_t)m->cfg.n_layers * n_roles;
    gs->lin = calloc(gs->n_lin ? gs->n_lin : 1, sizeof *gs->lin);
    if (!gs->lin) goto nomem;
    size_t biggest = 0, total = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        size_t layer = 0;
        struct cpr_linear_ref lr[CPR_MAX_LINEARS];
        cpr_layer_linears((struct cpr_model *)m, l, lr, CPR_MAX_LINEARS);
        for (size_t r = 0; r < n_roles; r++) {
            struct cpr_gradstats_lin *e = &gs->lin[(size_t)l * n_roles + r];
            const struct cpr_tensor *w = lr[r].w;
            e->layer = l, e->role = lr[r].role;
            e->rows = (size_t)w->shape[0], e->cols = (size_t)w->shape[1];
            size_t n = e->rows * e->cols;
            if (l < l0 || l >= l1) continue; // no gradients kept
            total += 2 * n;
            layer += 2 * n;
            if (n > biggest) biggest = n;
            if (io) continue; // the slab holds them
            e->l1 = calloc(n ? n : 1, sizeof(float));
            e->l2 = calloc(n ? n : 1, sizeof(float));
            if (!e->l1 || !e->l2) {
                cpr_gradstats_free(gs);
                return cpr_err_set(err, CPR_ERR_NOMEM,
                                   "gradstats: cannot allocate the "
                                   "accumulators of layer %lld (%zu bytes "
                                   "so far)", (long long)l,
                                   total * sizeof(float));
            }
        }
        if (layer > gs->slab_floats) gs->slab_floats = layer;
    }
    gs->dw = malloc((biggest ? biggest : 1) * sizeof(float));
    if (!gs->dw) goto nomem;
    if (io) {
        gs->slab = malloc((gs->slab_floats ? gs->slab_floats : 1) *
                          sizeof(float));
        gs->stored = calloc((size_t)(gs->n_layers ? gs->n_layers : 1), 1);
        if (!gs->slab || !gs->stored) {
            cpr_gradstats_free(gs);
            return cpr_err_set(err, CPR_ERR_NOMEM, "gradstats: cannot "
                               "allocate one layer slab (%zu bytes)",
                               gs->slab_floats * sizeof(float));
        }
    }
    return CPR_OK;
nomem:
    cpr_gradstats_free(gs);
    return cpr_err_set(err, CPR_ERR_NOMEM, "gradstats: out of memory");
}

enum cpr_status cpr_gradstats_init(struct cpr_gradstats *gs,
                                   const struct cpr_model *m,
                                   const struct cpr_kernels *k,
                                   struct cpr_pool *pool, struct cpr_err *err) {
    return init_any(gs, m, k, pool, NULL, 0, m->cfg.n_layers, err);
}

enum cpr_status cpr_gradstats_init_scratch(struct cpr_gradstats *gs,
                                           const struct cpr_model *m,
                                           const struct cpr_kernels *k,
                                           struct cpr_pool *pool,
                                           const struct cpr_scratch_io *io,
                                           struct cpr_err *err) {
    if (!io || !io->read || !io->write)
        return cpr_err_set(err, CPR_ERR_ARG, "gradstats: no scratch store");
    return init_any(gs, m, k, pool, io, 0, m->cfg.n_layers, err);
}

enum cpr_status cpr_gradstats_init_range(struct cpr_gradstats *gs,
                                         const struct cpr_model *m,
                                         const struct cpr_kernels *k,
                                         struct cpr_pool *pool,
                                         const struct cpr_scratch_io *io,
                                         int64_t l0, int64_t l1,
                                         struct cpr_err *err) {
    if (io && (!io->read || !io->write))
        return cpr_err_set(err, CPR_ERR_ARG, "gradstats: no scratch store");
    return init_any(gs, m, k, pool, io, l0, l1, err);
}

void cpr_gradstats_free(struct cpr_gradstats *gs) {
    if (!gs) return;
    free(gs->slab);
    free(gs->stored);
    for (size_t i = 0; !gs->io && gs->lin && i < gs->n_lin; i++) {
        free(gs->lin[i].l1);
        free(gs->lin[i].l2);
    }
    free(gs->lin);
    free(gs->dw);
    memset(gs, 0, sizeof *gs);
}

const struct cpr_gradstats_lin *cpr_gradstats_get(const struct cpr_gradstats *gs,
                                                  int64_t layer,
                                                  enum cpr_linear_role role) {
    if (layer < gs->lay0 || layer >= gs->lay1) return NULL; // not kept
    if (gs->io && layer != gs->cur) return NULL; // not resident
    for (size_t r = 0; r < gs->per_layer; r++) {
        size_t i = (size_t)layer * gs->per_layer + r;
        if (layer >= 0 && i < gs->n_lin && gs->lin[i].role == role)
            return &gs->lin[i];
    }
    return NULL;
}

static void finish_lin(struct cpr_gradstats_lin *e, enum cpr_grad_dtype dt);

// Slab layout of layer l: for each linear, l1 then l2 (rows * cols each);
// layer l lives at byte l * slab_floats * 4 of the store. stored[l]: 0
// never written (zeros, no read), 1 raw sums, 2 finished (only the layer
// resident at cpr_gradstats_finish with unwritten sums). A raw slab loaded
// after cpr_gradstats_finish is finished in RAM on each load and never
// written back (the finish is a pure function of the sums).
static enum cpr_status make_resident(struct cpr_gradstats *gs, int64_t layer,
                                     struct cpr_err *err) {
    if (!gs->io || gs->cur == layer) return CPR_OK;
    if (layer < gs->lay0 || layer >= gs->lay1)
        return cpr_err_set(err, CPR_ERR_ARG, "gradstats: layer %lld outside "
                           "the accumulated layers [%lld, %lld)",
                           (long long)layer, (long long)gs->lay0,
                           (long long)gs->lay1);
    const uint64_t stride = (uint64_t)gs->slab_floats * sizeof(float);
    size_t used = 0;
    if (gs->cur >= 0) {
        for (size_t r = 0; r < gs->per_layer; r++) {
            struct cpr_gradstats_lin *e =
                &gs->lin[(size_t)gs->cur * gs->per_layer + r];
            used += 2 * e->rows * e->cols;
            e->l1 = e->l2 = NULL;
        }
        if (gs->dirty) {
            CPR_TRY(gs->io->write(gs->io->user,
                                  (uint64_t)(gs->cur - gs->lay0) * stride,
                                  gs->slab, used * sizeof(float), err));
            gs->bytes_written += used * sizeof(float);
            gs->stored[gs->cur] = gs->cur_finished ? 2 : 1;
        }
    }
    gs->cur = -1;
    gs->dirty = gs->cur_finished = 0;
    size_t off = 0;
    for (size_t r = 0; r < gs->per_layer; r++) {
        struct cpr_gradstats_lin *e = &gs->lin[(size_t)layer * gs->per_layer + r];
        const size_t n = e->rows * e->cols;
        e->l1 = gs->slab + off;
        e->l2 = gs->slab + off + n;
        off += 2 * n;
    }
    if (gs->stored[layer]) {
        CPR_TRY(gs->io->read(gs->io->user,
                             (uint64_t)(layer - gs->lay0) * stride, gs->slab,
                             off * sizeof(float), err));
        gs->bytes_read += off * sizeof(float);
    } else {
        memset(gs->slab, 0, off * sizeof(float));
    }
    gs->cur = layer;
    if (gs->finished && gs->stored[layer] != 2)
        for (size_t r = 0; r < gs->per_layer; r++)
            finish_lin(&gs->lin[(size_t)layer * gs->per_layer + r], gs->dt);
    return CPR_OK;
}

enum cpr_status cpr_gradstats_load(struct cpr_gradstats *gs, int64_t layer,
                                   struct cpr_err *err) {
    if (layer < gs->lay0 || layer >= gs->lay1)
        return cpr_err_set(err, CPR_ERR_ARG, "gradstats: layer %lld outside "
                           "the accumulated layers [%lld, %lld)",
                           (long long)layer, (long long)gs->lay0,
                           (long long)gs->lay1);
    return make_resident(gs, layer, err);
}

enum cpr_status cpr_gradstats_hook(void *user, const struct cpr_grad *g,
                                   struct cpr_err *err) {
    struct cpr_gradstats *gs = user;
    if (g->layer < gs->lay0 || g->layer >= gs->lay1) return CPR_OK; // unkept
    if (gs->finished)
        return cpr_err_set(err, CPR_ERR_INTERNAL, "gradstats: a gradient "
                           "after cpr_gradstats_finish");
    CPR_TRY(make_resident(gs, g->layer, err));
    gs->dirty = 1;
    struct cpr_gradstats_lin *e =
        (struct cpr_gradstats_lin *)cpr_gradstats_get(gs, g->layer, g->role);
    if (!e || e->rows != (size_t)g->n_out || e->cols != (size_t)g->n_in)
        return cpr_err_set(err, CPR_ERR_SHAPE,
                           "gradstats: layer %lld %s: gradient (%lld, %lld) "
                           "does not match the accumulators",
                           (long long)g->layer, cpr_role_name(g->role),
                           (long long)g->n_out, (long long)g->n_in);
    CPR_TRY(cpr_matmul_dw(gs->pool, gs->k, (size_t)g->n_rows, e->rows, e->cols,
                          1.0f, g->dy, e->rows, g->x, e->cols, 0.0f, gs->dw,
                          e->cols, err));
    size_t n = e->rows * e->cols;
    for (size_t i = 0; i < n; i++) {
        float v = gs->dw[i];
        e->l1[i] += fabsf(v);
        e->l2[i] += v * v;
    }
    return CPR_OK;
}

enum cpr_status cpr_gradstats_window(struct cpr_gradstats *gs,
                                     struct cpr_backward *b,
                                     const int32_t *tokens, int64_t seqlen,
                                     float scale, double *loss,
                                     struct cpr_err *err) {
    CPR_TRY(cpr_backward_run(b, tokens, 1, seqlen, scale, cpr_gradstats_hook,
                             gs, loss, err));
    gs->n_windows++;
    return CPR_OK;
}

enum cpr_status cpr_gradstats_windows(struct cpr_gradstats *gs,
                                      struct cpr_backward *b,
                                      const int32_t *tokens, int64_t n_win,
                                      int64_t seqlen, float scale,
                                      double *loss, struct cpr_err *err) {
    CPR_TRY(cpr_backward_run_windows(b, tokens, n_win, seqlen, scale,
                                     cpr_gradstats_hook, gs, loss, err));
    gs->n_windows += (size_t)n_win;
    return CPR_OK;
}

size_t cpr_gradstats_slab_bytes(const struct cpr_model *m) {
    size_t most = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        size_t n = 0;
        struct cpr_linear_ref lr[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears((struct cpr_model *)m, l, lr,
                                         CPR_MAX_LINEARS);
        for (int r = 0; r < nl; r++)
            n += (size_t)lr[r].w->shape[0] * (size_t)lr[r].w->shape[1];
        if (n > most) most = n;
    }
    return 2 * most * sizeof(float);
}

int64_t cpr_gradstats_group(const struct cpr_model *m, int scratch,
                            int64_t seqlen, int64_t n_windows) {
    if (!scratch || n_windows < 2) return 1;
    const size_t per = ((size_t)m->cfg.n_layers + 1) * (size_t)seqlen *
                       (size_t)m->cfg.hidden * sizeof(float);
    int64_t g = 1 + (int64_t)(cpr_gradstats_slab_bytes(m) / (per ? per : 1));
    return g < n_windows ? g : n_windows;
}

static float round_bf16(float x) { // round to nearest even, NaN kept
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return x;
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void finish_lin(struct cpr_gradstats_lin *e, enum cpr_grad_dtype dt) {
    size_t n = e->rows * e->cols;
    for (size_t j = 0; j < n; j++) {
        e->l2[j] = sqrtf(e->l2[j]);
        if (dt == CPR_GRAD_BF16) {
            e->l1[j] = round_bf16(e->l1[j]);
            e->l2[j] = round_bf16(e->l2[j]);
        }
    }
}

void cpr_gradstats_finish(struct cpr_gradstats *gs, enum cpr_grad_dtype dt) {
    if (gs->finished) return;
    gs->dt = dt;
    gs->finished = 1;
    if (gs->io) { // the resident slab now; the others when loaded
        if (gs->cur >= 0) {
            for (size_t r = 0; r < gs->per_layer; r++)
                finish_lin(&gs->lin[(size_t)gs->cur * gs->per_layer + r], dt);
            // unwritten sums: the slab goes to the store finished
            gs->cur_finished = gs->dirty;
        }
        return;
    }
    for (size_t i = 0; i < gs->n_lin; i++)
        if (gs->lin[i].l1) finish_lin(&gs->lin[i], dt);
}
