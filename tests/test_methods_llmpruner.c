// tests/test_methods_llmpruner.c: methods/llmpruner.h on a tiny synthetic
// GQA model. l1 against a hand computation of the reference's rule (member
// L1 norms, q rows / o columns folded mod kv_dim, mean over the 4 / 3
// members, head_dim sums, per layer C - int(C(1-r)) channels); Taylor
// scores: vectorize <= param_first unit by unit (|sum s| <= sum |s|),
// param_first's gradient against a central difference of the loss on one
// weight; global selection removes exactly the units <= the threshold;
// 1 and 2 threads give identical scores; bad ranges, missing windows and
// depth-pruned layers are refused. (Agreement with the official code on
// real models: tests/cli_llmpruner.sh and tests/oracle/llmpruner_oracle.py;
// on OPT, GPT-2, GPT-NeoX: tests/test_methods_llmp_families.c.)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backward.h"
#include "core/pool.h"
#include "core/synth.h"
#include "data/scratch_file.h"
#include "methods/llmpruner.h"
#include "tests/harness.h"

enum { H = 32, I = 40, NH = 8, NKV = 4, HD = 4, KVD = NKV * HD, QD = NH * HD };
enum { NS = 3, SL = 12 };

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = H, .intermediate = I,
        .n_layers = 2, .n_heads = NH, .n_kv_heads = NKV, .head_dim = HD,
        .vocab = 53, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 11,
        .init_std = 0.2, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static void tokens(int32_t *tok) {
    for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 17 + 3) % 53);
}

static double rowsum(const float *w, int cols, int r) {
    double a = 0;
    for (int c = 0; c < cols; c++) a += fabs(w[r * cols + c]);
    return a;
}

static double colsum(const float *w, int rows, int cols, int c) {
    double a = 0;
    for (int r = 0; r < rows; r++) a += fabs(w[r * cols + c]);
    return a;
}

static void test_l1_hand(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_llmp_opts o = {.importance = CPR_LLMP_L1,
                              .reduce = CPR_LLMP_MEAN, .ratio = 0.5,
                              .layer_start = 1, .layer_end = 2};
    struct cpr_llmp_scores sc;
    struct cpr_struct_plan p;
    CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, NULL, 0, 0, &o, NULL, &sc, &err),
                     CPR_OK, &err, NULL);
    if (err.code) return;
    CPR_CHECK(t, !sc.attn[0] && !sc.mlp[0], "layer 0 is outside the range");
    const struct cpr_layer *L = &m.layers[1];
    const float *q = L->wq.data, *k = L->wk.data, *v = L->wv.data;
    const float *wo = L->wo.data, *g = L->w_gate.data, *u = L->w_up.data;
    const float *d = L->w_down.data;
    double att[NKV] = {0}, mlp[I];
    for (int c = 0; c < KVD; c++) {
        double x = rowsum(k, H, c) + rowsum(v, H, c);
        for (int r = 0; r < QD / KVD; r++) // the reference's view-fold
            x += rowsum(q, H, r * KVD + c) + colsum(wo, H, QD, r * KVD + c);
        att[c / HD] += x / 4;
    }
    int ok = 1;
    for (int i = 0; i < NKV; i++)
        ok &= fabs(att[i] - sc.attn[1][i]) <= 1e-12 * att[i];
    CPR_CHECK(t, ok, "attention unit scores differ from the hand values");
    ok = 1;
    for (int c = 0; c < I; c++) {
        mlp[c] = (rowsum(g, H, c) + rowsum(u, H, c) + colsum(d, H, I, c)) / 3;
        ok &= fabs(mlp[c] - sc.mlp[1][c]) <= 1e-12 * mlp[c];
    }
    CPR_CHECK(t, ok, "MLP channel scores differ from the hand values");
    // per layer: 16 - int(16 * 0.5) = 8 channels -> 2 groups; 40 - 20 = 20
    CPR_CHECK_STATUS(t, cpr_llmp_select(&m, &sc, &o, &p, &err), CPR_OK, &err,
                     NULL);
    if (!err.code) {
        int gone = 0, kept_ch = 0;
        for (int i = 0; i < NKV; i++) {
            int below = 0; // units strictly lower (ties: index)
            for (int j = 0; j < NKV; j++)
                below += att[j] < att[i] || (att[j] == att[i] && j < i);
            gone += !p.layers[1].keep_kv[i];
            CPR_CHECK(t, (below < 2) == !p.layers[1].keep_kv[i],
                      "group %d: kept %d", i, p.layers[1].keep_kv[i]);
        }
        for (int c = 0; c < I; c++) kept_ch += p.layers[1].keep_ch[c];
        CPR_CHECK(t, gone == 2 && kept_ch == 20 && !p.layers[0].keep_kv,
                  "removed %d groups, kept %d channels", gone, kept_ch);
        cpr_struct_plan_free(&p);
    }
    // global: units <= the (N - int(N/2))-th smallest of 4 + 40 go
    o.global = 1;
    CPR_CHECK_STATUS(t, cpr_llmp_select(&m, &sc, &o, &p, &err), CPR_OK, &err,
                     NULL);
    if (!err.code) {
        double all[NKV + I];
        for (int i = 0; i < NKV; i++) all[i] = sc.attn[1][i];
        for (int c = 0; c < I; c++) all[NKV + c] = sc.mlp[1][c];
        int gone = 0, want = 0;
        for (int i = 0; i < NKV + I; i++) {
            int below = 0;
            for (int j = 0; j < NKV + I; j++) below += all[j] < all[i];
            want += below < 22;
        }
        for (int i = 0; i < NKV; i++) gone += !p.layers[1].keep_kv[i];
        for (int c = 0; c < I; c++) gone += !p.layers[1].keep_ch[c];
        CPR_CHECK(t, gone == want && gone >= 22, "global removed %d, want %d",
                  gone, want);
        cpr_struct_plan_free(&p);
    }
    // the per-layer plan applied gives the smaller shapes
    o.global = 0;
    CPR_CHECK_STATUS(t, cpr_llmp_select(&m, &sc, &o, &p, &err), CPR_OK, &err,
                     NULL);
    if (!err.code) {
        CPR_CHECK_STATUS(t, cpr_struct_plan_apply(&p, &m, &err), CPR_OK, &err,
                         NULL);
        const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, 1);
        CPR_CHECK(t, sh.n_heads == 4 && sh.n_kv_heads == 2 &&
                         sh.intermediate == 20, "layer 1 shape");
        cpr_struct_plan_free(&p);
    }
    cpr_llmp_scores_free(&sc);
    cpr_model_free(&m);
}

