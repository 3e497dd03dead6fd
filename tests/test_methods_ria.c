// tests/test_methods_ria.c: RIA (methods/ria.c) on hand-worked matrices:
// scores for a = 0.5 / 1 / 0, the per-matrix threshold rule (int(numel*s)
// + 1 plus ties), per-row and N:M selection, the channel reallocation
// order for each importance, LSA never lowering the kept score, exact
// counts on random data, 1/2/3 threads and every ISA bit-identical, and
// option / statistics errors. The PyTorch parity tests are in
// tests/test_methods_ria_dsnot_oracle.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "methods/registry.h"
#include "methods/ria.h"
#include "tests/harness.h"
#include "tests/method_testutil.h"

// ---- helpers ----
static enum cpr_status run(const char *opts, size_t rows, size_t cols,
                           const float *w, const float *sr,
                           struct cpr_prune_target tg, struct cpr_pool *pool,
                           const struct cpr_kernels *k, float *out,
                           uint8_t *mask, struct cpr_err *err) {
    const struct mt_stats in = {.sr = sr};
    return mt_run("ria", "test", opts, rows, cols, w, &in, tg, pool, k, out,
                  mask, err);
}

// The hand matrix: |W| column sums 4 4 4 8, row sums 10 10; scaler_row
// 1 16 1 81, so sqrt(scaler_row)^0.5 = 1 2 1 3 exactly.
static const float HW[2 * 4] = {1, -2, 3, 4, 3, 2, -1, 4};
static const float HSR[4] = {1, 16, 1, 81};

