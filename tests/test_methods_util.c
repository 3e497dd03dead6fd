// tests/test_methods_util.c: the helpers shared by the method files
// (methods/method_util.h): the opening checks in their order and messages,
// the dense target, torch's pow fast paths, and the stable sort (ties keep
// the input order, NaN last); plus every registered method refusing a
// missing statistic and a width mismatch through the one helper.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/registry.h"
#include "tests/harness.h"

static void test_open(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    float w[6] = {1, 2, 3, 4, 5, 6}, sr[3] = {1, 1, 1};
    double mu[3] = {0}, var[3] = {1, 1, 1};
    struct cpr_matrix m = {"layers.0.q_proj", w, 2, 3, 3, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats st = {3, 1, sr, NULL, mu, var, NULL, NULL};
    struct cpr_prune_target half = {0.5, 0, 0}, zero = {0.0, 0, 0};
    int dense = 7;
    // 1. the view
    struct cpr_matrix badv = {"x", w, 2, 3, 2, CPR_MATRIX_GROUP_UNKNOWN};
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &badv, &st, 0, &half, NULL, &dense,
                                       &err),
                     CPR_ERR_ARG, &err, "m: bad matrix view");
    CPR_CHECK(t, dense == 0, "dense set on an error");
    CPR_CHECK_STATUS(t, cpr_prune_open("m", NULL, &st, 0, &half, NULL, &dense,
                                       &err),
                     CPR_ERR_ARG, &err, "bad matrix view");
    // 2. the target
    struct cpr_prune_target nm = {0, 2, 4};
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, &st, 0, &nm, NULL, &dense,
                                       &err),
                     CPR_ERR_ARG, &err, NULL);
    // 3. statistics, named
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, NULL, CPR_NEED_COLSUMSQ, &half,
                                       NULL, &dense, &err),
                     CPR_ERR_ARG, &err, "m: layers.0.q_proj: no scaler_row "
                                        "statistics (needs colsumsq)");
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, &st,
                                       CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN,
                                       &half, NULL, &dense, &err),
                     CPR_ERR_ARG, &err, "no Hessian statistics (needs "
                                        "colsumsq,hessian)");
    struct cpr_linear_stats nomv = {3, 1, sr, NULL, mu, NULL, NULL, NULL};
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, &nomv, CPR_NEED_COLMEANVAR,
                                       &half, NULL, &dense, &err),
                     CPR_ERR_ARG, &err, "col_mean/col_var");
    // needs == 0: no statistics at all is fine
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, NULL, 0, &half, NULL, &dense,
                                       &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, dense == 0, "sparsity 0.5 reported dense");
    // 4. the width
    struct cpr_linear_stats wide = {4, 1, sr, NULL, mu, var, NULL, NULL};
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, &wide, CPR_NEED_COLSUMSQ,
                                       &half, NULL, &dense, &err),
                     CPR_ERR_SHAPE, &err, "statistics have 4 columns, weight "
                                          "has 3");
    // 5. the dense target zeroes the mask and leaves W alone
    uint8_t mask[6];
    memset(mask, 9, sizeof mask);
    CPR_CHECK_STATUS(t, cpr_prune_open("m", &m, &st, CPR_NEED_COLSUMSQ, &zero,
                                       mask, &dense, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, dense == 1, "sparsity 0 not reported dense");
    int zeroed = 1;
    for (int i = 0; i < 6; i++) zeroed &= mask[i] == 0;
    CPR_CHECK(t, zeroed && w[0] == 1 && w[5] == 6, "dense target: mask %d",
              zeroed);
}

