// methods/llmpruner.c: LLM-Pruner block-wise importance and selection
// (see llmpruner.h). Gradients come from core/backward's hook; the
// per-element salience is reduced to per-row / per-column member vectors
// inside the hook, so dL/dW is never stored (acc = sum g^2 / n is, for the
// layers in range, when param_second / param_mix need it).
#include "methods/llmpruner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arch_name.h"
#include "core/backward.h"
#include "core/matmul_bwd.h"
#include "core/rng.h"
#include "methods/slab_store.h"

// The coupled linears ("members") a layer may have. M_QKV is the fused
// q/k/v of GPT-NeoX / GPT-2 (then M_Q, M_K, M_V are absent); M_UP is up_proj
// or, in a non-gated MLP, fc1 (then M_GATE is absent).
enum { M_Q = 0, M_K, M_V, M_QKV, M_O, M_GATE, M_UP, M_DOWN, N_MEMBERS };

static const char *const IMP_NAMES[] = {"taylor", "l1", "l2", "random"};
static const char *const TAYLOR_NAMES[] = {"param_mix", "param_first",
                                           "param_second", "vectorize"};
static const char *const REDUCE_NAMES[] = {"sum", "mean", "max"};

static int parse_name(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

const char *cpr_llmp_importance_name(enum cpr_llmp_importance x) {
    return (unsigned)x < 4 ? IMP_NAMES[x] : "?";
}
int cpr_llmp_importance_parse(const char *s) {
    return parse_name(s, IMP_NAMES, 4);
}
const char *cpr_llmp_taylor_name(enum cpr_llmp_taylor x) {
    return (unsigned)x < 4 ? TAYLOR_NAMES[x] : "?";
}
int cpr_llmp_taylor_parse(const char *s) {
    return parse_name(s, TAYLOR_NAMES, 4);
}
const char *cpr_llmp_reduce_name(enum cpr_llmp_reduce x) {
    return (unsigned)x < 3 ? REDUCE_NAMES[x] : "?";
}
int cpr_llmp_reduce_parse(const char *s) {
    return parse_name(s, REDUCE_NAMES, 3);
}

void cpr_llmp_scores_free(struct cpr_llmp_scores *sc) {
    for (int64_t l = 0; l < sc->n_layers; l++) {
        if (sc->attn) free(sc->attn[l]);
        if (sc->mlp) free(sc->mlp[l]);
    }
    free(sc->attn);
    free(sc->mlp);
    memset(sc, 0, sizeof *sc);
}

static int member_of(enum cpr_linear_role r) {
    switch (r) {
    case CPR_ROLE_Q: return M_Q;
    case CPR_ROLE_K: return M_K;
    case CPR_ROLE_V: return M_V;
    case CPR_ROLE_QKV: return M_QKV;
    case CPR_ROLE_O: return M_O;
    case CPR_ROLE_GATE: return M_GATE;
    case CPR_ROLE_UP: case CPR_ROLE_FC1: return M_UP;
    case CPR_ROLE_DOWN: return M_DOWN;
    default: return -1;
    }
}

static int gated(const struct cpr_model *m) {
    return m->cfg.block.mlp == CPR_MLP_SWIGLU ||
           m->cfg.block.mlp == CPR_MLP_GEGLU_TANH;
}

// 1 when m's blocks have member mb.
static int member_present(const struct cpr_model *m, int mb) {
    const int fused = m->cfg.block.qkv != CPR_QKV_SEPARATE;
    switch (mb) {
    case M_Q: case M_K: case M_V: return !fused;
    case M_QKV: return fused;
    case M_GATE: return gated(m);
    default: return 1;
    }
}

static const struct cpr_tensor *member_weight(const struct cpr_layer *L,
                                              int mb) {
    switch (mb) {
    case M_Q: return &L->wq;
    case M_K: return &L->wk;
    case M_V: return &L->wv;
    case M_QKV: return &L->wqkv;
    case M_O: return &L->wo;
    case M_GATE: return &L->w_gate;
    case M_UP: return &L->w_up;
    default: return &L->w_down;
    }
}

static const char *member_name(const struct cpr_model *m, int mb) {
    static const char *const N[N_MEMBERS] = {"q", "k", "v", "qkv", "o",
                                             "gate", "up", "down"};
    return mb == M_UP && !gated(m) ? "fc1" : N[mb];
}

// o_proj and down_proj are coupled through their input columns.
static int by_column(int mb) { return mb == M_O || mb == M_DOWN; }

struct lp_state {
    const struct cpr_model *m;
    const struct cpr_llmp_opts *o;
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    int64_t n_seq;        // windows (acc divides by it)
    int acc_pass;         // 1: add g^2 / n into acc; 0: member vectors
    double **vec;         // [layer * N_MEMBERS + mb] member vectors
    // acc per layer (its members one after another at acc_off[layer *
    // N_MEMBERS + mb]), in RAM or a scratch store (o->acc_store); NULL
    // unless param_second / param_mix
    struct cpr_slabs *acc;
    size_t *acc_off;
    float *dw, *wrow;     // scratch: largest linear, widest row
};

static int in_range(const struct cpr_llmp_opts *o, int64_t l) {
    return l >= o->layer_start && l < o->layer_end;
}

// Salience of one element (f32, the reference's evaluation order).
static float salience(enum cpr_llmp_importance imp, enum cpr_llmp_taylor t,
                      float w, float g, float acc) {
    if (imp == CPR_LLMP_L1) return fabsf(w);
    if (imp == CPR_LLMP_L2) return fabsf(w) * fabsf(w);
    float s = w * g;
    if (t == CPR_LLMP_PARAM_SECOND) {
        s = w * acc;
        s = s * w;
    } else if (t == CPR_LLMP_PARAM_MIX) {
        float h = 0.5f * w;
        h = h * acc;
        h = h * w;
        s = s - h;
    }
    return s;
}

// Member vector of linear mb of layer l from its weight W, gradient g
// (rows x cols, NULL for l1/l2) and acc (NULL unless needed).
static void member_vector(struct lp_state *st, int64_t l, int mb,
                          const float *g, const float *acc) {
    const struct cpr_tensor *w = member_weight(&st->m->layers[l], mb);
    const int64_t rows = w->shape[0], cols = w->shape[1];
    double *v = st->vec[l * N_MEMBERS + mb];
    const int signed_sum = st->o->importance == CPR_LLMP_TAYLOR &&
                           st->o->taylor == CPR_LLMP_VECTORIZE;
    const int col = by_column(mb);
    memset(v, 0, (size_t)(col ? cols : rows) * sizeof *v);
    for (int64_t r = 0; r < rows; r++) {
        cpr_tensor_row_f32(w, r, st->wrow);
        const float *gr = g ? g + r * cols : NULL;
        const float *ar = acc ? acc + r * cols : NULL;
        double rs = 0;
        for (int64_t c = 0; c < cols; c++) {
            float s = salience(st->o->importance, st->o->taylor, st->wrow[c],
                               gr ? gr[c] : 0.0f, ar ? ar[c] : 0.0f);
            double x = signed_sum ? (double)s : fabs((double)s);
            if (col) v[c] += x;
            else rs += x;
        }
        if (!col) v[r] = signed_sum ? fabs(rs) : rs;
    }
    if (col && signed_sum)
        for (int64_t c = 0; c < cols; c++) v[c] = fabs(v[c]);
}

static enum cpr_status grad_hook(void *user, const struct cpr_grad *g,
                                 struct cpr_err *err) {
    struct lp_state *st = user;
    const int mb = member_of(g->role);
    if (mb < 0 || !in_range(st->o, g->layer)) return CPR_OK;
    const size_t rows = (size_t)g->n_out, cols = (size_t)g->n_in;
    CPR_TRY(cpr_matmul_dw(st->pool, st->k, (size_t)g->n_rows, rows, cols,
                          1.0f, g->dy, rows, g->x, cols, 0.0f, st->dw, cols,
                          err));
    float *acc = NULL;
    if (st->acc) {
        CPR_TRY(cpr_slabs_get(st->acc, g->layer, st->acc_pass, &acc, err));
        acc += st->acc_off[g->layer * N_MEMBERS + mb];
    }
    if (st->acc_pass) {
        const float n = (float)st->n_seq;
        for (size_t i = 0; i < rows * cols; i++) {
            float q = st->dw[i] * st->dw[i];
            acc[i] += q / n;
        }
        return CPR_OK;
    }
    member_vector(st, g->layer, mb, st->dw, acc);
    return CPR_OK;
}

// Windows per layer-major group of the acc passes: as many as keep their
// extra checkpoints ((n_layers + 1) x seqlen x hidden f32 each beyond the
// first) within one more acc slab.
static int64_t acc_group(const struct lp_state *st, int64_t n_seq,
                         int64_t seqlen) {
    const struct cpr_model *m = st->m;
    const size_t per = ((size_t)m->cfg.n_layers + 1) * (size_t)seqlen *
                       (size_t)m->cfg.hidden * sizeof(float);
    size_t slab = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        if (st->acc->len[l] > slab) slab = st->acc->len[l];
    int64_t g = 1 + (int64_t)(slab * sizeof(float) / (per ? per : 1));
    return g < n_seq ? g : n_seq;
}

static enum cpr_status gradients(struct lp_state *st, const int32_t *windows,
                                 int64_t n_seq, int64_t seqlen, double *loss,
                                 struct cpr_err *err) {
    struct cpr_backward b;
    CPR_TRY(cpr_backward_init(&b, st->m, st->k, st->pool, n_seq, seqlen, err));
    enum cpr_status s = CPR_OK;
    if (st->acc) { // per-sample passes, batch 1 (hf_prune.py's loop)
        // in a scratch store: layer-major groups of windows, so each
        // layer's acc is read and written once per group (sums per weight
        // still add the windows in order: bit-identical)
        const int64_t grp = st->o->acc_store &&
                                    cpr_backward_windows_ok(st->m)
                                ? acc_group(st, n_seq, seqlen)
                                : 1;
        st->acc_pass = 1;
        for (int64_t j = 0; j < n_seq && !s; j += grp)
            s = grp == 1 ? cpr_backward_run(&b, windows + j * seqlen, 1,
                                            seqlen, 1.0f, grad_hook, st, NULL,
                                            err)
                         : cpr_backward_run_windows(
                               &b, windows + j * seqlen,
                               n_seq - j < grp ? n_seq - j : grp, seqlen,
                               1.0f, grad_hook, st, NULL, err);
        st->acc_pass = 0;
    }
    if (!s) // the batched pass over all windows gives .grad
        s = cpr_backward_run(&b, windows, n_seq, seqlen, 1.0f, grad_hook, st,
                             loss, err);
    cpr_backward_free(&b);
    return s;
}

// Fold v (n) to kv (n / kv, summed as view(n / kv, kv).sum(0)) into out.
static void fold_into(const double *v, int64_t n, int64_t kv, double *out) {
    for (int64_t c = 0; c < kv; c++) out[c] = 0;
    for (int64_t i = 0; i < n; i++) out[i % kv] += v[i];
}

// Reduce the members' aligned vectors a[0..nm) (each len) into out.
static void reduce(enum cpr_llmp_reduce red, double *const *a, int nm,
                   int64_t len, double *out) {
    for (int64_t i = 0; i < len; i++) {
        double x = a[0][i];
        for (int j = 1; j < nm; j++)
            x = red == CPR_LLMP_MAX ? (a[j][i] > x ? a[j][i] : x) : x + a[j][i];
        out[i] = red == CPR_LLMP_MEAN ? x / nm : x;
    }
}

// Row of the fused q/k/v weight holding part `which` (0 q, 1 k, 2 v) of
// channel p = h * hd + i (core/arch.h): GPT-NeoX per head [q k v], GPT-2
// q | k | v thirds.
static int64_t fused_row(enum cpr_qkv_kind kind, int64_t qd, int64_t hd,
                         int which, int64_t p) {
    if (kind == CPR_QKV_FUSED_HEADS)
        return (p / hd) * 3 * hd + which * hd + p % hd;
    return which * qd + p;
}

static enum cpr_status group_scores(struct lp_state *st, int64_t l,
                                    struct cpr_llmp_scores *sc,
                                    struct cpr_err *err) {
    const struct cpr_layer_shape sh = cpr_layer_shape_of(st->m, l);
    const int64_t hd = sh.head_dim, kvd = sh.n_kv_heads * hd;
    const int64_t qd = sh.n_heads * hd, I = sh.intermediate;
    double *const *v = st->vec + l * N_MEMBERS;
    const int fused = member_present(st->m, M_QKV);
    // fq, fo: q rows / o columns folded to kv_dim; with a fused q/k/v
    // (MHA: kv_dim = q_dim) fk, fv, fq its k, v, q parts, so the group has
    // the same four members as with separate linears
    double *buf = malloc((size_t)kvd * 5 * sizeof *buf);
    if (!buf)
        return cpr_err_set(err, CPR_ERR_NOMEM, "llm-pruner: out of memory");
    double *fq = buf, *fo = buf + kvd, *ch = buf + 2 * kvd;
    double *fk = buf + 3 * kvd, *fv = buf + 4 * kvd;
    if (fused) {
        const enum cpr_qkv_kind kind = st->m->cfg.block.qkv;
        for (int64_t p = 0; p < qd; p++) {
            fq[p] = v[M_QKV][fused_row(kind, qd, hd, 0, p)];
            fk[p] = v[M_QKV][fused_row(kind, qd, hd, 1, p)];
            fv[p] = v[M_QKV][fused_row(kind, qd, hd, 2, p)];
        }
    } else {
        fold_into(v[M_Q], qd, kvd, fq);
        memcpy(fk, v[M_K], (size_t)kvd * sizeof *fk);
        memcpy(fv, v[M_V], (size_t)kvd * sizeof *fv);
    }
    fold_into(v[M_O], qd, kvd, fo);
    double *att[4] = {fk, fv, fq, fo};
    reduce(st->o->reduce, att, 4, kvd, ch);
    for (int64_t u = 0; u < sh.n_kv_heads; u++) {
        double x = 0;
        for (int64_t d = 0; d < hd; d++) x += ch[u * hd + d];
        sc->attn[l][u] = x;
    }
    double *mlp[3] = {v[M_GATE], v[M_UP], v[M_DOWN]};
    if (gated(st->m))
        reduce(st->o->reduce, mlp, 3, I, sc->mlp[l]);
    else
        reduce(st->o->reduce, mlp + 1, 2, I, sc->mlp[l]);
    free(buf);
    return CPR_OK;
}

static enum cpr_status random_scores(const struct cpr_model *m,
                                     const struct cpr_llmp_opts *o,
                                     struct cpr_llmp_scores *sc) {
    struct cpr_rng rng;
    cpr_rng_seed(&rng, o->seed);
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        for (int64_t u = 0; u < sh.n_kv_heads; u++) {
            double x = 0;
            for (int64_t d = 0; d < sh.head_dim; d++)
                x += cpr_rng_uniform_f64(&rng);
            sc->attn[l][u] = x;
        }
        for (int64_t c = 0; c < sh.intermediate; c++)
            sc->mlp[l][c] = cpr_rng_uniform_f64(&rng);
    }
    return CPR_OK;
}