// ---- score ----
static void test_score_hand(struct cpr_test_ctx *t) {
    // RI = |w|/colsum + |w|/rowsum:
    //   row 0: 1/4+1/10, 2/4+2/10, 3/4+3/10, 4/8+4/10 = .35 .7 1.05 .9
    //   row 1: 3/4+3/10, 2/4+2/10, 1/4+1/10, 4/8+4/10 = 1.05 .7 .35 .9
    static const struct {
        double a;
        float want[8];
    } cases[] = {
        {0.5, {0.35f, 1.4f, 1.05f, 2.7f, 1.05f, 1.4f, 0.35f, 2.7f}},
        {1.0, {0.35f, 2.8f, 1.05f, 8.1f, 1.05f, 2.8f, 0.35f, 8.1f}},
        {0.0, {0.35f, 0.7f, 1.05f, 0.9f, 1.05f, 0.7f, 0.35f, 0.9f}},
        {2.0, {0.35f, 11.2f, 1.05f, 72.9f, 1.05f, 11.2f, 0.35f, 72.9f}},
    };
    float w[8], score[8];
    memcpy(w, HW, sizeof w);
    struct cpr_matrix mat = {"hand", w, 2, 4, 4, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_err err = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CPR_CHECK_STATUS(t, cpr_ria_score(&mat, HSR, cases[c].a, score, NULL,
                                          &err),
                         CPR_OK, &err, NULL);
        for (int i = 0; i < 8; i++)
            CPR_CHECK(t, fabsf(score[i] - cases[c].want[i]) <=
                             2e-6f * cases[c].want[i],
                      "a=%g score[%d] = %.9g, expected %.9g", cases[c].a, i,
                      score[i], cases[c].want[i]);
    }
    // Ties are bit-exact (same f32 operations): 0.35 at (0,0) and (1,2).
    CPR_CHECK_STATUS(t, cpr_ria_score(&mat, HSR, 0.5, score, NULL, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, score[0] == score[6] && score[2] == score[4] &&
                     score[1] == score[5], "ties not exact");
    // A zero column gives NaN scores: never pruned by the matrix rule.
    float wz[8] = {1, 0, 3, 4, 3, 0, -1, 4}, out[8];
    uint8_t mask[8];
    CPR_CHECK_STATUS(t, run("", 2, 4, wz, HSR, mt_unstr(0.75), NULL, NULL, out,
                            mask, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, mask[1] == 0 && mask[5] == 0 && out[1] == 0.0f,
              "NaN column pruned");
}

// ---- selection ----
static void test_select_hand(struct cpr_test_ctx *t) {
    // Scores (a = 0.5): row 0 .35 1.4 1.05 2.7, row 1 1.05 1.4 .35 2.7;
    // sorted: .35 .35 1.05 1.05 1.4 1.4 2.7 2.7.
    static const struct {
        const char *opts;
        double s;
        uint8_t want[8];
    } cases[] = {
        // matrix: idx = int(8 s); prune S <= sorted[idx] (ties included).
        {"", 0.125, {1, 0, 0, 0, 0, 0, 1, 0}}, // idx 1: .35 -> 2 pruned
        {"", 0.25, {1, 0, 1, 0, 1, 0, 1, 0}},  // idx 2: 1.05 -> 4 pruned
        {"", 0.5, {1, 1, 1, 0, 1, 1, 1, 0}},   // idx 4: 1.4 -> 6 pruned
        {"", 1.0, {1, 1, 1, 1, 1, 1, 1, 1}},
        // row: exactly int(4 s) per row.
        {"group=row", 0.25, {1, 0, 0, 0, 0, 0, 1, 0}},
        {"group=row", 0.5, {1, 0, 1, 0, 1, 0, 1, 0}},
        {"group=row", 0.75, {1, 1, 1, 0, 1, 1, 1, 0}},
        // a = 0: RI only (.35 .7 1.05 .9 | 1.05 .7 .35 .9).
        {"group=row,a=0", 0.5, {1, 1, 0, 0, 0, 1, 1, 0}},
        {"a=0", 0.25, {1, 1, 0, 0, 0, 1, 1, 0}}, // idx 2: .7 -> 4 pruned
    };
    float out[8];
    uint8_t mask[8];
    struct cpr_err err = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CPR_CHECK_STATUS(t, run(cases[c].opts, 2, 4, HW, HSR,
                                mt_unstr(cases[c].s), NULL, NULL, out, mask,
                                &err),
                         CPR_OK, &err, NULL);
        mt_check_mask(t, cases[c].opts[0] ? cases[c].opts : "matrix", mask,
                   cases[c].want, 8);
        for (int i = 0; i < 8; i++)
            CPR_CHECK(t, out[i] == (mask[i] ? 0.0f : HW[i]),
                      "%s s=%g: weight %d", cases[c].opts, cases[c].s, i);
    }
    // sparsity 0 leaves everything.
    CPR_CHECK_STATUS(t, run("", 2, 4, HW, HSR, mt_unstr(0.0), NULL, NULL, out,
                            mask, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, !memcmp(out, HW, sizeof out), "s = 0 changed weights");
}

static void test_nm_hand(struct cpr_test_ctx *t) {
    // [W W]: column sums 4 4 4 8 4 4 4 8, row sums 20; scores
    // row 0: .3 1.2 .9 2.1 (twice), row 1: .9 1.2 .3 2.1 (twice).
    float w[16], out[16];
    float sr[8];
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 8; j++) w[r * 8 + j] = HW[r * 4 + j % 4];
    for (int j = 0; j < 8; j++) sr[j] = HSR[j % 4];
    static const struct {
        unsigned n, m;
        uint8_t want[16];
    } cases[] = {
        {2, 4, {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}},
        {1, 4, {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0}},
        {3, 4, {1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0}},
        {4, 8, {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}},
        {1, 2, {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}},
    };
    uint8_t mask[16];
    struct cpr_err err = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CPR_CHECK_STATUS(t, run("", 2, 8, w, sr, mt_nm(cases[c].n, cases[c].m),
                                NULL, NULL, out, mask, &err),
                         CPR_OK, &err, NULL);
        mt_check_mask(t, "nm", mask, cases[c].want, 16);
    }
}

