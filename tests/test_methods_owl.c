// tests/test_methods_owl.c: OWL's outlier ratio and allocations on
// hand-worked numbers, and the layer-allocation path of the pipeline
// (dense scan, allocate, per-block targets; mean block sparsity = target).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/synth.h"
#include "methods/owl.h"
#include "methods/pipeline.h"
#include "methods/registry.h"
#include "tests/harness.h"

static void test_lod_and_allocation(struct cpr_test_ctx *t) {
    const float s[5] = {1, 1, 1, 1, 10}; // mean 2.8; M=3 -> 8.4: one outlier
    CPR_CHECK(t, cpr_owl_lod(s, 5, 3.0) == 20.0, "lod %g", cpr_owl_lod(s, 5, 3.0));
    CPR_CHECK(t, cpr_owl_lod(s, 5, 5.0) == 0.0, "lod M=5");
    // lod [1, 3, 2], p 0.5, lambda 0.08:
    //   r = (lod - 1) / 2 * 0.16 = [0, .16, .08], mean .08
    //   density = r - .08 + .5 = [.42, .58, .50] -> sparsity [.58, .42, .50]
    const double lod[3] = {1, 3, 2};
    double sp[3];
    cpr_owl_allocate(lod, 3, 0.5, 0.08, sp);
    CPR_CHECK(t, fabs(sp[0] - 0.58) < 1e-12 && fabs(sp[1] - 0.42) < 1e-12 &&
                     fabs(sp[2] - 0.5) < 1e-12,
              "allocation %g %g %g", sp[0], sp[1], sp[2]);
    // floor: p 0.05, lambda 0.08 -> block 1 would get -0.03 -> 0.01
    cpr_owl_allocate(lod, 3, 0.05, 0.08, sp);
    CPR_CHECK(t, sp[1] == 0.01 && fabs(sp[0] - 0.13) < 1e-12,
              "floor %g %g", sp[0], sp[1]);
    // equal ratios: everyone gets p
    const double same[2] = {4, 4};
    cpr_owl_allocate(same, 2, 0.6, 0.08, sp);
    CPR_CHECK(t, sp[0] == 0.6 && sp[1] == 0.6, "equal ratios");
    // N:M, lambda 2: r = [0, 2, 1], mean 1 -> round(r - 1) = [-1, 1, 0]
    //   -> n = 2 - r = [3, 1, 2] of 4
    unsigned nb[3];
    cpr_owl_allocate_nm(lod, 3, 2, 4, 2.0, nb);
    CPR_CHECK(t, nb[0] == 3 && nb[1] == 1 && nb[2] == 2, "nm %u %u %u", nb[0],
              nb[1], nb[2]);
    // half to even: r - mean = [-0.5, 0.5] -> [0, 0] (NumPy's round)
    const double two[2] = {0, 1};
    cpr_owl_allocate_nm(two, 2, 2, 4, 1.0, nb);
    CPR_CHECK(t, nb[0] == 2 && nb[1] == 2, "half-even %u %u", nb[0], nb[1]);
    // clamp to [0, m-1]
    cpr_owl_allocate_nm(lod, 3, 1, 2, 4.0, nb);
    CPR_CHECK(t, nb[0] == 1 && nb[1] == 0, "clamp %u %u", nb[0], nb[1]);
}

static void test_pipeline_allocation(struct cpr_test_ctx *t) {
    struct cpr_synth_spec sp = {
        .arch = CPR_ARCH_LLAMA, .hidden = 48, .intermediate = 80,
        .n_layers = 3, .n_heads = 4, .n_kv_heads = 2, .head_dim = 12,
        .vocab = 97, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5,
        .init_std = 0.15, .norm_jitter = 0.3, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    int32_t win[4 * 32];
    struct cpr_rng r;
    cpr_rng_seed(&r, 1);
    for (int i = 0; i < 4 * 32; i++) win[i] = (int32_t)cpr_rng_below(&r, 97);
    const struct cpr_method *owl = cpr_method_find("owl");
    CPR_CHECK(t, owl && cpr_method_allocates(owl), "owl registered, allocates");
    if (!owl) return;
    for (int base = 0; base < 2; base++) {
        struct cpr_err err = {0};
        struct cpr_model m = {0};
        CPR_CHECK_STATUS(t, cpr_synth_model(&m, &sp, &err), CPR_OK, &err, NULL);
        void *st = NULL;
        owl->init(&st, &err);
        CPR_CHECK_STATUS(t, owl->parse_opts(st, base ? "base=sparsegpt,hyper_m=2,lambda=0.1"
                                                     : "hyper_m=2,lambda=0.1",
                                            &err), CPR_OK, &err, NULL);
        CPR_CHECK(t, cpr_method_needs(owl, st) ==
                         (base ? CPR_NEED_HESSIAN : CPR_NEED_COLSUMSQ),
                  "needs follow the base");
        struct cpr_pipe_opts o = {.method = owl, .method_state = st,
                                  .target = {.sparsity = 0.5}};
        struct cpr_pipe_report rep;
        CPR_CHECK_STATUS(t, cpr_prune_model(&m, win, 4, 32, &o, NULL, NULL,
                                            &rep, &err), CPR_OK, &err, NULL);
        if (rep.alloc) {
            double mean = 0, lo = 1, hi = 0;
            for (int l = 0; l < 3; l++) {
                double s = rep.alloc[l * 7].sparsity;
                for (int j = 1; j < 7; j++)
                    CPR_CHECK(t, rep.alloc[l * 7 + j].sparsity == s,
                              "one sparsity per block");
                mean += s / 3;
                lo = fmin(lo, s);
                hi = fmax(hi, s);
            }
            CPR_CHECK(t, fabs(mean - 0.5) < 1e-6, "mean block sparsity %.9f", mean);
            CPR_CHECK(t, fabs(hi - lo - 0.2) < 1e-9, "spread %g (2 lambda)", hi - lo);
            CPR_CHECK(t, rep.sec_scan > 0, "scan timed");
        } else {
            CPR_CHECK(t, 0, "no allocation reported");
        }
        owl->free(st);
        cpr_pipe_report_free(&rep);
        cpr_model_free(&m);
    }
}

const struct cpr_test cpr_tests_methods_owl[] = {
    {"lod_and_allocation", test_lod_and_allocation, 0},
    {"pipeline_allocation", test_pipeline_allocation, 0},
    {0},
};
