// tests/test_methods_mixed.c: sensitivity-aware mixed sparsity: the rank
// allocation and its parameter-weighted correction on hand-worked numbers,
// the ISC saliency of SparseGPT on a case where it disagrees with OBS, and
// the pipeline path (allocation sums to the target within 1e-6 of the
// parameter count).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/synth.h"
#include "methods/mixed.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/harness.h"

static void test_allocation_hand(struct cpr_test_ctx *t) {
    // sens [3, 1, 2] -> ranks [2, 0, 1]; p .5, alpha .1: L .4, R .6
    //   densities [.6, .4, .5] -> sparsities [.4, .6, .5]
    const double sens[3] = {3, 1, 2};
    const int64_t eq[3] = {1, 1, 1};
    double sp[4];
    double got = cpr_mixed_allocate(sens, eq, 3, 0.5, 0.1, sp);
    CPR_CHECK(t, fabs(sp[0] - 0.4) < 1e-12 && fabs(sp[1] - 0.6) < 1e-12 &&
                     fabs(sp[2] - 0.5) < 1e-12 && fabs(got - 0.5) < 1e-12,
              "equal sizes: %g %g %g (%g)", sp[0], sp[1], sp[2], got);
    // numel [2, 1, 1]: weighted density 2.1/4 -> shift by -0.025
    //   densities [.575, .375, .475] -> sparsities [.425, .625, .525]
    const int64_t ne[3] = {2, 1, 1};
    got = cpr_mixed_allocate(sens, ne, 3, 0.5, 0.1, sp);
    CPR_CHECK(t, fabs(sp[0] - 0.425) < 1e-12 && fabs(sp[1] - 0.625) < 1e-12 &&
                     fabs(sp[2] - 0.525) < 1e-12 && fabs(got - 0.5) < 1e-12,
              "weighted: %g %g %g (%g)", sp[0], sp[1], sp[2], got);
    // ties by index: equal sensitivities rank in index order
    const double same[2] = {1, 1};
    cpr_mixed_allocate(same, eq, 2, 0.5, 0.1, sp);
    CPR_CHECK(t, fabs(sp[0] - 0.6) < 1e-12 && fabs(sp[1] - 0.4) < 1e-12,
              "ties %g %g", sp[0], sp[1]);
    // clamping: p .95, alpha .1 -> L = -0.05 clamps at density 0; the rest
    // absorbs it and the total is still exact
    const double s4[4] = {1, 2, 3, 4};
    const int64_t n4[4] = {10, 20, 30, 40};
    got = cpr_mixed_allocate(s4, n4, 4, 0.95, 0.1, sp);
    CPR_CHECK(t, fabs(got - 0.95) < 1e-9, "clamped total %.12f", got);
    for (int i = 0; i < 4; i++)
        CPR_CHECK(t, sp[i] >= 0 && sp[i] <= 1, "sparsity %d = %g", i, sp[i]);
}

// One row, two columns, diagonal H = diag(0.01, 100), percdamp 0, 50%:
// d_q = 1/sqrt(h_q). OBS w^2 h: 99^2 * .01 = 98.01 < 1 * 100 -> col 0 goes;
// ISC w^2 (h + sqrt h): 9801 * .11 = 1078 > 1 * 110 -> col 1 goes.
static void test_isc_saliency(struct cpr_test_ctx *t) {
    const struct cpr_method *sg = cpr_method_find("sparsegpt");
    for (int isc = 0; isc < 2; isc++) {
        void *st = NULL;
        struct cpr_err err = {0};
        sg->init(&st, &err);
        CPR_CHECK_STATUS(t, sg->parse_opts(st, isc ? "percdamp=0,saliency=isc"
                                                   : "percdamp=0", &err),
                         CPR_OK, &err, NULL);
        float w[2] = {99.0f, 1.0f};
        float h[4] = {0.01f, 0.0f, 0.0f, 100.0f};
        struct cpr_matrix m = {.name = "t", .w = w, .rows = 1, .cols = 2, .ld = 2};
        struct cpr_linear_stats ls = {.n_cols = 2, .n_samples = 1, .hessian = h};
        struct cpr_prune_target tg = {.sparsity = 0.5};
        uint8_t mask[2];
        CPR_CHECK_STATUS(t, sg->prune_matrix(st, &m, &ls, &tg, mask, NULL, NULL,
                                             &err), CPR_OK, &err, NULL);
        // the reference prunes int(2 * .5) + 1 = 2 at thresh <=... use the
        // order instead: the first pruned column is the smaller score
        CPR_CHECK(t, isc ? (mask[1] == 1) : (mask[0] == 1),
                  "%s: mask %d %d", isc ? "isc" : "obs", mask[0], mask[1]);
        sg->free(st);
    }
}