static void state_free(struct lp_state *st, int64_t n_layers) {
    for (int64_t i = 0; st->vec && i < n_layers * N_MEMBERS; i++)
        free(st->vec[i]);
    if (st->acc) cpr_slabs_free(st->acc);
    free(st->vec), free(st->acc_off), free(st->dw), free(st->wrow);
}

static enum cpr_status check_opts(const struct cpr_model *m,
                                  const struct cpr_llmp_opts *o,
                                  const int32_t *windows, int64_t n_seq,
                                  int64_t seqlen, struct cpr_err *err) {
    CPR_TRY(cpr_llmp_check_model(m, o, err));
    if (o->importance == CPR_LLMP_TAYLOR && (!windows || n_seq < 1 ||
                                              seqlen < 2))
        return cpr_err_set(err, CPR_ERR_ARG, "llm-pruner: taylor needs "
                           "calibration windows of >= 2 tokens");
    return CPR_OK;
}

enum cpr_status cpr_llmp_check_model(const struct cpr_model *m,
                                     const struct cpr_llmp_opts *o,
                                     struct cpr_err *err) {
    if (!(o->ratio >= 0 && o->ratio < 1))
        return cpr_err_set(err, CPR_ERR_ARG, "llm-pruner: ratio %g is not in "
                           "[0, 1)", o->ratio);
    if (o->layer_start < 0 || o->layer_end > m->cfg.n_layers ||
        o->layer_start >= o->layer_end)
        return cpr_err_set(err, CPR_ERR_ARG, "llm-pruner: layer range "
                           "[%lld, %lld) is empty or outside the model's %lld "
                           "layers", (long long)o->layer_start,
                           (long long)o->layer_end, (long long)m->cfg.n_layers);
    if (o->importance == CPR_LLMP_TAYLOR) // the gradients' block kinds
        CPR_TRY(cpr_backward_check_model(m, err));
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        if (!sh.has_attn || !sh.has_mlp || sh.n_kv_heads < 1 ||
            sh.n_heads % sh.n_kv_heads)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "llm-pruner: layer "
                               "%lld has a removed attention or MLP block "
                               "(prune the model before depth pruning)",
                               (long long)l);
        if (member_present(m, M_QKV) && sh.n_kv_heads != sh.n_heads)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "llm-pruner: layer "
                               "%lld: a fused q/k/v with %lld KV heads for "
                               "%lld heads (fused layouts are MHA)",
                               (long long)l, (long long)sh.n_kv_heads,
                               (long long)sh.n_heads);
        for (int mb = 0; mb < N_MEMBERS; mb++)
            if (member_present(m, mb) &&
                member_weight(&m->layers[l], mb)->sparse)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "llm-pruner: "
                                   "layer %lld %s is compressed; prune the "
                                   "dense model", (long long)l,
                                   member_name(m, mb));
    }
    return CPR_OK;
}

