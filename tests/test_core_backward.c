// tests/test_core_backward.c: core/backward on tiny random LLaMA models:
// against torch autograd (tests/oracle/grad_oracle.py -> fixtures/
// grad_oracle.bin: every dW within 1e-4 of the tensor's max |g|, loss to
// 1e-6 relative), and
// every linear's dW = dY^T X (formed here in double from the hook's x and
// dy) against central finite differences of the forward pass's mean
// next-token loss on the coordinates with the largest gradients; 1 vs 2
// threads bit-identical; unsupported kinds refused by name.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backward.h"
#include "core/synth.h"
#include "tests/fixture_bin.h"
#include "tests/harness.h"

#define NL 2
#define NR 7 // roles per layer

static int role_slot(enum cpr_linear_role r) {
    switch (r) {
    case CPR_ROLE_Q: return 0;
    case CPR_ROLE_K: return 1;
    case CPR_ROLE_V: return 2;
    case CPR_ROLE_O: return 3;
    case CPR_ROLE_GATE: return 4;
    case CPR_ROLE_UP: return 5;
    default: return 6;
    }
}

struct acc {
    double *dw[NL][NR];
    int calls;
};

static enum cpr_status grad_hook(void *user, const struct cpr_grad *g,
                                 struct cpr_err *err) {
    (void)err;
    struct acc *a = user;
    double *dw = a->dw[g->layer][role_slot(g->role)];
    for (int64_t o = 0; o < g->n_out; o++)
        for (int64_t i = 0; i < g->n_in; i++) {
            double s = 0.0;
            for (int64_t t = 0; t < g->n_rows; t++)
                s += (double)g->dy[t * g->n_out + o] * g->x[t * g->n_in + i];
            dw[o * g->n_in + i] = s;
        }
    a->calls++;
    return CPR_OK;
}

static struct cpr_tensor *lin_w(struct cpr_model *m, int64_t l, int r) {
    struct cpr_layer *L = &m->layers[l];
    struct cpr_tensor *w[NR] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                &L->w_gate, &L->w_up, &L->w_down};
    return w[r];
}

static double mean_loss(struct cpr_forward *f, const int32_t *tok, int64_t ns,
                        int64_t sl, double *nll) {
    struct cpr_err err = {0};
    if (cpr_forward_chunk_nll(f, tok, ns, sl, 0, nll, &err) != CPR_OK) return NAN;
    double s = 0.0;
    for (int64_t i = 0; i < ns * (sl - 1); i++) s += nll[i];
    return s / (double)(ns * (sl - 1));
}

// interleaved: llama2.c RoPE pairing; window: a Mistral sliding window;
// qkv_bias: Qwen2's q/k/v projection biases; qk_norm: Qwen3's per-head
// q/k RMSNorms (weights 1 + noise).
static enum cpr_status add_qk_norms(struct cpr_model *m, uint64_t seed,
                                    struct cpr_err *err) {
    struct cpr_rng r;
    cpr_rng_seed(&r, seed);
    const int64_t hd = m->cfg.head_dim;
    m->cfg.block.qk_norm = 1;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_tensor *t[2] = {&m->layers[l].q_norm, &m->layers[l].k_norm};
        for (int j = 0; j < 2; j++) {
            CPR_TRY(cpr_tensor_alloc(t[j], CPR_DTYPE_F32, 1, &hd, err));
            float *w = t[j]->data;
            for (int64_t i = 0; i < hd; i++)
                w[i] = 0.7f + 0.6f * (float)cpr_rng_below(&r, 1000) / 1000.0f;
        }
    }
    return CPR_OK;
}

// Gemma's block: (1 + w) norms, GeGLU-tanh, scaled embeddings.
static void make_gemma(struct cpr_model *m) {
    m->cfg.block.norm = CPR_NORM_RMS_1P;
    m->cfg.block.mlp = CPR_MLP_GEGLU_TANH;
    m->cfg.block.embed_scale = sqrtf((float)m->cfg.hidden);
}

