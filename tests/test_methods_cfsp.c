// tests/test_methods_cfsp.c: methods/cfsp.h on a tiny synthetic GQA model.
// Hand-worked allocation cases: the uniform (avg) allocation keeps 1 - r
// of every layer, int(I (1 - r)) + 1 channels (no ties); a steep sigmoid
// triggers the reference's pull towards the mean, after which the mean
// keep fraction is still 1 - r and the largest is (1 - r) + r / 1.05.
// 1 and 2 threads give bit-identical models; heads are never touched;
// bad ratios are refused. (Agreement with the official code on real
// models: tests/cli_struct.sh and tests/oracle/cfsp_oracle.py.)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/synth.h"
#include "methods/cfsp.h"
#include "tests/harness.h"

enum { NS = 4, SL = 24, INTER = 40 };

static struct cpr_synth_spec spec(void) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = INTER,
        .n_layers = 2, .n_heads = 8, .n_kv_heads = 4, .head_dim = 4,
        .vocab = 53, .context = 64, .dtype = CPR_DTYPE_F32, .seed = 5,
        .init_std = 0.2, .norm_jitter = 0.2, .rope_theta = 10000,
        .norm_eps = 1e-5f, .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static void tokens(int32_t *tok) {
    for (int i = 0; i < NS * SL; i++) tok[i] = (int32_t)((i * 17 + 3) % 53);
}

// Prune a fresh synthetic model with o on `threads` threads.
static enum cpr_status run(const struct cpr_struct_opts *o, int threads,
                           struct cpr_model *m, struct cpr_struct_plan *p,
                           struct cpr_cfsp_report *rep, struct cpr_err *err) {
    struct cpr_synth_spec s = spec();
    int32_t tok[NS * SL];
    tokens(tok);
    CPR_TRY(cpr_synth_model(m, &s, err));
    struct cpr_pool *pool = NULL;
    enum cpr_status st = cpr_pool_init(&pool, (size_t)threads, err);
    if (!st) st = cpr_cfsp_prune(m, tok, NS, SL, o, pool, p, rep, err);
    cpr_pool_free(pool);
    return st;
}

static void test_allocation_hand(struct cpr_test_ctx *t) {
    // uniform: avg gives every block 100 per window
    struct cpr_struct_opts o = {.kind = CPR_STRUCT_CFSP, .ratio = 0.3,
                                .cfsp_global = CPR_CFSP_AVG,
                                .cfsp_local = CPR_CFSP_WANDA_BASE};
    struct cpr_model m;
    struct cpr_struct_plan p;
    struct cpr_cfsp_report rep;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, run(&o, 1, &m, &p, &rep, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    for (int64_t l = 0; l < 2; l++) {
        const struct cpr_layer_shape sh = cpr_layer_shape_of(&m, l);
        CPR_CHECK(t, rep.importance[l] == 100.0 * NS, "layer %lld imp %g",
                  (long long)l, rep.importance[l]);
        CPR_CHECK(t, fabs(rep.keep[l] - 0.7) < 1e-15, "keep %.17g",
                  rep.keep[l]);
        // descending index int(40 * 0.7) = 28: 29 channels
        CPR_CHECK(t, sh.intermediate == 29 && sh.n_kv_heads == 4 &&
                         sh.n_heads == 8,
                  "layer %lld: %lld channels, %lld kv heads", (long long)l,
                  (long long)sh.intermediate, (long long)sh.n_kv_heads);
        CPR_CHECK(t, !p.layers[l].keep_kv && !p.layers[l].o_bias &&
                         !p.layers[l].down_bias && !m.layers[l].b_down.data,
                  "cfsp touches heads or adds a bias");
    }
    cpr_cfsp_report_free(&rep);
    cpr_struct_plan_free(&p);
    cpr_model_free(&m);
    // a steep sigmoid (a = 1e6): the rescale branch
    struct cpr_struct_opts o2 = {.kind = CPR_STRUCT_CFSP, .ratio = 0.5,
                                 .cfsp_a = 1e6};
    CPR_CHECK_STATUS(t, run(&o2, 1, &m, &p, &rep, &err), CPR_OK, &err, NULL);
    if (err.code) return;
    const double mean = (rep.keep[0] + rep.keep[1]) / 2;
    const double mx = rep.keep[0] > rep.keep[1] ? rep.keep[0] : rep.keep[1];
    CPR_CHECK(t, fabs(mean - 0.5) < 1e-12, "mean keep %.17g", mean);
    CPR_CHECK(t, fabs(mx - (0.5 + 0.5 / 1.05)) < 1e-12, "max keep %.17g", mx);
    const int64_t hi = rep.keep[0] > rep.keep[1] ? 0 : 1;
    CPR_CHECK(t, rep.importance[hi] > rep.importance[1 - hi],
              "the more important block keeps more");
    CPR_CHECK(t, cpr_layer_shape_of(&m, hi).intermediate ==
                     (int64_t)(INTER * mx) + 1,
              "layer %lld keeps %lld", (long long)hi,
              (long long)cpr_layer_shape_of(&m, hi).intermediate);
    cpr_cfsp_report_free(&rep);
    cpr_struct_plan_free(&p);
    cpr_model_free(&m);
}

static int same_tensor(const struct cpr_tensor *a, const struct cpr_tensor *b) {
    if (!a->data || !b->data) return !a->data && !b->data;
    return cpr_tensor_nbytes(a) == cpr_tensor_nbytes(b) &&
           !memcmp(a->data, b->data, cpr_tensor_nbytes(a));
}

static void test_threads_and_args(struct cpr_test_ctx *t) {
    for (int lm = 0; lm <= CPR_CFSP_WANDA_BASE; lm++) {
        struct cpr_struct_opts o = {.kind = CPR_STRUCT_CFSP, .ratio = 0.4,
                                    .cfsp_local = lm,
                                    .cfsp_global = lm % 4};
        struct cpr_model m[2];
        struct cpr_struct_plan p[2];
        struct cpr_err err = {0};
        for (int k = 0; k < 2; k++)
            CPR_CHECK_STATUS(t, run(&o, k + 1, &m[k], &p[k], NULL, &err),
                             CPR_OK, &err, NULL);
        if (err.code) return;
        for (int64_t l = 0; l < 2; l++)
            CPR_CHECK(t, same_tensor(&m[0].layers[l].w_down,
                                     &m[1].layers[l].w_down) &&
                             same_tensor(&m[0].layers[l].w_gate,
                                         &m[1].layers[l].w_gate),
                      "local %d layer %lld: 1 vs 2 threads differ", lm,
                      (long long)l);
        for (int k = 0; k < 2; k++) {
            cpr_struct_plan_free(&p[k]);
            cpr_model_free(&m[k]);
        }
    }
    struct cpr_struct_opts o = {.kind = CPR_STRUCT_CFSP, .ratio = 0};
    struct cpr_model m;
    struct cpr_struct_plan p;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, run(&o, 1, &m, &p, NULL, &err), CPR_ERR_ARG, &err,
                     "outside (0, 1)");
    cpr_model_free(&m);
}

const struct cpr_test cpr_tests_methods_cfsp[] = {
    {"allocation_hand", test_allocation_hand, 0},
    {"threads_args", test_threads_and_args, 0},
    {0},
};
