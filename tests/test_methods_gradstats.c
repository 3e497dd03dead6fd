// tests/test_methods_gradstats.c: GBLM's gradient accumulators against
// l1 = sum_w |scale g_w|, l2 = sqrt(sum_w (scale g_w)^2) formed here in
// double from the per-window gradients of core/backward (dW = dY^T X in
// double from the hook's X and dY); bf16 rounding; 1 vs 2 threads
// bit-identical.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/synth.h"
#include "data/scratch_file.h"
#include "methods/gradstats.h"
#include "tests/harness.h"

struct ref {
    double *l1[2][7], *l2[2][7];
    size_t n[2][7];
};

static int slot(enum cpr_linear_role r) {
    static const enum cpr_linear_role order[7] = {
        CPR_ROLE_Q, CPR_ROLE_K, CPR_ROLE_V, CPR_ROLE_O,
        CPR_ROLE_GATE, CPR_ROLE_UP, CPR_ROLE_DOWN};
    for (int i = 0; i < 7; i++) if (order[i] == r) return i;
    return 0;
}

static enum cpr_status ref_hook(void *user, const struct cpr_grad *g,
                                struct cpr_err *err) {
    (void)err;
    struct ref *r = user;
    int j = slot(g->role);
    for (int64_t o = 0; o < g->n_out; o++)
        for (int64_t i = 0; i < g->n_in; i++) {
            double s = 0.0;
            for (int64_t t = 0; t < g->n_rows; t++)
                s += (double)g->dy[t * g->n_out + o] * g->x[t * g->n_in + i];
            r->l1[g->layer][j][o * g->n_in + i] += fabs(s);
            r->l2[g->layer][j][o * g->n_in + i] += s * s;
        }
    return CPR_OK;
}