// ---- reallocation ----
static void test_realloc_hand(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    uint32_t index[8];
    // One row 8 7 ... 1: ascending column order 7 6 5 4 3 2 1 0; chunk t
    // of 2 fills slots t and t+4, odd chunks reversed.
    float s1[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    static const uint32_t want1[8] = {7, 4, 3, 0, 6, 5, 2, 1};
    CPR_CHECK_STATUS(t, cpr_ria_channel_order(s1, 1, 8, 2, 4, CPR_RIA_IMP_SUM,
                                              0, 1, index, NULL, NULL, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, !memcmp(index, want1, sizeof index), "sum order: %u %u %u "
              "%u %u %u %u %u", index[0], index[1], index[2], index[3],
              index[4], index[5], index[6], index[7]);
    // Two rows. column sums 9 3 5 7 9 11 13 15 (tie 0/4 -> lower index);
    // retained at 1/2: per row prune {0..3} / {1..4}, per matrix S <= 5.
    float s2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 8, 1, 2, 3, 4, 5, 6, 7};
    static const struct {
        enum cpr_ria_importance imp;
        uint32_t want[8];
    } cases[] = {
        {CPR_RIA_IMP_SUM, {1, 0, 4, 7, 2, 3, 5, 6}},
        {CPR_RIA_IMP_RETAINED_ROW, {1, 4, 0, 7, 2, 3, 5, 6}},
        {CPR_RIA_IMP_RETAINED_MATRIX, {1, 4, 5, 7, 2, 3, 0, 6}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CPR_CHECK_STATUS(t, cpr_ria_channel_order(s2, 2, 8, 2, 4,
                                                  cases[c].imp, 0, 1, index,
                                                  NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(index, cases[c].want, sizeof index),
                  "importance %d: %u %u %u %u %u %u %u %u", (int)cases[c].imp,
                  index[0], index[1], index[2], index[3], index[4], index[5],
                  index[6], index[7]);
    }
    // Errors.
    CPR_CHECK_STATUS(t, cpr_ria_channel_order(s2, 2, 8, 2, 4, CPR_RIA_IMP_SUM,
                                              1, 3, index, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "lsa_blocks=3");
    CPR_CHECK_STATUS(t, cpr_ria_channel_order(s2, 2, 8, 4, 4, CPR_RIA_IMP_SUM,
                                              0, 1, index, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "4:4");
}

// Kept score of the N:M mask over the permuted order.
static double kept_total(const float *score, size_t rows, size_t cols,
                         unsigned n, unsigned m, const uint32_t *index) {
    double tot = 0;
    float g[256];
    for (size_t r = 0; r < rows; r++)
        for (size_t g0 = 0; g0 < cols; g0 += m) {
            for (unsigned p = 0; p < m; p++)
                g[p] = score[r * cols + index[g0 + p]];
            for (unsigned a = 1; a < m; a++) // sort ascending
                for (unsigned b = a; b > 0 && g[b - 1] > g[b]; b--) {
                    float x = g[b];
                    g[b] = g[b - 1];
                    g[b - 1] = x;
                }
            for (unsigned p = n; p < m; p++) tot += g[p];
        }
    return tot;
}

static void test_realloc_random(struct cpr_test_ctx *t) {
    enum { R = 24, C = 64 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    float w[R * C], sr[C], score[R * C], out[R * C];
    uint8_t mask[R * C];
    uint32_t idx[C], ident[C];
    cpr_test_fill_normal(&rng, w, R * C, 1.0f);
    for (int j = 0; j < C; j++) {
        sr[j] = expf(2.0f * (float)cpr_rng_normal(&rng));
        ident[j] = (uint32_t)j;
    }
    struct cpr_matrix mat = {"r", w, R, C, C, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_ria_score(&mat, sr, 0.5, score, NULL, &err),
                     CPR_OK, &err, NULL);
    double plain = kept_total(score, R, C, 2, 4, ident);
    CPR_CHECK_STATUS(t, cpr_ria_channel_order(score, R, C, 2, 4,
                                              CPR_RIA_IMP_SUM, 0, 1, idx,
                                              NULL, NULL, &err),
                     CPR_OK, &err, NULL);
    double heur = kept_total(score, R, C, 2, 4, idx);
    static const size_t blocks[] = {1, 2, 4};
    for (size_t b = 0; b < 3; b++) {
        CPR_CHECK_STATUS(t, cpr_ria_channel_order(score, R, C, 2, 4,
                                                  CPR_RIA_IMP_SUM, 1,
                                                  blocks[b], idx, NULL, NULL,
                                                  &err),
                         CPR_OK, &err, NULL);
        // Each assignment step can keep the current order, so the kept
        // score never drops below the heuristic's.
        double lsa = kept_total(score, R, C, 2, 4, idx);
        CPR_CHECK(t, lsa >= heur * (1 - 1e-12), "blocks %zu: lsa %g < "
                  "heuristic %g", blocks[b], lsa, heur);
        if (t->verbose)
            printf("    kept score: plain %.6g heuristic %.6g lsa(b=%zu) "
                   "%.6g\n", plain, heur, blocks[b], lsa);
        // A permutation.
        uint8_t seen[C] = {0};
        for (int j = 0; j < C; j++) seen[idx[j] < C ? idx[j] : 0]++;
        for (int j = 0; j < C; j++)
            CPR_CHECK(t, seen[j] == 1, "index is not a permutation");
    }
    // The method's mask is exactly 2:4 over the permuted order.
    CPR_CHECK_STATUS(t, run("reallocation=1,lsa=1,lsa_blocks=2", R, C, w, sr,
                            mt_nm(2, 4), NULL, NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_ria_channel_order(score, R, C, 2, 4,
                                              CPR_RIA_IMP_SUM, 1, 2, idx,
                                              NULL, NULL, &err),
                     CPR_OK, &err, NULL);
    for (int r = 0; r < R; r++)
        for (int g = 0; g < C; g += 4) {
            int z = 0;
            for (int p = 0; p < 4; p++) z += mask[r * C + idx[g + p]];
            CPR_CHECK(t, z == 2, "row %d permuted group %d: %d pruned", r,
                      g / 4, z);
        }
}

// ---- counts, threads, ISAs ----
static void test_threads_isas(struct cpr_test_ctx *t) {
    enum { R = 37, C = 64 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 5);
    float *w = malloc(R * C * sizeof *w), sr[C];
    float *o1 = malloc(R * C * sizeof *o1), *o2 = malloc(R * C * sizeof *o2);
    uint8_t *m1 = malloc(R * C), *m2 = malloc(R * C);
    cpr_test_fill_normal(&rng, w, R * C, 1.0f);
    for (int j = 0; j < C; j++)
        sr[j] = expf(2.0f * (float)cpr_rng_normal(&rng));
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
    } cases[] = {
        {"", 0.5, 0, 0},
        {"a=1", 0.3, 0, 0},
        {"group=row", 0.6, 0, 0},
        {"", 0, 2, 4},
        {"", 0, 4, 8},
        {"reallocation=1", 0, 2, 4},
        {"reallocation=1,importance=retained_row,lsa=1,lsa_blocks=2", 0, 2, 4},
        {"reallocation=1,importance=retained_matrix", 0, 4, 8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct cpr_prune_target tg = {cases[c].s, cases[c].n, cases[c].m};
        CPR_CHECK_STATUS(t, run(cases[c].o, R, C, w, sr, tg, NULL, &tabs[0],
                                o1, m1, &err),
                         CPR_OK, &err, NULL);
        for (size_t ti = 0; ti < nt; ti++)
            for (int p = 0; p < 3; p++) {
                if (ti == 0 && p == 0) continue;
                CPR_CHECK_STATUS(t, run(cases[c].o, R, C, w, sr, tg, pools[p],
                                        &tabs[ti], o2, m2, &err),
                                 CPR_OK, &err, NULL);
                CPR_CHECK(t, !memcmp(m1, m2, R * C) &&
                                 !memcmp(o1, o2, R * C * sizeof *o1),
                          "'%s': %s, %d threads differ from scalar/1",
                          cases[c].o, cpr_isa_name(isas[ti]), p + 1);
            }
        size_t total = 0;
        for (size_t i = 0; i < R * C; i++) total += m1[i];
        if (!cases[c].m && !cases[c].o[0]) // matrix rule, distinct scores
            CPR_CHECK(t, total == (size_t)(R * C * cases[c].s) + 1,
                      "matrix s=%g: %zu pruned", cases[c].s, total);
        if (!cases[c].m && strstr(cases[c].o, "row"))
            for (int r = 0; r < R; r++) {
                size_t z = 0;
                for (int j = 0; j < C; j++) z += m1[r * C + j];
                CPR_CHECK(t, z == (size_t)(C * cases[c].s), "row %d: %zu "
                          "pruned", r, z);
            }
        if (cases[c].m) {
            CPR_CHECK(t, total == (size_t)R * C / cases[c].m * cases[c].n,
                      "N:M total %zu", total);
            if (!strstr(cases[c].o, "realloc"))
                for (int r = 0; r < R; r++)
                    for (unsigned g = 0; g < C; g += cases[c].m) {
                        unsigned z = 0;
                        for (unsigned j = 0; j < cases[c].m; j++)
                            z += o1[r * C + g + j] == 0.0f;
                        CPR_CHECK(t, z >= cases[c].n, "row %d group %u: %u "
                                  "zeros", r, g, z);
                    }
        }
    }
    for (int p = 1; p < 3; p++) cpr_pool_free(pools[p]);
    free(w);
    free(o1);
    free(o2);
    free(m1);
    free(m2);
}

// ---- interface ----
static void test_options_errors(struct cpr_test_ctx *t) {
    const struct cpr_method *m = cpr_method_find("ria");
    CPR_CHECK(t, m && m->abi_version == CPR_METHOD_ABI_VERSION, "registry");
    if (!m) return;
    CPR_CHECK(t, m->needs == CPR_NEED_COLSUMSQ, "needs %u", m->needs);
    void *s = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->init(&s, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, m->parse_opts(s, "a=0.25,group=row,importance=sum,"
                                      "lsa_blocks=4", &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, m->parse_opts(s, "alpha=1", &err), CPR_ERR_ARG, &err,
                     "known: a, group");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "a=x", &err), CPR_ERR_ARG, &err,
                     "found 'x'");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "group=col", &err), CPR_ERR_ARG,
                     &err, "matrix|row");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "importance=max", &err), CPR_ERR_ARG,
                     &err, "sum|retained_matrix|retained_row");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "lsa_blocks=0", &err), CPR_ERR_ARG,
                     &err, "lsa_blocks");
    m->free(s);

    float out[8], sr[4] = {1, 1, 1, 1};
    uint8_t mask[8];
    CPR_CHECK_STATUS(t, run("", 2, 4, HW, NULL, mt_unstr(0.5), NULL, NULL, out,
                            mask, &err),
                     CPR_ERR_ARG, &err, "scaler_row");
    CPR_CHECK_STATUS(t, run("reallocation=1", 2, 4, HW, sr, mt_unstr(0.5), NULL,
                            NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "N:M targets only");
    CPR_CHECK_STATUS(t, run("lsa=1", 2, 4, HW, sr, mt_nm(2, 4), NULL, NULL, out,
                            mask, &err),
                     CPR_ERR_ARG, &err, "reallocation=1");
    CPR_CHECK_STATUS(t, run("reallocation=1,lsa=1,lsa_blocks=2", 2, 4, HW, sr,
                            mt_nm(2, 4), NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "lsa_blocks=2");
    CPR_CHECK_STATUS(t, run("", 2, 4, HW, sr, mt_nm(2, 3), NULL, NULL, out, mask,
                            &err),
                     CPR_ERR_ARG, &err, "multiple of 3");
    CPR_CHECK_STATUS(t, run("", 2, 4, HW, sr, mt_unstr(2.0), NULL, NULL, out,
                            mask, &err),
                     CPR_ERR_ARG, &err, "[0, 1]");
    // LSA on NaN scores (a zero column).
    float wz[8] = {1, 0, 3, 4, 3, 0, -1, 4};
    CPR_CHECK_STATUS(t, run("reallocation=1,lsa=1", 2, 4, wz, sr, mt_nm(2, 4),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_NUMERIC, &err, "not finite");
    // Shape mismatch.
    const struct cpr_method *me = cpr_method_find("ria");
    CPR_CHECK_STATUS(t, me->init(&s, &err), CPR_OK, &err, NULL);
    memcpy(out, HW, sizeof out);
    struct cpr_matrix mat = {"x", out, 2, 4, 4, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats st = {3, 4, sr, NULL, NULL, NULL, NULL, NULL};
    struct cpr_prune_target tg = mt_unstr(0.5);
    CPR_CHECK_STATUS(t, me->prune_matrix(s, &mat, &st, &tg, mask, NULL, NULL,
                                         &err),
                     CPR_ERR_SHAPE, &err, "3 columns");
    me->free(s);
}

const struct cpr_test cpr_tests_methods_ria[] = {
    {"score_hand", test_score_hand, 0},
    {"select_hand", test_select_hand, 0},
    {"nm_hand", test_nm_hand, 0},
    {"realloc_hand", test_realloc_hand, 0},
    {"realloc_lsa_random", test_realloc_random, 0},
    {"threads_isas_counts", test_threads_isas, 0},
    {"options_errors", test_options_errors, 0},
    {0},
};