static void test_pipeline(struct cpr_test_ctx *t) {
    struct cpr_synth_spec sp = {
        .arch = CPR_ARCH_LLAMA, .hidden = 48, .intermediate = 80,
        .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 12,
        .vocab = 97, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 8,
        .init_std = 0.15, .norm_jitter = 0.3, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    int32_t win[4 * 32];
    struct cpr_rng r;
    cpr_rng_seed(&r, 2);
    for (int i = 0; i < 4 * 32; i++) win[i] = (int32_t)cpr_rng_below(&r, 97);
    const struct cpr_method *mx = cpr_method_find("mixed");
    CPR_CHECK(t, mx && cpr_method_allocates(mx), "mixed registered");
    if (!mx) return;
    struct cpr_err err = {0};
    struct cpr_model m = {0};
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &sp, &err), CPR_OK, &err, NULL);
    void *st = NULL;
    mx->init(&st, &err);
    struct cpr_pipe_opts o = {.method = mx, .method_state = st,
                              .target = {.sparsity = 0.6}};
    struct cpr_pipe_report rep;
    CPR_CHECK_STATUS(t, cpr_prune_model(&m, win, 4, 32, &o, NULL, NULL, &rep,
                                        &err), CPR_OK, &err, NULL);
    if (rep.alloc) {
        double z = 0, n = 0, lo = 1, hi = 0;
        for (int i = 0; i < 14; i++) {
            z += rep.alloc[i].sparsity * (double)rep.numel[i];
            n += (double)rep.numel[i];
            lo = fmin(lo, rep.alloc[i].sparsity);
            hi = fmax(hi, rep.alloc[i].sparsity);
        }
        CPR_CHECK(t, fabs(z - 0.6 * n) <= 1e-6 * n,
                  "allocated %.3f of %.0f weights, want %.3f", z, n, 0.6 * n);
        CPR_CHECK(t, hi - lo > 0.15 && hi - lo < 0.25, "spread %g", hi - lo);
        CPR_CHECK(t, fabs(rep.sparsity - 0.6) < 0.01, "achieved %g", rep.sparsity);
    } else {
        CPR_CHECK(t, 0, "no allocation");
    }
    cpr_pipe_report_free(&rep);
    // N:M refused
    o.target = (struct cpr_prune_target){0.5, 2, 4};
    CPR_CHECK_STATUS(t, cpr_prune_model(&m, win, 4, 32, &o, NULL, NULL, &rep,
                                        &err), CPR_ERR_ARG, &err, "unstructured");
    cpr_pipe_report_free(&rep);
    cpr_err_clear(&err);
    // sensitivity=hutchinson (methods/hutchinson.h; its oracle test is in
    // test_methods_hutchinson.c): runs its prepass, allocates exactly
    CPR_CHECK_STATUS(t, mx->parse_opts(st, "sensitivity=hutchinson,"
                                       "hutch_iters=4", &err), CPR_OK, &err,
                     NULL);
    o.target = (struct cpr_prune_target){.sparsity = 0.5};
    CPR_CHECK_STATUS(t, cpr_prune_model(&m, win, 4, 32, &o, NULL, NULL, &rep,
                                        &err), CPR_OK, &err, NULL);
    if (rep.alloc) {
        double z = 0, n = 0;
        for (int i = 0; i < 14; i++) {
            z += rep.alloc[i].sparsity * (double)rep.numel[i];
            n += (double)rep.numel[i];
        }
        CPR_CHECK(t, fabs(z - 0.5 * n) <= 1e-6 * n, "hutchinson: allocated "
                  "%.3f of %.0f weights", z, n);
        CPR_CHECK(t, rep.sec_grad > 0, "prepass time %g", rep.sec_grad);
    }
    cpr_pipe_report_free(&rep);
    CPR_CHECK_STATUS(t, mx->parse_opts(st, "hutch_eps=0", &err), CPR_ERR_ARG,
                     &err, "hutch_eps");
    mx->free(st);
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_methods_mixed[] = {
    {"allocation_hand", test_allocation_hand, 0},
    {"isc_saliency", test_isc_saliency, 0},
    {"pipeline", test_pipeline, 0},
    {0},
};