static void test_gradstats(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 24, .n_layers = 2,
                               .n_heads = 2, .n_kv_heads = 1, .vocab = 40,
                               .context = 64, .dtype = CPR_DTYPE_BF16, .seed = 3,
                               .init_std = 0.2, .norm_jitter = 0.2,
                               .bos_id = -1, .eos_id = -1};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    enum { W = 3, SL = 20 };
    int32_t tok[W * SL];
    struct cpr_rng r;
    cpr_rng_seed(&r, 4);
    for (int i = 0; i < W * SL; i++) tok[i] = (int32_t)cpr_rng_below(&r, 40);
    const float scale = 100.0f; // GBLM
    struct cpr_pool *pool = NULL;
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool, 2, &err), CPR_OK, &err, NULL);
    struct cpr_gradstats gs[3];
    for (int p = 0; p < 3; p++) {
        struct cpr_backward b;
        CPR_CHECK_STATUS(t, cpr_gradstats_init(&gs[p], &m, NULL, p == 1 ? pool : NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, p == 1 ? pool : NULL, 1, SL, &err),
                         CPR_OK, &err, NULL);
        for (int w = 0; w < W; w++)
            CPR_CHECK_STATUS(t, cpr_gradstats_window(&gs[p], &b, tok + w * SL, SL, scale,
                                                     NULL, &err),
                             CPR_OK, &err, NULL);
        cpr_backward_free(&b);
        cpr_gradstats_finish(&gs[p], p == 2 ? CPR_GRAD_BF16 : CPR_GRAD_F32);
    }
    // reference
    struct ref rf;
    memset(&rf, 0, sizeof rf);
    for (size_t i = 0; i < gs[0].n_lin; i++) {
        const struct cpr_gradstats_lin *e = &gs[0].lin[i];
        int j = slot(e->role);
        rf.n[e->layer][j] = e->rows * e->cols;
        rf.l1[e->layer][j] = calloc(e->rows * e->cols, sizeof(double));
        rf.l2[e->layer][j] = calloc(e->rows * e->cols, sizeof(double));
    }
    struct cpr_backward b;
    CPR_CHECK_STATUS(t, cpr_backward_init(&b, &m, NULL, NULL, 1, SL, &err), CPR_OK, &err, NULL);
    for (int w = 0; w < W; w++)
        CPR_CHECK_STATUS(t, cpr_backward_run(&b, tok + w * SL, 1, SL, scale, ref_hook, &rf,
                                             NULL, &err),
                         CPR_OK, &err, NULL);
    cpr_backward_free(&b);
    CPR_CHECK(t, gs[0].n_windows == W, "n_windows %zu", gs[0].n_windows);
    for (size_t i = 0; i < gs[0].n_lin; i++) {
        const struct cpr_gradstats_lin *e = &gs[0].lin[i], *e2 = &gs[1].lin[i],
                                       *eb = &gs[2].lin[i];
        int j = slot(e->role);
        size_t n = e->rows * e->cols;
        double mx1 = 0, mx2 = 0, w1 = 0, w2 = 0, wb = 0;
        for (size_t q = 0; q < n; q++) {
            double r1 = rf.l1[e->layer][j][q], r2 = sqrt(rf.l2[e->layer][j][q]);
            if (r1 > mx1) mx1 = r1;
            if (r2 > mx2) mx2 = r2;
        }
        for (size_t q = 0; q < n; q++) {
            double r1 = rf.l1[e->layer][j][q], r2 = sqrt(rf.l2[e->layer][j][q]);
            if (fabs(e->l1[q] - r1) / mx1 > w1) w1 = fabs(e->l1[q] - r1) / mx1;
            if (fabs(e->l2[q] - r2) / mx2 > w2) w2 = fabs(e->l2[q] - r2) / mx2;
            double rel = fabs(eb->l2[q] - e->l2[q]) / (fabs(e->l2[q]) + 1e-30);
            if (rel > wb) wb = rel;
            uint32_t u;
            memcpy(&u, &eb->l1[q], 4);
            CPR_CHECK(t, (u & 0xffffu) == 0, "bf16 l1 not a bf16 value");
        }
        CPR_CHECK(t, w1 <= 1e-4 && w2 <= 1e-4,
                  "layer %lld %s: l1 error %.3g, l2 error %.3g of max", (long long)e->layer,
                  cpr_role_name(e->role), w1, w2);
        CPR_CHECK(t, wb <= 1.0 / 256, "bf16 l2 off by %.3g relative", wb);
        CPR_CHECK(t, memcmp(e->l1, e2->l1, n * 4) == 0 && memcmp(e->l2, e2->l2, n * 4) == 0,
                  "layer %lld %s: 1 and 2 threads differ", (long long)e->layer,
                  cpr_role_name(e->role));
        free(rf.l1[e->layer][j]);
        free(rf.l2[e->layer][j]);
    }
    for (int p = 0; p < 3; p++) cpr_gradstats_free(&gs[p]);
    cpr_pool_free(pool);
    cpr_model_free(&m);
}