static enum cpr_status taylor_scores(struct cpr_model *m,
                                     enum cpr_llmp_taylor ty, size_t threads,
                                     struct cpr_llmp_scores *sc,
                                     struct cpr_err *err) {
    int32_t tok[NS * SL];
    tokens(tok);
    struct cpr_pool *pool = NULL;
    CPR_TRY(cpr_pool_init(&pool, threads, err));
    struct cpr_llmp_opts o = {.taylor = ty, .ratio = 0.3, .layer_start = 0,
                              .layer_end = 2};
    enum cpr_status s = cpr_llmp_scores(m, tok, NS, SL, &o, pool, sc, err);
    cpr_pool_free(pool);
    return s;
}

static void test_taylor(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_llmp_scores first, vec, mix[2];
    CPR_CHECK_STATUS(t, taylor_scores(&m, CPR_LLMP_PARAM_FIRST, 1, &first,
                                      &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, taylor_scores(&m, CPR_LLMP_VECTORIZE, 1, &vec, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, taylor_scores(&m, CPR_LLMP_PARAM_MIX, 1, &mix[0],
                                      &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, taylor_scores(&m, CPR_LLMP_PARAM_MIX, 2, &mix[1],
                                      &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int le = 1, same = 1, pos = 1, differ = 0;
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < NKV; i++) {
            le &= vec.attn[l][i] <= first.attn[l][i] * (1 + 1e-12);
            pos &= first.attn[l][i] > 0;
            same &= mix[0].attn[l][i] == mix[1].attn[l][i];
            differ |= mix[0].attn[l][i] != first.attn[l][i];
        }
        for (int c = 0; c < I; c++) {
            le &= vec.mlp[l][c] <= first.mlp[l][c] * (1 + 1e-12);
            same &= mix[0].mlp[l][c] == mix[1].mlp[l][c];
        }
    }
    CPR_CHECK(t, le, "vectorize |sum s| exceeds param_first sum |s|");
    CPR_CHECK(t, pos, "param_first scores not positive");
    CPR_CHECK(t, same, "param_mix scores differ between 1 and 2 threads");
    CPR_CHECK(t, differ, "param_mix equals param_first (acc term missing)");
    CPR_CHECK(t, first.loss > 0 && first.loss == mix[0].loss,
              "loss %g vs %g", first.loss, mix[0].loss);
    // param_first's MLP channel 5 of layer 1 = sum |W dL/dW| over gate row
    // 5, up row 5 and down column 5, dL/dW by central differences of the
    // batched loss (f32 model: a loose tolerance)
    {
        int32_t tok[NS * SL];
        tokens(tok);
        struct cpr_backward b;
        CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, NS, SL,
                                              &err), CPR_OK, &err, NULL);
        if (!err.code) {
            float *ws[3 * H];
            for (int c = 0; c < H; c++) {
                ws[c] = (float *)m.layers[1].w_gate.data + 5 * H + c;
                ws[H + c] = (float *)m.layers[1].w_up.data + 5 * H + c;
                ws[2 * H + c] = (float *)m.layers[1].w_down.data + c * I + 5;
            }
            double want = 0;
            for (int c = 0; c < 3 * H; c++) {
                const float w0 = *ws[c], e = 1e-2f;
                double lp = 0, lm = 0;
                *ws[c] = w0 + e;
                cpr_backward_run(&b, tok, NS, SL, 1, NULL, NULL, &lp, &err);
                *ws[c] = w0 - e;
                cpr_backward_run(&b, tok, NS, SL, 1, NULL, NULL, &lm, &err);
                *ws[c] = w0;
                want += fabs((double)w0 * (lp - lm) /
                             ((double)(w0 + e) - (double)(w0 - e)));
            }
            cpr_backward_free(&b);
            CPR_CHECK(t, fabs(want - first.mlp[1][5]) <= 1e-3 * want,
                      "finite differences %g vs channel score %g", want,
                      first.mlp[1][5]);
        }
    }
    cpr_llmp_scores_free(&first);
    cpr_llmp_scores_free(&vec);
    cpr_llmp_scores_free(&mix[0]);
    cpr_llmp_scores_free(&mix[1]);
    cpr_model_free(&m);
}

// param_mix and param_second with acc in a scratch file (one layer in RAM,
// layer-major groups of windows) give the in-RAM scores bit for bit; the
// acc of each layer is written once (one group) and read once (the
// batched pass).
static void test_acc_store(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    s.n_layers = 3;
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    int32_t tok[NS * SL];
    tokens(tok);
    for (int v = 0; v < 2; v++) {
        struct cpr_scratch_file f;
        CPR_CHECK_STATUS(t, cpr_scratch_file_open(&f, NULL, &err), CPR_OK,
                         &err, NULL);
        struct cpr_llmp_opts o = {
            .importance = CPR_LLMP_TAYLOR,
            .taylor = v ? CPR_LLMP_PARAM_SECOND : CPR_LLMP_PARAM_MIX,
            .ratio = 0.25, .layer_start = 1, .layer_end = 3};
        struct cpr_llmp_scores a, b;
        CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, tok, NS, SL, &o, NULL, &a,
                                            &err), CPR_OK, &err, NULL);
        o.acc_store = &f.io;
        CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, tok, NS, SL, &o, NULL, &b,
                                            &err), CPR_OK, &err, NULL);
        int same = a.loss == b.loss;
        for (int64_t l = 1; l < 3; l++) {
            const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
            same &= !memcmp(a.attn[l], b.attn[l],
                            (size_t)sh.n_kv_heads * sizeof(double)) &&
                    !memcmp(a.mlp[l], b.mlp[l],
                            (size_t)sh.intermediate * sizeof(double));
        }
        CPR_CHECK(t, same, "%s: scratch-file acc changed the scores",
                  v ? "param_second" : "param_mix");
        // per layer: 4 (q, k, v, o) H x H-ish + 3 H x I weights, 4 bytes
        const uint64_t layer = (uint64_t)(2 * QD * H + 2 * KVD * H +
                                          3 * I * H) * 4;
        CPR_CHECK(t, b.acc_bytes_written == 2 * layer &&
                         b.acc_bytes_read == 2 * layer,
                  "acc traffic %llu written, %llu read; expected %llu each "
                  "(layers 2 and 1 once each)",
                  (unsigned long long)b.acc_bytes_written,
                  (unsigned long long)b.acc_bytes_read,
                  (unsigned long long)(2 * layer));
        cpr_llmp_scores_free(&a);
        cpr_llmp_scores_free(&b);
        cpr_scratch_file_close(&f);
    }
    cpr_model_free(&m);
}