enum cpr_status cpr_llmp_scores(const struct cpr_model *m,
                                const int32_t *windows, int64_t n_seq,
                                int64_t seqlen, const struct cpr_llmp_opts *o,
                                struct cpr_pool *pool,
                                struct cpr_llmp_scores *sc,
                                struct cpr_err *err) {
    memset(sc, 0, sizeof *sc);
    CPR_TRY(check_opts(m, o, windows, n_seq, seqlen, err));
    const int64_t nl = m->cfg.n_layers;
    struct lp_state st = {.m = m, .o = o, .pool = pool,
                          .k = cpr_kernels_get(), .n_seq = n_seq};
    enum cpr_status s = CPR_OK;
    sc->n_layers = nl;
    sc->attn = calloc((size_t)nl, sizeof *sc->attn);
    sc->mlp = calloc((size_t)nl, sizeof *sc->mlp);
    st.vec = calloc((size_t)(nl * N_MEMBERS), sizeof *st.vec);
    const int need_acc = o->importance == CPR_LLMP_TAYLOR &&
                         (o->taylor == CPR_LLMP_PARAM_SECOND ||
                          o->taylor == CPR_LLMP_PARAM_MIX);
    struct cpr_slabs accs;
    memset(&accs, 0, sizeof accs);
    size_t *acc_len = need_acc ? calloc((size_t)(nl ? nl : 1), sizeof *acc_len)
                               : NULL;
    if (need_acc)
        st.acc_off = calloc((size_t)(nl * N_MEMBERS), sizeof *st.acc_off);
    if (!sc->attn || !sc->mlp || !st.vec ||
        (need_acc && (!acc_len || !st.acc_off)))
        goto nomem;
    size_t big = 1, wide = 1;
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        sc->attn[l] = calloc((size_t)sh.n_kv_heads, sizeof(double));
        sc->mlp[l] = calloc((size_t)sh.intermediate, sizeof(double));
        if (!sc->attn[l] || !sc->mlp[l]) goto nomem;
        for (int mb = 0; mb < N_MEMBERS; mb++) {
            if (!member_present(m, mb)) continue;
            const struct cpr_tensor *w = member_weight(&m->layers[l], mb);
            const size_t r = (size_t)w->shape[0], c = (size_t)w->shape[1];
            st.vec[l * N_MEMBERS + mb] =
                calloc(by_column(mb) ? c : r, sizeof(double));
            if (!st.vec[l * N_MEMBERS + mb]) goto nomem;
            if (need_acc) {
                st.acc_off[l * N_MEMBERS + mb] = acc_len[l];
                acc_len[l] += r * c;
            }
            if (r * c > big) big = r * c;
            if (c > wide) wide = c;
        }
    }
    if (need_acc) {
        if ((s = cpr_slabs_init(&accs, nl, acc_len, o->acc_store, err))) {
            free(acc_len);
            state_free(&st, nl);
            cpr_llmp_scores_free(sc);
            return s;
        }
        st.acc = &accs;
    }
    free(acc_len);
    acc_len = NULL;
    st.dw = malloc(big * sizeof(float));
    st.wrow = malloc(wide * sizeof(float));
    if (!st.dw || !st.wrow) goto nomem;
    if (o->importance == CPR_LLMP_RANDOM) {
        s = random_scores(m, o, sc);
    } else {
        if (o->importance == CPR_LLMP_TAYLOR)
            s = gradients(&st, windows, n_seq, seqlen, &sc->loss, err);
        else
            for (int64_t l = o->layer_start; l < o->layer_end; l++)
                for (int mb = 0; mb < N_MEMBERS; mb++)
                    if (member_present(m, mb))
                        member_vector(&st, l, mb, NULL, NULL);
        for (int64_t l = o->layer_start; l < o->layer_end && !s; l++)
            s = group_scores(&st, l, sc, err);
    }
    sc->acc_bytes_read = accs.bytes_read;
    sc->acc_bytes_written = accs.bytes_written;
    state_free(&st, nl);
    if (s) cpr_llmp_scores_free(sc);
    return s;
