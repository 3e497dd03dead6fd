// tests/test_methods_swiftprune.c: the swiftprune method. Hand-worked 2x8
// matrix (column factors, scores, the EWMA threshold trace, masks for the
// EWMA rule, exact=1, metric=product and 2:4), exact=1 against a
// select-kernel reference on random and tie-heavy matrices (both the heap
// and the select correction), N:M group counts, the EWMA mask being a
// threshold set with a report that matches it, degenerate rows, option
// parsing errors, statistics errors, and bit-identity for 1, 2 and 3
// threads (which also moves rows between the 8-row and 1-row EWMA paths)
// and every ISA available.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "methods/registry.h"
#include "methods/rowsel.h"
#include "methods/swiftprune.h"
#include "tests/harness.h"
#include "tests/method_testutil.h"

// ---- helpers ----
static void *swp_state(struct cpr_test_ctx *t, const char *opts) {
    const struct cpr_method *m = cpr_method_find("swiftprune");
    void *s = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->init(&s, &err), CPR_OK, &err, NULL);
    if (s && opts)
        CPR_CHECK_STATUS(t, m->parse_opts(s, opts, &err), CPR_OK, &err, NULL);
    return s;
}

// Prune a copy of w (rows, cols; stride ld) into out with options `opts`.
static enum cpr_status swp_run(const char *opts, size_t rows, size_t cols,
                               size_t ld, const float *w, const float *sr,
                               struct cpr_prune_target tg,
                               struct cpr_pool *pool,
                               const struct cpr_kernels *k, float *out,
                               uint8_t *mask,
                               struct cpr_swiftprune_report *rep,
                               struct cpr_err *err) {
    const struct cpr_method *m = cpr_method_find("swiftprune");
    void *s = NULL;
    enum cpr_status st = m->init(&s, err);
    if (st == CPR_OK) st = m->parse_opts(s, opts, err);
    memcpy(out, w, rows * ld * sizeof *out);
    struct cpr_matrix mat = {"test", out, rows, cols, ld, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats stats = {cols, 4, sr, NULL, NULL, NULL, NULL, NULL};
    if (st == CPR_OK)
        st = cpr_swiftprune_prune(s, &mat, &stats, &tg, mask, pool, k, rep,
                                  err);
    m->free(s);
    return st;
}

static int close_rel(double a, double b, double rtol) {
    return fabs(a - b) <= rtol * fabs(b);
}

// ---- the hand-worked 2x8 case ----
// scaler_row a = (1,1,1,1,1,1,1,9): S = 16, lambda = 0.01 * 16 / 8 = 0.02,
// S + lambda = 16.02, so c_j = 1/16.02 (j < 7), 9/16.02 (j = 7) and
//   f_j = 16.02 / 15.02 = 1.06657791...  (j < 7)
//   f_7 = 16.02 /  7.02 = 2.28205128...
// Scores L = (w*w) * f (f32):
//   row 0, w = (1, -1.4, 3, -4, 0.5, 5, -1.2, 1):
//     L = 1.066578 2.090493 9.599201 17.065247 0.266644 26.664448
//         1.535872 2.282051
//   row 1, w = (0.3, -0.9, 0.2, 1.1, -0.25, 0.6, 0.4, -0.35):
//     L = 0.095992 0.863928 0.042663 1.290559 0.066661 0.383968
//         0.170652 0.279551
// s = 0.5: k = 4, p = 0.5. stride(8) = 5: order 0 5 2 7 4 1 6 3. With
// warmup = 8 every gain is min(0.5, 8/(t+1)) = 0.5, so each step is
// tau *= 0.75 (score <= tau) or tau *= 1.25 (score > tau):
//   row 0: tau_0 = mean = 7.571317
//     j0 1.07<= 5.678488 | j5 26.66> 7.098109 | j2 9.60> 8.872637 |
//     j7 2.28<= 6.654478 | j4 0.27<= 4.990858 | j1 2.09<= 3.743144 |
//     j6 1.54<= 2.807358 | j3 17.07> 3.509197 = tau_8
//     prune L <= 3.509197: {0,1,4,6,7}, 5 of 8 (one over the target)
//   row 1: tau_0 = 0.399247
//     j0 <= 0.299435 | j5 > 0.374294 | j2 <= 0.280721 | j7 <= 0.210540 |
//     j4 <= 0.157905 | j1 > 0.197382 | j6 <= 0.148036 | j3 > 0.185045
//     prune L <= 0.185045: {0,2,4,6}, exactly 4
// exact=1 keeps the 4 smallest of row 0's five: {0,1,4,6}; column 7 (|w| =
// 1 but 9x the input energy) survives where magnitude would prune it
// before |w| = 1.4 (column 1). Row 1 likewise keeps column 7 (|w| 0.35)
// and prunes column 6 (|w| 0.4).
enum { HR = 2, HC = 8 };
static const float hand_w[HR * HC] = {
    1.0f, -1.4f, 3.0f, -4.0f, 0.5f,   5.0f, -1.2f, 1.0f,
    0.3f, -0.9f, 0.2f, 1.1f,  -0.25f, 0.6f, 0.4f,  -0.35f,
};
static const float hand_sr[HC] = {1, 1, 1, 1, 1, 1, 1, 9};

static void test_hand_factors(struct cpr_test_ctx *t) {
    float f[HC];
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, hand_sr, 0.01,
                                                 CPR_SWP_METRIC_OBS, f, &err),
                     CPR_OK, &err, NULL);
    for (size_t j = 0; j < HC; j++) {
        double want = j < 7 ? 16.02 / 15.02 : 16.02 / 7.02;
        CPR_CHECK(t, close_rel(f[j], want, 1e-7), "f[%zu] = %.9g, want %.9g",
                  j, f[j], want);
    }
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, hand_sr, 0.01,
                                                 CPR_SWP_METRIC_PRODUCT, f,
                                                 &err),
                     CPR_OK, &err, NULL);
    for (size_t j = 0; j < HC; j++) {
        double want = j < 7 ? 15.02 / 16.02 : 7.02 / 16.02;
        CPR_CHECK(t, close_rel(f[j], want, 1e-7), "product f[%zu] = %.9g", j,
                  f[j]);
    }
    float zero[HC] = {0};
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, zero, 0.01, 0, f, &err),
                     CPR_OK, &err, NULL);
    for (size_t j = 0; j < HC; j++)
        CPR_CHECK(t, f[j] == 1.0f, "S = 0: f[%zu] = %g", j, f[j]);
    float bad[HC] = {1, 1, -1, 1, 1, 1, 1, 1};
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, bad, 0.01, 0, f, &err),
                     CPR_ERR_NUMERIC, &err, "scaler_row[2]");
    bad[2] = NAN;
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, bad, 0.01, 0, f, &err),
                     CPR_ERR_NUMERIC, &err, "scaler_row[2]");
    CPR_CHECK_STATUS(t, cpr_swiftprune_colfactor(HC, hand_sr, 0.0, 0, f, &err),
                     CPR_ERR_ARG, &err, "damp");
}