// qk_norm 2: Gemma's block instead (make_gemma).
static void run_fd(struct cpr_test_ctx *t, int interleaved, int64_t window,
                   int qkv_bias, int qk_norm) {
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 40, .n_layers = NL,
                               .n_heads = 4, .n_kv_heads = 2, .vocab = 50,
                               .context = 128, .dtype = CPR_DTYPE_F32,
                               .seed = 5, .init_std = 0.25, .norm_jitter = 0.3,
                               .bos_id = -1, .eos_id = -1, .qkv_bias = qkv_bias,
                               .rope_style = interleaved ? CPR_ROPE_INTERLEAVED
                                                         : CPR_ROPE_HALF};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    m.cfg.block.sliding_window = window;
    if (qk_norm == 1)
        CPR_CHECK_STATUS(t, add_qk_norms(&m, 11, &err), CPR_OK, &err, NULL);
    if (qk_norm == 2) make_gemma(&m);
    const int64_t ns = 2, sl = 70; // crosses the 64-row attention blocks
    int32_t tok[2 * 70];
    struct cpr_rng r;
    cpr_rng_seed(&r, 9);
    for (int i = 0; i < ns * sl; i++) tok[i] = (int32_t)cpr_rng_below(&r, 50);
    struct acc a[2];
    memset(a, 0, sizeof a);
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    double loss[2] = {0, 0};
    for (int pi = 0; pi < 2; pi++) {
        for (int l = 0; l < NL; l++)
            for (int j = 0; j < NR; j++) {
                struct cpr_tensor *w = lin_w(&m, l, j);
                a[pi].dw[l][j] = calloc((size_t)(w->shape[0] * w->shape[1]), sizeof(double));
            }
        struct cpr_backward b;
        CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, pi ? pool : NULL, ns, sl, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_backward_run(&b, tok, ns, sl, 1.0f, grad_hook, &a[pi],
                                             &loss[pi], &err),
                         CPR_OK, &err, NULL);
        cpr_backward_free(&b);
        CPR_CHECK(t, a[pi].calls == NL * NR, "hook calls %d, expected %d",
                  a[pi].calls, NL * NR);
    }
    CPR_CHECK(t, loss[0] == loss[1], "loss differs between 1 and 2 threads");
    for (int l = 0; l < NL; l++)
        for (int j = 0; j < NR; j++) {
            struct cpr_tensor *w = lin_w(&m, l, j);
            size_t n = (size_t)(w->shape[0] * w->shape[1]);
            CPR_CHECK(t, memcmp(a[0].dw[l][j], a[1].dw[l][j], n * sizeof(double)) == 0,
                      "layer %d linear %d: gradient differs between 1 and 2 threads", l, j);
        }
    // finite differences on the two largest-|g| coordinates of each linear
    struct cpr_forward f;
    CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, NULL, ns, sl, &err), CPR_OK,
                     &err, NULL);
    double *nll = malloc((size_t)(ns * sl) * sizeof(double));
    double l0 = mean_loss(&f, tok, ns, sl, nll);
    CPR_CHECK(t, fabs(l0 - loss[0]) <= 1e-6 * fabs(l0),
              "backward's loss %.9g vs forward's %.9g", loss[0], l0);
    for (int l = 0; l < NL; l++)
        for (int j = 0; j < NR; j++) {
            struct cpr_tensor *w = lin_w(&m, l, j);
            size_t n = (size_t)(w->shape[0] * w->shape[1]);
            const double *g = a[0].dw[l][j];
            size_t best[2] = {0, 0};
            for (size_t i = 0; i < n; i++) {
                if (fabs(g[i]) > fabs(g[best[0]])) { best[1] = best[0]; best[0] = i; }
                else if (i != best[0] && fabs(g[i]) > fabs(g[best[1]])) best[1] = i;
            }
            for (int c = 0; c < 2; c++) {
                float *wp = (float *)w->data + best[c], w0 = *wp;
                const float eps = 2e-3f;
                *wp = w0 + eps;
                double lp = mean_loss(&f, tok, ns, sl, nll);
                *wp = w0 - eps;
                double lm = mean_loss(&f, tok, ns, sl, nll);
                *wp = w0;
                double fd = (lp - lm) / (2.0 * (double)eps);
                double e = fabs(fd - g[best[c]]);
                CPR_CHECK(t, e <= 2e-3 * fabs(g[best[c]]) + 2e-5,
                          "rope %s window %lld layer %d linear %d coord %zu: "
                          "analytic %.6g vs finite difference %.6g",
                          interleaved ? "interleaved" : "half", (long long)window,
                          l, j, best[c], g[best[c]], fd);
            }
        }
    free(nll);
    cpr_forward_free(&f);
    for (int pi = 0; pi < 2; pi++)
        for (int l = 0; l < NL; l++)
            for (int j = 0; j < NR; j++) free(a[pi].dw[l][j]);
    cpr_pool_free(pool);
    cpr_model_free(&m);
}