nomem:
    free(acc_len);
    state_free(&st, nl);
    cpr_llmp_scores_free(sc);
    return cpr_err_set(err, CPR_ERR_NOMEM, "llm-pruner: out of memory for "
                       "the scores%s", need_acc ? " and acc (4 bytes per "
                       "weight of the layers in range)" : "");
}

struct unit { double v; int64_t i; };

static int unit_cmp(const void *a, const void *b) {
    const struct unit *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

// keep[i] = 0 for the n_drop lowest of v (ties: lower index first).
static enum cpr_status drop_lowest(const double *v, int64_t n, int64_t n_drop,
                                   uint8_t *keep, struct cpr_err *err) {
    struct unit *u = malloc((size_t)(n ? n : 1) * sizeof *u);
    if (!u) return cpr_err_set(err, CPR_ERR_NOMEM, "llm-pruner: out of memory");
    for (int64_t i = 0; i < n; i++) u[i] = (struct unit){v[i], i}, keep[i] = 1;
    qsort(u, (size_t)n, sizeof *u, unit_cmp);
    for (int64_t i = 0; i < n_drop && i < n; i++) keep[u[i].i] = 0;
    free(u);
    return CPR_OK;
}

static int64_t n_pruned_of(int64_t n, double ratio) {
    return n - (int64_t)((double)n * (1.0 - ratio));
}

// Global: everything <= the n_pruned-th smallest unit score goes.
static enum cpr_status global_threshold(const struct cpr_model *m,
                                        const struct cpr_llmp_scores *sc,
                                        const struct cpr_llmp_opts *o,
                                        double *thr, int64_t *n_pruned,
                                        struct cpr_err *err) {
    int64_t n = 0;
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        n += sh.n_kv_heads + sh.intermediate;
    }
    struct unit *u = malloc((size_t)n * sizeof *u);
    if (!u) return cpr_err_set(err, CPR_ERR_NOMEM, "llm-pruner: out of memory");
    int64_t k = 0;
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        for (int64_t i = 0; i < sh.n_kv_heads; i++)
            u[k] = (struct unit){sc->attn[l][i], k}, k++;
        for (int64_t i = 0; i < sh.intermediate; i++)
            u[k] = (struct unit){sc->mlp[l][i], k}, k++;
    }
    qsort(u, (size_t)n, sizeof *u, unit_cmp);
    *n_pruned = n_pruned_of(n, o->ratio);
    *thr = *n_pruned > 0 ? u[*n_pruned - 1].v : -HUGE_VAL;
    free(u);
    return CPR_OK;
}