static void test_refusals(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = spec();
    struct cpr_model m;
    struct cpr_err err = {0};
    struct cpr_llmp_scores sc;
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    struct cpr_llmp_opts o = {.ratio = 0.2, .layer_start = 3, .layer_end = 31};
    CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, NULL, 0, 0, &o, NULL, &sc, &err),
                     CPR_ERR_ARG, &err, "layer range");
    o.layer_start = 0, o.layer_end = 2;
    CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, NULL, 0, 0, &o, NULL, &sc, &err),
                     CPR_ERR_ARG, &err, "calibration windows");
    o.importance = CPR_LLMP_L2, o.ratio = 1.0;
    CPR_CHECK_STATUS(t, cpr_llmp_scores(&m, NULL, 0, 0, &o, NULL, &sc, &err),
                     CPR_ERR_ARG, &err, "ratio");
    // a depth-pruned layer (attention removed) has no group to score; the
    // Taylor path is refused by the backward pass's check, before any data
    o.ratio = 0.2;
    m.layers[1].shape = cpr_layer_shape_of(&m, 1);
    m.layers[1].shape.has_attn = 0;
    CPR_CHECK_STATUS(t, cpr_llmp_check_model(&m, &o, &err),
                     CPR_ERR_UNSUPPORTED, &err, "removed attention");
    o.importance = CPR_LLMP_TAYLOR;
    CPR_CHECK_STATUS(t, cpr_llmp_check_model(&m, &o, &err),
                     CPR_ERR_UNSUPPORTED, &err, "removed sub-block");
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_methods_llmpruner[] = {
    {"l1_hand", test_l1_hand, 0},
    {"taylor", test_taylor, 0},
    {"refusals", test_refusals, 0},
    {"acc_scratch_file", test_acc_store, 0},
    {0},
};