static void test_backward_fd(struct cpr_test_ctx *t) {
    run_fd(t, 0, 0, 0, 0);
    run_fd(t, 1, 0, 0, 0);
    run_fd(t, 0, 9, 0, 0);
    run_fd(t, 0, 0, 1, 0);
    run_fd(t, 0, 0, 0, 1);
    run_fd(t, 0, 0, 0, 2);
}

static const char *const ROLE_NAME[NR] = {"q", "k", "v", "o", "gate", "up", "down"};

static int copy_rec(struct cpr_test_ctx *t, struct fixture *fx, const char *name,
                    struct cpr_tensor *w) {
    const struct rec *r = get(fx, name);
    size_t n = (size_t)(w->ndim == 1 ? w->shape[0] : w->shape[0] * w->shape[1]);
    if (!r || (size_t)r->rows * r->cols != n || r->dtype != 0) {
        CPR_CHECK(t, 0, "grad_oracle.bin: record %s missing or of the wrong size", name);
        return -1;
    }
    memcpy(w->data, r->data, n * sizeof(float));
    return 0;
}

// variant 1: the fixture of `grad_oracle.py qwen2` (q/k/v biases);
// 2: of `grad_oracle.py qwen3` (q/k norms).
static void run_oracle(struct cpr_test_ctx *t, int variant) {
    struct fixture fx;
    const int qwen2 = variant == 1;
    static const char *const paths[4] = {
        "tests/fixtures/grad_oracle.bin", "tests/fixtures/grad_oracle_qwen2.bin",
        "tests/fixtures/grad_oracle_qwen3.bin",
        "tests/fixtures/grad_oracle_gemma.bin"};
    const char *path = paths[variant];
    if (load(&fx, path) != 0) {
        CPR_CHECK(t, 0, "cannot load %s (run tests/oracle/grad_oracle.py)",
                  path);
        unload(&fx);
        return;
    }
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 40, .n_layers = NL,
                               .n_heads = 4, .n_kv_heads = 2, .vocab = 50,
                               .context = 128, .dtype = CPR_DTYPE_F32, .seed = 1,
                               .bos_id = -1, .eos_id = -1, .qkv_bias = qwen2};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (variant == 2)
        CPR_CHECK_STATUS(t, add_qk_norms(&m, 1, &err), CPR_OK, &err, NULL);
    if (variant == 3) make_gemma(&m);
    int bad = copy_rec(t, &fx, "tok_embed", &m.tok_embed) ||
              copy_rec(t, &fx, "lm_head", &m.lm_head) ||
              copy_rec(t, &fx, "final_norm", &m.final_norm);
    char name[40];
    for (int l = 0; l < NL && !bad; l++) {
        snprintf(name, sizeof name, "L%d.attn_norm", l);
        bad |= copy_rec(t, &fx, name, &m.layers[l].attn_norm);
        snprintf(name, sizeof name, "L%d.mlp_norm", l);
        bad |= copy_rec(t, &fx, name, &m.layers[l].mlp_norm);
        for (int j = 0; j < NR; j++) {
            snprintf(name, sizeof name, "L%d.%s", l, ROLE_NAME[j]);
            bad |= copy_rec(t, &fx, name, lin_w(&m, l, j));
        }
        struct cpr_tensor *bias[3] = {&m.layers[l].bq, &m.layers[l].bk,
                                      &m.layers[l].bv};
        for (int j = 0; j < 3 && qwen2; j++) {
            snprintf(name, sizeof name, "L%d.b%s", l, ROLE_NAME[j]);
            bad |= copy_rec(t, &fx, name, bias[j]);
        }
        if (variant == 2) {
            snprintf(name, sizeof name, "L%d.q_norm", l);
            bad |= copy_rec(t, &fx, name, &m.layers[l].q_norm);
            snprintf(name, sizeof name, "L%d.k_norm", l);
            bad |= copy_rec(t, &fx, name, &m.layers[l].k_norm);
        }
    }
    const struct rec *tr = get(&fx, "tokens"), *lr = get(&fx, "loss");
    if (bad || !tr || !lr || tr->rows != 2 || tr->cols != 70) {
        CPR_CHECK(t, 0, "grad_oracle.bin: tokens/loss records missing");
        goto done;
    }
    int32_t tok[140];
    for (int i = 0; i < 140; i++) tok[i] = (int32_t)((const float *)tr->data)[i];
    struct acc a;
    memset(&a, 0, sizeof a);
    for (int l = 0; l < NL; l++)
        for (int j = 0; j < NR; j++) {
            struct cpr_tensor *w = lin_w(&m, l, j);
            a.dw[l][j] = calloc((size_t)(w->shape[0] * w->shape[1]), sizeof(double));
        }
    struct cpr_backward b;
    double loss = 0.0;
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 2, 70, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_backward_run(&b, tok, 2, 70, 1.0f, grad_hook, &a, &loss, &err),
                     CPR_OK, &err, NULL);
    cpr_backward_free(&b);
    double lref = ((const float *)lr->data)[0];
    CPR_CHECK(t, fabs(loss - lref) <= 1e-6 * fabs(lref), "loss %.9g vs oracle %.9g",
              loss, lref);
    double worst_all = 0.0;
    for (int l = 0; l < NL; l++)
        for (int j = 0; j < NR; j++) {
            snprintf(name, sizeof name, "G%d.%s", l, ROLE_NAME[j]);
            const struct rec *g = get(&fx, name);
            struct cpr_tensor *w = lin_w(&m, l, j);
            size_t n = (size_t)(w->shape[0] * w->shape[1]);
            if (!g || (size_t)g->rows * g->cols != n) {
                CPR_CHECK(t, 0, "grad_oracle.bin: %s missing", name);
                continue;
            }
            const float *ref = g->data;
            double mx = 0.0, worst = 0.0;
            for (size_t i = 0; i < n; i++) if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
            for (size_t i = 0; i < n; i++) {
                double e = fabs(a.dw[l][j][i] - ref[i]) / mx;
                if (!(e <= worst)) worst = e;
            }
            if (worst > worst_all) worst_all = worst;
            CPR_CHECK(t, worst <= 1e-4, "%s: max |C - torch| = %.3g of max |g| %.3g",
                      name, worst, mx);
        }
    if (getenv("CPR_GRAD_VERBOSE"))
        fprintf(stderr, "grad oracle %s: worst relative error %.3g, loss %.9g vs %.9g\n",
                path, worst_all, loss, lref);
    for (int l = 0; l < NL; l++)
        for (int j = 0; j < NR; j++) free(a.dw[l][j]);