static void test_hand_threshold(struct cpr_test_ctx *t) {
    CPR_CHECK(t, cpr_swiftprune_stride(8) == 5, "stride(8)");
    CPR_CHECK(t, cpr_swiftprune_stride(4) == 3, "stride(4)");
    CPR_CHECK(t, cpr_swiftprune_stride(10) == 7, "stride(10)");
    CPR_CHECK(t, cpr_swiftprune_stride(2) == 1 && cpr_swiftprune_stride(1) == 1,
              "stride(1|2)");
    CPR_CHECK(t, cpr_swiftprune_stride(4096) == 2531, "stride(4096)");
    // The order visits every column exactly once.
    for (size_t n = 1; n < 300; n++) {
        size_t s = cpr_swiftprune_stride(n), j = 0;
        uint8_t seen[300] = {0};
        for (size_t i = 0; i < n; i++) {
            seen[j]++;
            j = (j + s) % n;
        }
        for (size_t i = 0; i < n; i++)
            if (seen[i] != 1) {
                CPR_CHECK(t, 0, "n = %zu: column %zu visited %d times", n, i,
                          seen[i]);
                break;
            }
    }
    float f[HC], score[HC];
    struct cpr_err err = {0};
    cpr_swiftprune_colfactor(HC, hand_sr, 0.01, 0, f, &err);
    static const double want_tau[HR] = {3.5091971916472176,
                                        0.18504524567042324};
    static const float want_l[HR][HC] = {
        {1.06657791f, 2.09049273f, 9.5992012f, 17.0652466f, 0.266644478f,
         26.6644478f, 1.53587222f, 2.28205132f},
        {0.0959920138f, 0.86392802f, 0.0426631197f, 1.29055929f,
         0.0666611195f, 0.383968055f, 0.170652479f, 0.279551268f}};
    for (size_t r = 0; r < HR; r++) {
        for (size_t j = 0; j < HC; j++) {
            float ww = hand_w[r * HC + j] * hand_w[r * HC + j];
            score[j] = ww * f[j];
            CPR_CHECK(t, score[j] == want_l[r][j],
                      "L[%zu][%zu] = %.7g", r, j, score[j]);
        }
        double tau = cpr_swiftprune_threshold(HC, score, 4, 0.999, 8.0);
        CPR_CHECK(t, close_rel(tau, want_tau[r], 1e-9), "row %zu: tau = %.17g",
                  r, tau);
    }
    // Degenerate rows have no threshold.
    float zero[HC] = {0};
    CPR_CHECK(t, isnan(cpr_swiftprune_threshold(HC, zero, 4, 0.999, 8)),
              "zero row");
    score[3] = NAN;
    CPR_CHECK(t, isnan(cpr_swiftprune_threshold(HC, score, 4, 0.999, 8)),
              "NaN score");
    score[3] = INFINITY;
    CPR_CHECK(t, isnan(cpr_swiftprune_threshold(HC, score, 4, 0.999, 8)),
              "Inf score");
}