// The scratch-file mode (one layer slab in RAM) gives the in-RAM mode's
// accumulators bit for bit, f32 and bf16, whatever order layers are read.
static void test_scratch(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 24, .n_layers = 3,
                               .n_heads = 2, .n_kv_heads = 1, .vocab = 40,
                               .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5,
                               .init_std = 0.2, .norm_jitter = 0.2,
                               .bos_id = -1, .eos_id = -1};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    enum { W = 3, SL = 17 };
    int32_t tok[W * SL];
    struct cpr_rng r;
    cpr_rng_seed(&r, 6);
    for (int i = 0; i < W * SL; i++) tok[i] = (int32_t)cpr_rng_below(&r, 40);
    for (int dt = 0; dt < 2; dt++) {
        struct cpr_gradstats a, b;
        struct cpr_scratch_file f;
        struct cpr_backward bw;
        CPR_CHECK_STATUS(t, cpr_scratch_file_open(&f, NULL, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_gradstats_init(&a, &m, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_gradstats_init_scratch(&b, &m, NULL, NULL,
                                                       &f.io, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_backward_init(&bw, &m, NULL, NULL, 1, SL,
                                              &err), CPR_OK, &err, NULL);
        double la[W], lb[W];
        for (int w = 0; w < W; w++)
            CPR_CHECK_STATUS(t, cpr_gradstats_window(&a, &bw, tok + w * SL,
                                                     SL, 100.0f, &la[w], &err),
                             CPR_OK, &err, NULL);
        // b: layer-major groups of 2 windows, then 1 (each layer's slab
        // written once per group; the first group reads nothing)
        CPR_CHECK_STATUS(t, cpr_gradstats_windows(&b, &bw, tok, 2, SL, 100.0f,
                                                  lb, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_gradstats_windows(&b, &bw, tok + 2 * SL, 1,
                                                  SL, 100.0f, lb + 2, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(la, lb, sizeof la), "window losses differ "
                  "between one-window and grouped passes");
        CPR_CHECK(t, b.n_windows == W, "n_windows %zu", b.n_windows);
        uint64_t store = 0; // bytes of every layer's slab
        for (size_t i = 0; i < a.n_lin; i++)
            store += 2 * a.lin[i].rows * a.lin[i].cols * sizeof(float);
        const uint64_t per_layer = store / 3;
        // group 1 leaves layers 2, 1 (written) and 0 resident; group 2
        // writes 0, reads and writes 2 and 1, reads 0 and keeps it
        CPR_CHECK(t, b.bytes_written == store + 2 * per_layer &&
                         b.bytes_read == store,
                  "grouped pass moved %llu bytes out, %llu in; expected "
                  "%llu, %llu", (unsigned long long)b.bytes_written,
                  (unsigned long long)b.bytes_read,
                  (unsigned long long)(store + 2 * per_layer),
                  (unsigned long long)store);
        cpr_backward_free(&bw);
        const enum cpr_grad_dtype d = dt ? CPR_GRAD_BF16 : CPR_GRAD_F32;
        cpr_gradstats_finish(&a, d);
        cpr_gradstats_finish(&b, d);
        const int64_t order[5] = {1, 0, 2, 0, 1}; // reloads included
        int same = 1, got_all = 1;
        for (int q = 0; q < 5; q++) {
            const int64_t l = order[q];
            CPR_CHECK_STATUS(t, cpr_gradstats_load(&b, l, &err), CPR_OK, &err,
                             NULL);
            for (size_t j = 0; j < a.per_layer; j++) {
                const struct cpr_gradstats_lin *ea = &a.lin[l * 7 + (int64_t)j];
                const struct cpr_gradstats_lin *eb =
                    cpr_gradstats_get(&b, l, ea->role);
                if (!eb || !eb->l1) {
                    got_all = 0;
                    continue;
                }
                const size_t n = ea->rows * ea->cols * sizeof(float);
                same &= !memcmp(ea->l1, eb->l1, n) && !memcmp(ea->l2, eb->l2, n);
            }
        }
        CPR_CHECK(t, got_all, "%s: a linear not resident after load",
                  dt ? "bf16" : "f32");
        CPR_CHECK(t, same, "%s: scratch-file accumulators differ from "
                  "in-RAM ones", dt ? "bf16" : "f32");
        CPR_CHECK(t, f.size > 0, "nothing went to the scratch file");
        CPR_CHECK(t, cpr_gradstats_get(&b, 2, CPR_ROLE_Q) == NULL,
                  "layer 2 should not be resident");
        cpr_gradstats_free(&a);
        cpr_gradstats_free(&b);
        cpr_scratch_file_close(&f);
    }
    cpr_model_free(&m);
}

// Layers [1, 3) of 4 only (a run on blocks 1:3), in RAM and in a scratch
// file, the backward pass stopping below layer 1: the kept layers'
// accumulators equal the all-layer ones bit for bit, the others are absent.
static void test_range(struct cpr_test_ctx *t) {
    struct cpr_synth_spec s = {.hidden = 16, .intermediate = 24, .n_layers = 4,
                               .n_heads = 2, .n_kv_heads = 1, .vocab = 40,
                               .context = 64, .dtype = CPR_DTYPE_F32, .seed = 9,
                               .init_std = 0.2, .norm_jitter = 0.2,
                               .bos_id = -1, .eos_id = -1};
    struct cpr_model m;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &s, &err), CPR_OK, &err, NULL);
    enum { W = 3, SL = 13 };
    int32_t tok[W * SL];
    struct cpr_rng r;
    cpr_rng_seed(&r, 10);
    for (int i = 0; i < W * SL; i++) tok[i] = (int32_t)cpr_rng_below(&r, 40);
    struct cpr_gradstats all, part[2];
    struct cpr_backward bw, bp;
    struct cpr_scratch_file f;
    CPR_CHECK_STATUS(t, cpr_scratch_file_open(&f, NULL, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK_STATUS(t, cpr_gradstats_init(&all, &m, NULL, NULL, &err), CPR_OK,
                     &err, NULL);
    for (int p = 0; p < 2; p++)
        CPR_CHECK_STATUS(t, cpr_gradstats_init_range(&part[p], &m, NULL, NULL,
                                                     p ? &f.io : NULL, 1, 3,
                                                     &err),
                         CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_backward_init(&bw, &m, NULL, NULL, 1, SL, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_backward_init(&bp, &m, NULL, NULL, 1, SL, &err),
                     CPR_OK, &err, NULL);
    bp.first_layer = 1;
    CPR_CHECK_STATUS(t, cpr_gradstats_windows(&all, &bw, tok, W, SL, 100.0f,
                                              NULL, &err), CPR_OK, &err, NULL);
    for (int p = 0; p < 2; p++)
        CPR_CHECK_STATUS(t, cpr_gradstats_windows(&part[p], &bp, tok, W, SL,
                                                  100.0f, NULL, &err),
                         CPR_OK, &err, NULL);
    cpr_gradstats_finish(&all, CPR_GRAD_F32);
    int same = 1, absent = 1;
    for (int p = 0; p < 2; p++) {
        cpr_gradstats_finish(&part[p], CPR_GRAD_F32);
        for (int64_t l = 0; l < 4; l++) {
            const int kept = l >= 1 && l < 3;
            if (kept)
                CPR_CHECK_STATUS(t, cpr_gradstats_load(&part[p], l, &err),
                                 CPR_OK, &err, NULL);
            else
                CPR_CHECK(t, cpr_gradstats_load(&part[p], l, &err) ==
                                 CPR_ERR_ARG, "layer %lld loads", (long long)l);
            for (size_t j = 0; j < all.per_layer; j++) {
                const struct cpr_gradstats_lin *ea = &all.lin[l * 7 + (int64_t)j];
                const struct cpr_gradstats_lin *ep =
                    cpr_gradstats_get(&part[p], l, ea->role);
                if (!kept) {
                    absent &= ep == NULL;
                    continue;
                }
                const size_t n = ea->rows * ea->cols * sizeof(float);
                same &= ep && !memcmp(ea->l1, ep->l1, n) &&
                        !memcmp(ea->l2, ep->l2, n);
            }
        }
    }
    CPR_CHECK(t, same, "layers 1..2 differ from the all-layer accumulators");
    CPR_CHECK(t, absent, "layers 0 / 3 have accumulators");
    CPR_CHECK(t, f.size == part[1].slab_floats * sizeof(float) * 2,
              "scratch file %llu bytes, expected 2 slabs",
              (unsigned long long)f.size);
    cpr_backward_free(&bw);
    cpr_backward_free(&bp);
    cpr_gradstats_free(&all);
    for (int p = 0; p < 2; p++) cpr_gradstats_free(&part[p]);
    cpr_scratch_file_close(&f);
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_methods_gradstats[] = {
    {"gradstats", test_gradstats, 0},
    {"scratch_file_bit_identical", test_scratch, 0},
    {"layer_range", test_range, 0},
    {0},
};