enum cpr_status cpr_llmp_select(const struct cpr_model *m,
                                const struct cpr_llmp_scores *sc,
                                const struct cpr_llmp_opts *o,
                                struct cpr_struct_plan *plan,
                                struct cpr_err *err) {
    CPR_TRY(cpr_struct_plan_init(plan, m, err));
    double thr = 0;
    int64_t n_glob = 0;
    enum cpr_status s = CPR_OK;
    if (o->global) s = global_threshold(m, sc, o, &thr, &n_glob, err);
    for (int64_t l = o->layer_start; l < o->layer_end && !s; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(m, l);
        struct cpr_struct_layer_plan *lp = &plan->layers[l];
        lp->keep_kv = malloc((size_t)sh.n_kv_heads);
        lp->keep_ch = malloc((size_t)sh.intermediate);
        if (!lp->keep_kv || !lp->keep_ch) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "llm-pruner: out of memory");
            break;
        }
        if (o->global) {
            for (int64_t i = 0; i < sh.n_kv_heads; i++)
                lp->keep_kv[i] = !(n_glob > 0 && sc->attn[l][i] <= thr);
            for (int64_t i = 0; i < sh.intermediate; i++)
                lp->keep_ch[i] = !(n_glob > 0 && sc->mlp[l][i] <= thr);
        } else {
            const int64_t C = sh.n_kv_heads * sh.head_dim;
            int64_t nh = n_pruned_of(C, o->ratio);
            nh = nh > 0 ? nh / sh.head_dim : 0;
            int64_t nc = n_pruned_of(sh.intermediate, o->ratio);
            s = drop_lowest(sc->attn[l], sh.n_kv_heads, nh, lp->keep_kv, err);
            if (!s)
                s = drop_lowest(sc->mlp[l], sh.intermediate, nc > 0 ? nc : 0,
                                lp->keep_ch, err);
        }
        if (!s && (!cpr_struct_plan_kept_kv(plan, m, l) ||
                   !cpr_struct_plan_kept_ch(plan, m, l)))
            s = cpr_err_set(err, CPR_ERR_ARG, "llm-pruner: ratio %g would "
                            "remove every %s of layer %lld (the reference "
                            "would leave an empty sub-block); use a lower "
                            "--sparsity%s", o->ratio,
                            cpr_struct_plan_kept_kv(plan, m, l) ? "MLP channel"
                                                                : "KV group",
                            (long long)l, o->global ? " or per-layer pruning"
                                                    : "");
    }
    if (s) cpr_struct_plan_free(plan);
    return s;
}