static void test_hand_masks(struct cpr_test_ctx *t) {
    float out[HR * HC];
    uint8_t mask[HR * HC];
    struct cpr_err err = {0};
    struct cpr_swiftprune_report rep;
    // EWMA rule.
    static const uint8_t want_ewma[HR * HC] = {1, 1, 0, 0, 1, 0, 1, 1,
                                               1, 0, 1, 0, 1, 0, 1, 0};
    CPR_CHECK_STATUS(t, swp_run("", HR, HC, HC, hand_w, hand_sr, mt_unstr(0.5),
                                NULL, NULL, out, mask, &rep, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "ewma", mask, want_ewma, HR * HC);
    for (size_t i = 0; i < HR * HC; i++)
        CPR_CHECK(t, out[i] == (mask[i] ? 0.0f : hand_w[i]), "ewma w[%zu]", i);
    CPR_CHECK(t, rep.rows == 2 && rep.n_pruned == 9 && rep.rows_exact == 0,
              "report counts %zu %zu %zu", rep.rows, rep.n_pruned,
              rep.rows_exact);
    CPR_CHECK(t, rep.target == 0.5 && rep.mean_abs_dev == 0.0625 &&
                     rep.max_abs_dev == 0.125 && rep.mean_dev == 0.0625,
              "report devs %g %g %g %g", rep.target, rep.mean_abs_dev,
              rep.max_abs_dev, rep.mean_dev);
    // exact=1: row 0 drops its largest pruned score (column 7).
    static const uint8_t want_exact[HR * HC] = {1, 1, 0, 0, 1, 0, 1, 0,
                                                1, 0, 1, 0, 1, 0, 1, 0};
    CPR_CHECK_STATUS(t, swp_run("exact=1", HR, HC, HC, hand_w, hand_sr,
                                mt_unstr(0.5), NULL, NULL, out, mask, &rep, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "exact", mask, want_exact, HR * HC);
    CPR_CHECK(t, rep.n_pruned == 8 && rep.rows_exact == 1 &&
                     rep.mean_abs_dev == 0 && rep.max_abs_dev == 0,
              "exact report %zu %zu %g", rep.n_pruned, rep.rows_exact,
              rep.max_abs_dev);
    // metric=product, exact: f = 15.02/16.02 (j < 7), 7.02/16.02 (j = 7);
    // row 0 L = 0.9376 1.8377 8.4382 15.0012 0.2344 23.4395 1.3501 0.4382:
    // column 7 is now among the four smallest (the reversed preference).
    static const uint8_t want_prod0[HC] = {1, 0, 0, 0, 1, 0, 1, 1};
    CPR_CHECK_STATUS(t, swp_run("metric=product,exact=1", HR, HC, HC, hand_w,
                                hand_sr, mt_unstr(0.5), NULL, NULL, out, mask,
                                NULL, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "product", mask, want_prod0, HC);
    // 2:4: groups (0-3), (4-7) of each row, two smallest L each.
    static const uint8_t want_24[HR * HC] = {1, 1, 0, 0, 1, 0, 1, 0,
                                             1, 0, 1, 0, 1, 0, 1, 0};
    struct cpr_prune_target t24 = {0.0, 2, 4};
    CPR_CHECK_STATUS(t, swp_run("", HR, HC, HC, hand_w, hand_sr, t24, NULL,
                                NULL, out, mask, &rep, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "2:4", mask, want_24, HR * HC);
    CPR_CHECK(t, rep.target == 0.5 && rep.max_abs_dev == 0 &&
                     rep.n_pruned == 8, "2:4 report");
    // s = 0 leaves everything; s = 1 prunes everything; int(8 * 0.1) = 0.
    const double ss[3] = {0.0, 1.0, 0.1};
    const size_t want_n[3] = {0, 16, 0};
    for (int i = 0; i < 3; i++) {
        CPR_CHECK_STATUS(t, swp_run("", HR, HC, HC, hand_w, hand_sr,
                                    mt_unstr(ss[i]), NULL, NULL, out, mask, &rep,
                                    &err),
                         CPR_OK, &err, NULL);
        size_t np = 0;
        for (size_t j = 0; j < HR * HC; j++) np += mask[j];
        CPR_CHECK(t, np == want_n[i] && rep.n_pruned == want_n[i],
                  "s = %g: %zu pruned", ss[i], np);
    }
}

// ---- invariants on random matrices ----
static void fill_case(struct cpr_rng *rng, size_t rows, size_t cols,
                      size_t ld, float *w, float *sr) {
    cpr_test_fill_normal(rng, w, rows * ld, 1.0f);
    for (size_t j = 0; j < cols; j++) {
        double z = cpr_rng_normal(rng);
        sr[j] = (float)exp(1.5 * z);
    }
    sr[cols / 3] *= 500.0f; // an outlier feature
}

// Reference exact mask: scores as documented, then the k smallest in
// (score, index) order.
static void ref_exact(const float *w, size_t rows, size_t cols, size_t ld,
                      const float *sr, size_t kc, uint8_t *mask) {
    float *f = malloc(cols * sizeof *f), *sc = malloc(cols * sizeof *sc);
    uint32_t *scr = malloc(cols * sizeof *scr);
    struct cpr_err err = {0};
    cpr_swiftprune_colfactor(cols, sr, 0.01, 0, f, &err);
    const struct cpr_kernels *k = cpr_kernels_get();
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            float ww = w[r * ld + j] * w[r * ld + j];
            sc[j] = ww * f[j];
        }
        k->select_smallest_f32(cols, kc, sc, mask + r * cols, scr);
    }
    free(f);
    free(sc);
    free(scr);
}

static void test_exact_count(struct cpr_test_ctx *t) {
    // The last case's constant gain 0.5 leaves the EWMA far off (checked
    // below), so its corrections go through the select kernel instead of
    // the heap (more than 256 flips).
    static const struct {
        size_t rows, cols, ld;
        double s;
        const char *o;
    } cases[] = {{37, 203, 203, 0.5, ""},    {16, 1000, 1003, 0.37, ""},
                 {8, 777, 777, 0.1, ""},     {8, 512, 512, 0.9, ""},
                 {5, 3, 3, 0.5, ""},         {4, 4096, 4096, 0.6, ""},
                 {8, 4096, 4096, 0.5, "beta=0,warmup=0"}};
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t R = cases[c].rows, C = cases[c].cols, ld = cases[c].ld;
        float *w = malloc(R * ld * sizeof *w), *out = malloc(R * ld * 4);
        float *sr = malloc(C * sizeof *sr);
        uint8_t *mask = malloc(R * C), *want = malloc(R * C);
        fill_case(&rng, R, C, ld, w, sr);
        if (c % 2) { // many exact ties: equal factors, quantized weights
            for (size_t j = 0; j < C; j++) sr[j] = 1.0f;
            for (size_t i = 0; i < R * ld; i++) w[i] = roundf(w[i] * 4) / 4;
        }
        size_t kc = cpr_count_of(C, cases[c].s);
        struct cpr_err err = {0};
        struct cpr_swiftprune_report rep;
        char opts[64];
        snprintf(opts, sizeof opts, "exact=1%s%s", *cases[c].o ? "," : "",
                 cases[c].o);
        CPR_CHECK_STATUS(t, swp_run(cases[c].o, R, C, ld, w, sr,
                                    mt_unstr(cases[c].s), NULL, NULL, out, mask,
                                    &rep, &err),
                         CPR_OK, &err, NULL);
        size_t far = (size_t)(rep.max_abs_dev * (double)C + 0.5);
        if (*cases[c].o)
            CPR_CHECK(t, far > 256, "case %zu: max flips %zu", c, far);
        CPR_CHECK_STATUS(t, swp_run(opts, R, C, ld, w, sr, mt_unstr(cases[c].s),
                                    NULL, NULL, out, mask, &rep, &err),
                         CPR_OK, &err, NULL);
        ref_exact(w, R, C, ld, sr, kc, want);
        mt_check_mask(t, "exact vs reference", mask, want, R * C);
        for (size_t r = 0; r < R; r++) {
            size_t np = 0;
            for (size_t j = 0; j < C; j++) {
                np += mask[r * C + j];
                CPR_CHECK(t, out[r * ld + j] ==
                                 (mask[r * C + j] ? 0.0f : w[r * ld + j]),
                          "case %zu w[%zu][%zu]", c, r, j);
            }
            CPR_CHECK(t, np == kc, "case %zu row %zu: %zu pruned, want %zu", c,
                      r, np, kc);
        }
        CPR_CHECK(t, rep.max_abs_dev == 0 && rep.n_pruned == R * kc,
                  "case %zu: report", c);
        free(w);
        free(out);
        free(sr);
        free(mask);
        free(want);
    }
}

// EWMA rule: the mask is a threshold set (every pruned score <= every kept
// one), the report matches the mask, and the deviation is modest.
static void test_ewma_rule(struct cpr_test_ctx *t) {
    enum { R = 48, C = 4096 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 5);
    float *w = malloc(R * C * sizeof *w), *out = malloc(R * C * sizeof *out);
    float *sr = malloc(C * sizeof *sr), f[C];
    uint8_t *mask = malloc(R * C);
    fill_case(&rng, R, C, C, w, sr);
    struct cpr_err err = {0};
    cpr_swiftprune_colfactor(C, sr, 0.01, 0, f, &err);
    const double ss[3] = {0.3, 0.5, 0.8};
    for (int i = 0; i < 3; i++) {
        struct cpr_swiftprune_report rep;
        CPR_CHECK_STATUS(t, swp_run("", R, C, C, w, sr, mt_unstr(ss[i]), NULL,
                                    NULL, out, mask, &rep, &err),
                         CPR_OK, &err, NULL);
        size_t kc = cpr_count_of(C, ss[i]), tot = 0;
        double sum_abs = 0, mx = 0;
        for (size_t r = 0; r < R; r++) {
            float max_p = -1.0f, min_k = INFINITY;
            size_t np = 0;
            for (size_t j = 0; j < C; j++) {
                float ww = w[r * C + j] * w[r * C + j], sc = ww * f[j];
                if (mask[r * C + j]) {
                    np++;
                    if (sc > max_p) max_p = sc;
                } else if (sc < min_k) {
                    min_k = sc;
                }
            }
            CPR_CHECK(t, max_p < min_k, "s %g row %zu: pruned %g >= kept %g",
                      ss[i], r, max_p, min_k);
            double dev = fabs(((double)np - (double)kc) / C);
            sum_abs += dev;
            if (dev > mx) mx = dev;
            tot += np;
        }
        CPR_CHECK(t, rep.n_pruned == tot && rep.max_abs_dev == mx &&
                         close_rel(rep.mean_abs_dev, sum_abs / R, 1e-12),
                  "s %g: report does not match the mask", ss[i]);
        CPR_CHECK(t, rep.mean_abs_dev < 0.01 && rep.max_abs_dev < 0.04,
                  "s %g: deviation mean %g max %g", ss[i], rep.mean_abs_dev,
                  rep.max_abs_dev);
        if (t->verbose)
            printf("  s=%.1f: mean |dev| %.5f, max %.5f, bias %+.5f\n",
                   ss[i], rep.mean_abs_dev, rep.max_abs_dev, rep.mean_dev);
    }
    free(w);
    free(out);
    free(sr);
    free(mask);
}

static void test_nm_groups(struct cpr_test_ctx *t) {
    enum { R = 20, C = 64 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 7);
    float w[R * C], out[R * C], sr[C];
    uint8_t mask[R * C];
    fill_case(&rng, R, C, C, w, sr);
    for (size_t i = 0; i < R * C; i += 9) w[i] = 0.0f; // pre-existing zeros
    static const unsigned nms[3][2] = {{2, 4}, {4, 8}, {1, 4}};
    for (int c = 0; c < 3; c++) {
        unsigned n = nms[c][0], m = nms[c][1];
        struct cpr_prune_target tg = {0.0, n, m};
        struct cpr_err err = {0};
        CPR_CHECK_STATUS(t, swp_run("exact=1", R, C, C, w, sr, tg, NULL, NULL,
                                    out, mask, NULL, &err),
                         CPR_OK, &err, NULL);
        for (size_t g = 0; g < R * C; g += m) {
            unsigned zeros = 0, marked = 0;
            for (unsigned i = 0; i < m; i++) {
                zeros += out[g + i] == 0.0f;
                marked += mask[g + i];
            }
            CPR_CHECK(t, zeros >= n && marked == n, "%u:%u group %zu: %u "
                      "zeros, %u marked", n, m, g / m, zeros, marked);
        }
    }
}

// Degenerate rows (all zero, NaN, Inf) take the exact selection.
static void test_degenerate_rows(struct cpr_test_ctx *t) {
    enum { C = 16 };
    float w[3 * C], out[3 * C], sr[C];
    uint8_t mask[3 * C];
    for (size_t j = 0; j < C; j++) {
        sr[j] = 1.0f;
        w[j] = 0.0f;
        w[C + j] = (float)(j + 1);
        w[2 * C + j] = (float)(C - j);
    }
    w[C + 2] = NAN;
    w[2 * C + 5] = INFINITY;
    struct cpr_err err = {0};
    struct cpr_swiftprune_report rep;
    CPR_CHECK_STATUS(t, swp_run("", 3, C, C, w, sr, mt_unstr(0.25), NULL, NULL,
                                out, mask, &rep, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, rep.rows_exact == 3 && rep.max_abs_dev == 0,
              "rows_exact %zu", rep.rows_exact);
    // Row 0: all ties, the 4 lowest columns. Row 1: the 4 smallest |w|
    // (NaN ranks last, kept). Row 2: the 4 smallest, columns 12..15.
    static const uint8_t want[3 * C] = {
        1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    mt_check_mask(t, "degenerate", mask, want, 3 * C);
    CPR_CHECK(t, isnan(out[C + 2]) && isinf(out[2 * C + 5]), "kept NaN/Inf");
}

// ---- threads and ISAs ----
static void test_threads_isas(struct cpr_test_ctx *t) {
    enum { R = 61, C = 384, LD = 390 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 13);
    float *w = malloc(R * LD * sizeof *w), *sr = malloc(C * sizeof *sr);
    float *o1 = malloc(R * LD * sizeof *o1), *o2 = malloc(R * LD * sizeof *o2);
    uint8_t *m1 = malloc(R * C), *m2 = malloc(R * C);
    fill_case(&rng, R, C, LD, w, sr);
    for (size_t i = 0; i < R * LD; i += 7) w[i] = roundf(w[i] * 2) / 2; // ties
    memset(w + 5 * LD, 0, C * sizeof *w); // an all-zero row
    w[9 * LD + 4] = NAN;
    struct cpr_pool *pools[3] = {NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (int p = 1; p < 3; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], (size_t)p + 1, &err),
                         CPR_OK, &err, NULL);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    static const struct {
        const char *o;
        double s;
        unsigned n, m;
    } cases[] = {{"", 0.5, 0, 0},        {"exact=1", 0.5, 0, 0},
                 {"exact=1", 0.73, 0, 0}, {"beta=0.9,warmup=2", 0.4, 0, 0},
                 {"", 0.0, 2, 4},        {"metric=product", 0.0, 4, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct cpr_prune_target tg = {cases[c].s, cases[c].n, cases[c].m};
        struct cpr_swiftprune_report r1, r2;
        CPR_CHECK_STATUS(t, swp_run(cases[c].o, R, C, LD, w, sr, tg, NULL,
                                    &tabs[0], o1, m1, &r1, &err),
                         CPR_OK, &err, NULL);
        for (int p = 1; p < 3; p++)
            for (size_t i = 0; i < nt; i++) {
                CPR_CHECK_STATUS(t, swp_run(cases[c].o, R, C, LD, w, sr, tg,
                                            pools[p], &tabs[i], o2, m2, &r2,
                                            &err),
                                 CPR_OK, &err, NULL);
                CPR_CHECK(t, !memcmp(o1, o2, R * LD * sizeof *o1) &&
                                 !memcmp(m1, m2, R * C) &&
                                 !memcmp(&r1, &r2, sizeof r1),
                          "case %zu: %d threads, isa %s differ", c, p + 1,
                          cpr_isa_name(isas[i]));
            }
        // mask == NULL gives the same weights.
        CPR_CHECK_STATUS(t, swp_run(cases[c].o, R, C, LD, w, sr, tg, pools[1],
                                    NULL, o2, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(o1, o2, R * LD * sizeof *o1), "case %zu: no mask",
                  c);
    }
    for (int p = 1; p < 3; p++) cpr_pool_free(pools[p]);
    free(w);
    free(sr);
    free(o1);
    free(o2);
    free(m1);
    free(m2);
}

// ---- interface and errors ----
static void test_options(struct cpr_test_ctx *t) {
    const struct cpr_method *m = cpr_method_find("swiftprune");
    CPR_CHECK(t, m && m->abi_version == CPR_METHOD_ABI_VERSION, "registered");
    if (!m) return;
    CPR_CHECK(t, m->needs == CPR_NEED_COLSUMSQ, "needs %u", m->needs);
    void *s = swp_state(t, "beta=0.99,warmup=4,damp=0.1,exact=true,"
                           "metric=product");
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->parse_opts(s, "alpha=0.5", &err), CPR_ERR_ARG,
                     &err, "known: metric, beta, warmup, damp, exact");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "beta=1.5", &err), CPR_ERR_ARG, &err,
                     "found '1.5'");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "beta=-0.1", &err), CPR_ERR_ARG,
                     &err, "beta");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "warmup=x", &err), CPR_ERR_ARG, &err,
                     "warmup");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "damp=0", &err), CPR_ERR_ARG, &err,
                     "damp");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "exact=maybe", &err), CPR_ERR_ARG,
                     &err, "0|1|true|false");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "metric=wanda", &err), CPR_ERR_ARG,
                     &err, "obs|product");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "exact", &err), CPR_ERR_ARG, &err,
                     "name=value");
    m->free(s);
}