// Every plain method (not the allocation ones) refuses missing statistics
// and a width mismatch with the helper's status codes.
static void test_methods_refuse(struct cpr_test_ctx *t) {
    static const char *const names[] = {"wanda", "sparsegpt", "ria", "dsnot",
                                        "swiftprune"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct cpr_method *me = cpr_method_find(names[i]);
        CPR_CHECK(t, me != NULL, "%s not registered", names[i]);
        if (!me) continue;
        struct cpr_err err = {0};
        void *s = NULL;
        CPR_CHECK_STATUS(t, me->init(&s, &err), CPR_OK, &err, NULL);
        float w[8] = {1, -2, 3, -4, 5, -6, 7, -8}, sr[8] = {1, 1, 1, 1};
        float h[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
        double mu[4] = {0}, var[4] = {1, 1, 1, 1};
        struct cpr_matrix m = {"q_proj", w, 2, 4, 4, CPR_MATRIX_GROUP_UNKNOWN};
        struct cpr_prune_target half = {0.5, 0, 0};
        struct cpr_linear_stats none = {4, 1, NULL, NULL, NULL, NULL, NULL, NULL};
        CPR_CHECK_STATUS(t, me->prune_matrix(s, &m, &none, &half, NULL, NULL,
                                             NULL, &err),
                         CPR_ERR_ARG, &err, "(needs ");
        struct cpr_linear_stats narrow = {3, 1, sr, h, mu, var, NULL, NULL};
        CPR_CHECK_STATUS(t, me->prune_matrix(s, &m, &narrow, &half, NULL, NULL,
                                             NULL, &err),
                         CPR_ERR_SHAPE, &err, "statistics have 3 columns");
        CPR_CHECK(t, w[0] == 1 && w[7] == -8, "%s changed W on an error",
                  names[i]);
        me->free(s);
    }
}

static void test_pow(struct cpr_test_ctx *t) {
    const float x = 2.7182817f;
    CPR_CHECK(t, cpr_pow_torch(x, 1.0) == x, "p = 1");
    CPR_CHECK(t, cpr_pow_torch(x, 0.5) == sqrtf(x), "p = 0.5");
    CPR_CHECK(t, cpr_pow_torch(x, 2.0) == x * x, "p = 2");
    CPR_CHECK(t, cpr_pow_torch(x, 3.0) == x * x * x, "p = 3");
    CPR_CHECK(t, cpr_pow_torch(x, -0.5) == 1.0f / sqrtf(x), "p = -0.5");
    CPR_CHECK(t, cpr_pow_torch(x, -1.0) == 1.0f / x, "p = -1");
    CPR_CHECK(t, cpr_pow_torch(x, -2.0) == 1.0f / (x * x), "p = -2");
    CPR_CHECK(t, cpr_pow_torch(x, 0.25) == powf(x, 0.25f), "p = 0.25");
}

static void test_sort(struct cpr_test_ctx *t) {
    // keys with ties and NaNs; ties must keep the input (index) order and
    // NaNs go last in input order.
    const float key[11] = {3, 1, NAN, 1, 2, 3, NAN, 0, 1, 2, -1};
    const uint32_t want[11] = {10, 7, 1, 3, 8, 4, 9, 0, 5, 2, 6};
    uint32_t idx[11], tmp[11];
    for (uint32_t i = 0; i < 11; i++) idx[i] = i;
    cpr_sort_stable(idx, 11, tmp, cpr_before_by_key, key);
    CPR_CHECK(t, memcmp(idx, want, sizeof want) == 0,
              "order %u %u %u %u %u %u %u %u %u %u %u", idx[0], idx[1], idx[2],
              idx[3], idx[4], idx[5], idx[6], idx[7], idx[8], idx[9], idx[10]);
    // a permuted start keeps its order among ties
    uint32_t perm[4] = {3, 1, 8, 0}, want2[4] = {3, 1, 8, 0};
    const float flat[9] = {5, 5, 5, 5, 5, 5, 5, 5, 5};
    cpr_sort_stable(perm, 4, tmp, cpr_before_by_key, flat);
    CPR_CHECK(t, memcmp(perm, want2, sizeof want2) == 0, "ties reordered");
    cpr_sort_stable(idx, 0, tmp, cpr_before_by_key, key); // n = 0: no-op
    CPR_CHECK(t, cpr_flt_before(1.0f, NAN) && !cpr_flt_before(NAN, 1.0f) &&
                     !cpr_flt_before(NAN, NAN) && !cpr_flt_before(1.0f, 1.0f),
              "cpr_flt_before");
}

const struct cpr_test cpr_tests_methods_util[] = {
    {"open_checks", test_open, 0},
    {"methods_refuse", test_methods_refuse, 0},
    {"pow_torch", test_pow, 0},
    {"sort_stable", test_sort, 0},
    {0},
};