done:
    cpr_model_free(&m);
    unload(&fx);
}

static void test_backward_oracle(struct cpr_test_ctx *t) { run_oracle(t, 0); }
static void test_backward_oracle_qwen2(struct cpr_test_ctx *t) {
    run_oracle(t, 1);
}
static void test_backward_oracle_qwen3(struct cpr_test_ctx *t) {
    run_oracle(t, 2);
}
static void test_backward_oracle_gemma(struct cpr_test_ctx *t) {
    run_oracle(t, 3);
}

static void test_backward_refuses(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = {.hidden = 8, .intermediate = 16, .n_layers = 1,
                               .n_heads = 2, .n_kv_heads = 2, .vocab = 20,
                               .context = 16, .dtype = CPR_DTYPE_F32, .seed = 1,
                               .bos_id = -1, .eos_id = -1, .qkv_bias = 1};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    struct cpr_backward b;
    // q/k/v biases are supported, an o_proj bias is not
    const int64_t hid = 8;
    CPR_CHECK_STATUS(t, cpr_tensor_alloc(&m.layers[0].bo, CPR_DTYPE_F32, 1,
                                         &hid, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 1, 8, &err),
                     CPR_ERR_UNSUPPORTED, &err, "o/up/down biases");
    cpr_tensor_free(&m.layers[0].bo);
    m.cfg.block.qk_norm = 1; // with q/k biases
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 1, 8, &err),
                     CPR_ERR_UNSUPPORTED, &err, "q/k norms with q/k biases");
    m.cfg.block.qk_norm = 0;
    m.cfg.block.norm = CPR_NORM_LAYER; // a gated MLP after LayerNorm
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 1, 8, &err),
                     CPR_ERR_UNSUPPORTED, &err, "norm=layernorm");
    m.cfg.block.mlp = CPR_MLP_RELU; // OPT's MLP is supported, with q/k norms not
    m.cfg.block.qk_norm = 1;
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 1, 8, &err),
                     CPR_ERR_UNSUPPORTED, &err, "q/k norms with the relu MLP");
    cpr_backward_free(&b);
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_core_backward[] = {
    {"backward_oracle", test_backward_oracle, 0},
    {"backward_oracle_qwen2", test_backward_oracle_qwen2, 0},
    {"backward_oracle_qwen3", test_backward_oracle_qwen3, 0},
    {"backward_oracle_gemma", test_backward_oracle_gemma, 0},
    {"backward_fd", test_backward_fd, 0},
    {"backward_refuses", test_backward_refuses, 0},
    {0},
};