static void test_errors(struct cpr_test_ctx *t) {
    float w[2 * 8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[2 * 8], sr[8] = {1};
    uint8_t mask[16];
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, swp_run("", 2, 8, 8, w, NULL, mt_unstr(0.5), NULL, NULL,
                                out, mask, NULL, &err),
                     CPR_ERR_ARG, &err, "scaler_row");
    CPR_CHECK_STATUS(t, swp_run("", 2, 8, 8, w, sr, mt_unstr(1.5), NULL, NULL,
                                out, mask, NULL, &err),
                     CPR_ERR_ARG, &err, NULL);
    struct cpr_prune_target bad = {0.0, 2, 3};
    CPR_CHECK_STATUS(t, swp_run("", 2, 8, 8, w, sr, bad, NULL, NULL, out,
                                mask, NULL, &err),
                     CPR_ERR_ARG, &err, NULL);
    sr[3] = -2.0f;
    CPR_CHECK_STATUS(t, swp_run("", 2, 8, 8, w, sr, mt_unstr(0.5), NULL, NULL,
                                out, mask, NULL, &err),
                     CPR_ERR_NUMERIC, &err, "scaler_row[3]");
    sr[3] = 1.0f;
    // n_cols disagreeing with the weight, through the vtable.
    const struct cpr_method *m = cpr_method_find("swiftprune");
    void *s = swp_state(t, NULL);
    struct cpr_matrix mat = {"x", out, 2, 8, 8, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats st = {7, 4, sr, NULL, NULL, NULL, NULL, NULL};
    struct cpr_prune_target tg = mt_unstr(0.5);
    CPR_CHECK_STATUS(t, m->prune_matrix(s, &mat, &st, &tg, mask, NULL, NULL,
                                        &err),
                     CPR_ERR_SHAPE, &err, "7 columns");
    m->free(s);
}

const struct cpr_test cpr_tests_methods_swiftprune[] = {
    {"options", test_options, 0},
    {"errors", test_errors, 0},
    {"hand_factors", test_hand_factors, 0},
    {"hand_threshold", test_hand_threshold, 0},
    {"hand_masks", test_hand_masks, 0},
    {"exact_count", test_exact_count, 0},
    {"ewma_rule", test_ewma_rule, 0},
    {"nm_groups", test_nm_groups, 0},
    {"degenerate_rows", test_degenerate_rows, 0},
    {"threads_isas", test_threads_isas, 0},
    {0},
};