enum cpr_status cpr_llmp_prune(struct cpr_model *m, const int32_t *windows,
                               int64_t n_seq, int64_t seqlen,
                               const struct cpr_llmp_opts *o,
                               struct cpr_pool *pool,
                               struct cpr_struct_plan *plan, double *loss,
                               struct cpr_err *err) {
    struct cpr_llmp_scores sc;
    memset(plan, 0, sizeof *plan);
    CPR_TRY(cpr_llmp_scores(m, windows, n_seq, seqlen, o, pool, &sc, err));
    if (loss) *loss = sc.loss;
    enum cpr_status s = cpr_llmp_select(m, &sc, o, plan, err);
    cpr_llmp_scores_free(&sc);
    if (!s) s = cpr_struct_plan_apply(plan, m, err);
    return s;
}

size_t cpr_llmp_ram_bytes(const struct cpr_model *m,
                          const struct cpr_llmp_opts *o, int64_t n_seq,
                          int64_t seqlen) {
    const int need_acc = o->importance == CPR_LLMP_TAYLOR &&
                         (o->taylor == CPR_LLMP_PARAM_SECOND ||
                          o->taylor == CPR_LLMP_PARAM_MIX);
    size_t sum = 0, most = 0, big = 0, vec = 0;
    for (int64_t l = o->layer_start; l < o->layer_end; l++) {
        size_t layer = 0;
        for (int mb = 0; mb < N_MEMBERS; mb++) {
            if (!member_present(m, mb)) continue;
            const struct cpr_tensor *w = member_weight(&m->layers[l], mb);
            const size_t r = (size_t)w->shape[0], c = (size_t)w->shape[1];
            layer += r * c;
            if (r * c > big) big = r * c;
            vec += by_column(mb) ? c : r;
        }
        sum += layer;
        if (layer > most) most = layer;
    }
    size_t b = big * sizeof(float) + vec * sizeof(double);
    if (o->importance != CPR_LLMP_TAYLOR) return vec * sizeof(double);
    if (!need_acc) return b;
    if (!o->acc_store) return b + sum * sizeof(float);
    const size_t per = ((size_t)m->cfg.n_layers + 1) * (size_t)seqlen *
                       (size_t)m->cfg.hidden * sizeof(float);
    int64_t g = 1 + (int64_t)(most * sizeof(float) / (per ? per : 1));
    if (g > n_seq) g = n_seq;
    if (!cpr_backward_windows_ok(m)) g = 1; // one window at a time
    return b + most * sizeof(float) + (size_t)(g - 1) * per;
}
