// tests/test_methods_dsnot.c: DSnoT (methods/dsnot.c) on hand-worked rows
// (every swap traced in the comments), the tokens-per-sample derivation,
// N:M incl. n > m/2, the name-based skip, base=sparsegpt with the real
// SparseGPT update (obs), exact per-row / per-group counts on random
// data, 1/2/3 threads and every ISA bit-identical, and option / statistics
// errors. The PyTorch parity tests are in
// tests/test_methods_ria_dsnot_oracle.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "methods/dsnot.h"
#include "methods/registry.h"
#include "tests/harness.h"
#include "tests/method_testutil.h"

// ---- helpers ----
static enum cpr_status run(const char *method, const char *name,
                           const char *opts, size_t rows, size_t cols,
                           const float *w, const struct mt_stats *in,
                           struct cpr_prune_target tg, struct cpr_pool *pool,
                           const struct cpr_kernels *k, float *out,
                           uint8_t *mask, struct cpr_err *err) {
    return mt_run(method, name, opts, rows, cols, w, in, tg, pool, k, out,
                  mask, err);
}

// Pruned weights are 0, kept ones their dense value.
static void check_weights(struct cpr_test_ctx *t, const char *what,
                          const float *out, const float *w,
                          const uint8_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] != (mask[i] ? 0.0f : w[i])) {
            CPR_CHECK(t, 0, "%s: weight %zu = %g (mask %d, dense %g)", what,
                      i, out[i], mask[i], w[i]);
            return;
        }
}

// ---- unstructured, by hand ----
// Row 0: W = .125 -.25 .375 .5 1 -1.5 2 -2.5, mean 8 8 8 8 1 1 1 1, var
// 1 1 4 1 1 1 1 1, scaler_row 1 (Wanda = |W|): the base prunes columns
// 0..3. D = W * mean = 1 -2 3 4 | 1 -1.5 2 -2.5, e = 1 - 2 + 3 + 4 = 6.
// Regrow list (pruned by D/var): 1 (-2), 2 (.75), 0 (1), 3 (4).
// Prune list (kept by |W|: 4 5 6 7): D < 0 first (5, 7), then D > 0
// reversed (6, 4).
// Default (sign check off, threshold .1):
//   1: e=6>0: regrow 3 (top), prune 5 (start): e' = (6-1.5)-4 = .5
//   2: e>0: regrow 0, prune 7: e' = (.5-2.5)-1 = -3 (sign flips: kept)
//   3: e<0: regrow 1 (bottom), prune 4 (end): e' = (-3+1)+2 = 0
//   4: e=0: |e| <= .1 -> stop.  pruned {2, 4, 5, 7}
// Row 1 = -row 0 mirrors every step (same mask).
static const float UW[16] = {0.125f, -0.25f, 0.375f, 0.5f, 1, -1.5f, 2, -2.5f,
                             -0.125f, 0.25f, -0.375f, -0.5f, -1, 1.5f, -2,
                             2.5f};
static const float ONES[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const double UMEAN[8] = {8, 8, 8, 8, 1, 1, 1, 1};
static const double UVAR[8] = {1, 1, 4, 1, 1, 1, 1, 1};

static void test_unstructured_hand(struct cpr_test_ctx *t) {
    static const struct {
        const char *opts;
        uint8_t want[8]; // both rows
    } cases[] = {
        {"", {0, 0, 1, 0, 1, 1, 0, 1}},
        {"base=magnitude", {0, 0, 1, 0, 1, 1, 0, 1}},
        {"cycles=0", {1, 1, 1, 1, 0, 0, 0, 0}},
        {"cycles=1", {1, 1, 1, 0, 0, 1, 0, 0}},   // after step 1
        {"cycles=2", {0, 1, 1, 0, 0, 1, 0, 1}},   // after step 2
        {"sign_check=on", {1, 1, 1, 0, 0, 1, 0, 0}}, // step 2 flips: stop
        {"threshold=1", {1, 1, 1, 0, 0, 1, 0, 0}},   // |.5| <= 1: stop
        // var_pow=0: regrow by D: 1 (-2), 0 (1), 2 (3), 3 (4):
        //   1: regrow 3, prune 5: e = .5;  2: regrow 2, prune 7: e = -5;
        //   3: regrow 1, prune 4: e = -2;  4: e < 0 needs a pruned D < 0
        //   but the bottom of the regrow list is 0 (D = 1): the negative
        //   side is used up, stop (the reference would regrow 0 and prune
        //   6: e = -1, quirk 4).
        {"var_pow=0", {1, 0, 0, 0, 1, 1, 0, 1}},
    };
    float out[16];
    uint8_t mask[16];
    struct cpr_err err = {0};
    struct mt_stats in = {ONES, UMEAN, UVAR, NULL};
    char opts[96];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(opts, sizeof opts, "tokens_per_sample=1%s%s",
                 cases[c].opts[0] ? "," : "", cases[c].opts);
        CPR_CHECK_STATUS(t, run("dsnot", "layers.0.q_proj", opts, 2, 8, UW,
                                &in, mt_unstr(0.5), NULL, NULL, out, mask, &err),
                         CPR_OK, &err, NULL);
        mt_check_mask(t, opts, mask, cases[c].want, 8);
        mt_check_mask(t, opts, mask + 8, cases[c].want, 8);
        check_weights(t, opts, out, UW, mask, 16);
    }
}

// The same rows with statistics as the pipeline makes them: col_mean =
// mean/16, scaler_row = 16 * (var + col_mean^2) (16 tokens per sample):
// tokens_per_sample is derived at the largest scaler_row (column 2:
// 68 / 4.25 = 16), sum_metric_row = col_mean * 16 = the mean above, and
// the Wanda orders are unchanged, so the result is the default case.
static void test_derive_tokens(struct cpr_test_ctx *t) {
    double mean[8], var[8];
    float sr[8];
    for (int j = 0; j < 8; j++) {
        mean[j] = UMEAN[j] / 16.0;
        var[j] = UVAR[j];
        sr[j] = (float)(16.0 * (var[j] + mean[j] * mean[j]));
    }
    static const uint8_t want[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    float out[16];
    uint8_t mask[16];
    struct cpr_err err = {0};
    struct mt_stats in = {sr, mean, var, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "m", "", 2, 8, UW, &in, mt_unstr(0.5), NULL,
                            NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "derived row 0", mask, want, 8);
    mt_check_mask(t, "derived row 1", mask + 8, want, 8);
    // Statistics that give no positive E[x^2]: an error naming the option.
    double zero[8] = {0};
    struct mt_stats bad = {sr, zero, zero, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "m", "", 2, 8, UW, &bad, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "tokens_per_sample");
}

// ---- N:M, by hand ----
// W = .125 -.25 1 -1.5 | .375 .5 2 -2.5, mean 8 8 1 1 8 8 1 1, var 1,
// 2:4 magnitude base prunes {0, 1} and {4, 5}. D = 1 -2 1 -1.5 3 4 2 -2.5,
// e = 6, regrow list 1 (-2), 0 (1), 4 (3), 5 (4).
//   1: regrow 5; its group's smallest kept |W| is 6: e' = (6+2)-4 = 4
//   2: regrow 4; group kept: 5 (regrown, +inf), 7 (2.5): prune 7,
//      e' = (4-2.5)-3 = -1.5: the sign flips -> stop (N:M checks signs)
//   sign_check=off continues: swap, e = -1.5;
//   3: e<0: regrow 1; group 0 kept 2 (1), 3 (1.5): prune 2, e = 1.5;
//   4: regrow 0; group 0 kept 1 (+inf), 3: prune 3, e = -1; list used up.
static void test_nm_hand(struct cpr_test_ctx *t) {
    static const float w[8] = {0.125f, -0.25f, 1, -1.5f, 0.375f, 0.5f, 2,
                               -2.5f};
    static const double mean[8] = {8, 8, 1, 1, 8, 8, 1, 1};
    static const double var[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    static const struct {
        const char *opts;
        uint8_t want[8];
    } cases[] = {
        {"", {1, 1, 0, 0, 1, 0, 1, 0}},
        {"sign_check=off", {0, 0, 1, 1, 0, 0, 1, 1}},
        {"cycles=0", {1, 1, 0, 0, 1, 1, 0, 0}},
    };
    float out[8];
    uint8_t mask[8];
    struct cpr_err err = {0};
    struct mt_stats in = {ONES, mean, var, NULL};
    char opts[96];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(opts, sizeof opts, "base=magnitude,tokens_per_sample=1%s%s",
                 cases[c].opts[0] ? "," : "", cases[c].opts);
        CPR_CHECK_STATUS(t, run("dsnot", "x", opts, 1, 8, w, &in, mt_nm(2, 4),
                                NULL, NULL, out, mask, &err),
                         CPR_OK, &err, NULL);
        mt_check_mask(t, opts, mask, cases[c].want, 8);
        check_weights(t, opts, out, w, mask, 8);
    }
    // 3:4 (n > m/2): W = .125 .25 .375 1, mean 8 8 8 1: base prunes 0 1 2,
    // D = 1 2 3 1, e = 6. 1: regrow 2, prune 3 (e = 4); 2: regrow 1, the
    // group's only kept weight is 2 (+inf) -> prune it (e = 5); 3: regrow
    // 0, prune 1 (e = 6). The group keeps 3 pruned throughout (the
    // reference's topk over all-+inf ties may pick a pruned weight here).
    static const float w3[4] = {0.125f, 0.25f, 0.375f, 1};
    static const double mean3[4] = {8, 8, 8, 1};
    static const uint8_t want3[4] = {0, 1, 1, 1};
    struct mt_stats in3 = {ONES, mean3, var, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "x", "base=magnitude,tokens_per_sample=1",
                            1, 4, w3, &in3, mt_nm(3, 4), NULL, NULL, out, mask,
                            &err),
                     CPR_OK, &err, NULL);
    mt_check_mask(t, "3:4", mask, want3, 4);
}

// ---- skip by name ----
static void test_skip(struct cpr_test_ctx *t) {
    float out[16];
    uint8_t mask[16];
    struct cpr_err err = {0};
    struct mt_stats in = {ONES, UMEAN, UVAR, NULL};
    static const uint8_t refined[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    static const uint8_t base[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    static const struct {
        const char *name, *skip;
        const uint8_t *want;
    } cases[] = {
        {"layers.3.gate_proj", "mlp", base},
        {"layers.3.q_proj", "mlp", refined},
        {"model.layers.3.mlp.down_proj.weight", "mlp", base},
        {"layers.3.o_proj", "attn", base},
        {"model.layers.3.self_attn.v_proj.weight", "attn", base},
        {"layers.3.up_proj", "attn", refined},
        {"anything", "none", refined},
    };
    char opts[96];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(opts, sizeof opts, "tokens_per_sample=1,skip=%s",
                 cases[c].skip);
        CPR_CHECK_STATUS(t, run("dsnot", cases[c].name, opts, 2, 8, UW, &in,
                                mt_unstr(0.5), NULL, NULL, out, mask, &err),
                         CPR_OK, &err, NULL);
        mt_check_mask(t, cases[c].name, mask, cases[c].want, 8);
    }
    CPR_CHECK_STATUS(t, run("dsnot", "lm_head", "tokens_per_sample=1,skip=mlp",
                            2, 8, UW, &in, mt_unstr(0.5), NULL, NULL, out, mask,
                            &err),
                     CPR_ERR_ARG, &err, "lm_head");
    CPR_CHECK_STATUS(t, run("dsnot", NULL, "tokens_per_sample=1,skip=attn", 2,
                            8, UW, &in, mt_unstr(0.5), NULL, NULL, out, mask,
                            &err),
                     CPR_ERR_ARG, &err, "skip=none");
}

// ---- random data ----
enum { R = 37, C = 64 };

struct rnd {
    float w[R * C], sr[C], h[C * C];
    double mean[C], var[C];
};

static void make_random(struct rnd *d, uint64_t seed) {
    struct cpr_rng rng;
    cpr_rng_seed(&rng, seed);
    cpr_test_fill_normal(&rng, d->w, R * C, 1.0f);
    for (int j = 0; j < C; j++) {
        d->sr[j] = expf(2.0f * (float)cpr_rng_normal(&rng));
        d->mean[j] = 4.0 * cpr_rng_normal(&rng);
        d->var[j] = exp(cpr_rng_normal(&rng));
    }
    // H = 2/n X^T X of 200 random rows with column scales; input 9 dead.
    enum { NX = 200 };
    static float x[NX * C];
    cpr_test_fill_normal(&rng, x, NX * C, 1.0f);
    for (int r = 0; r < NX; r++) x[r * C + 9] = 0.0f;
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) {
            double a = 0;
            for (int r = 0; r < NX; r++) a += (double)x[r * C + i] * x[r * C + j];
            d->h[i * C + j] = (float)(2.0 * a / NX);
        }
}

// base=sparsegpt,sparsegpt_mode=obs: cycles=0 is SparseGPT itself; with
// swaps, kept-by-SparseGPT weights keep its updated values, regrown ones
// come back dense, and each row keeps SparseGPT's pruned count.
static void test_sparsegpt_obs(struct cpr_test_ctx *t) {
    struct rnd *d = malloc(sizeof *d);
    make_random(d, 21);
    float *so = malloc(R * C * sizeof *so), *out = malloc(R * C * sizeof *out);
    uint8_t *sm = malloc(R * C), *mask = malloc(R * C);
    struct cpr_err err = {0};
    struct mt_stats in = {d->sr, d->mean, d->var, d->h};
    static const struct cpr_prune_target tgs[2] = {{0.5, 0, 0}, {0, 2, 4}};
    for (int c = 0; c < 2; c++) {
        CPR_CHECK_STATUS(t, run("sparsegpt", "x", "", R, C, d->w, &in, tgs[c],
                                NULL, NULL, so, sm, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, run("dsnot", "x", "base=sparsegpt,sparsegpt_mode="
                                "obs,cycles=0", R, C, d->w, &in, tgs[c], NULL,
                                NULL, out, mask, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, !memcmp(sm, mask, R * C) &&
                         !memcmp(so, out, R * C * sizeof *so),
                  "obs cycles=0 differs from sparsegpt");
        CPR_CHECK_STATUS(t, run("dsnot", "x", "base=sparsegpt,sparsegpt_mode="
                                "obs", R, C, d->w, &in, tgs[c], NULL, NULL,
                                out, mask, &err),
                         CPR_OK, &err, NULL);
        size_t changed = 0, bad = 0;
        for (int r = 0; r < R; r++) {
            int p1 = 0, p2 = 0;
            for (int j = 0; j < C; j++) {
                size_t i = (size_t)r * C + j;
                p1 += sm[i];
                p2 += mask[i];
                changed += sm[i] != mask[i];
                float want = mask[i] ? 0.0f : sm[i] ? d->w[i] : so[i];
                bad += out[i] != want;
            }
            CPR_CHECK(t, p1 == p2, "row %d: %d pruned, sparsegpt %d", r, p2,
                      p1);
            if (tgs[c].nm_m)
                for (int g = 0; g < C; g += 4) {
                    int z = 0;
                    for (int j = 0; j < 4; j++) z += mask[r * C + g + j];
                    CPR_CHECK(t, z == 2, "row %d group %d: %d pruned", r, g, z);
                }
        }
        CPR_CHECK(t, bad == 0, "%zu weights are not 0 / sparsegpt / dense",
                  bad);
        CPR_CHECK(t, changed > 0, "no swap happened");
    }
    free(d);
    free(so);
    free(out);
    free(sm);
    free(mask);
}

static void test_threads_isas(struct cpr_test_ctx *t) {
    struct rnd *d = malloc(sizeof *d);
    make_random(d, 7);
    float *o1 = malloc(R * C * sizeof *o1), *o2 = malloc(R * C * sizeof *o2);
    uint8_t *m1 = malloc(R * C), *m2 = malloc(R * C);
    struct cpr_pool *pools[3] = {NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (int p = 1; p < 3; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], (size_t)p + 1, &err),
                         CPR_OK, &err, NULL);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct mt_stats in = {d->sr, d->mean, d->var, d->h};
    static const struct {
        const char *o;
        double s;
        unsigned n, m;
    } cases[] = {
        {"", 0.5, 0, 0},
        {"base=magnitude,sign_check=on", 0.6, 0, 0},
        {"base=sparsegpt", 0.5, 0, 0},
        {"base=sparsegpt,sparsegpt_mode=obs", 0.5, 0, 0},
        {"var_pow=0.5,threshold=0.01,tokens_per_sample=128", 0.7, 0, 0},
        {"", 0, 2, 4},
        {"base=magnitude", 0, 4, 8},
        {"base=sparsegpt,sign_check=off", 0, 2, 4},
        {"base=sparsegpt,sparsegpt_mode=obs", 0, 2, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct cpr_prune_target tg = {cases[c].s, cases[c].n, cases[c].m};
        int sgpt = strstr(cases[c].o, "sparsegpt") != NULL;
        int obs = strstr(cases[c].o, "obs") != NULL;
        CPR_CHECK_STATUS(t, run("dsnot", "x", cases[c].o, R, C, d->w, &in, tg,
                                NULL, &tabs[0], o1, m1, &err),
                         CPR_OK, &err, NULL);
        for (size_t ti = 0; ti < nt; ti++)
            for (int p = 0; p < 3; p++) {
                if (ti == 0 && p == 0) continue;
                CPR_CHECK_STATUS(t, run("dsnot", "x", cases[c].o, R, C, d->w,
                                        &in, tg, pools[p], &tabs[ti], o2, m2,
                                        &err),
                                 CPR_OK, &err, NULL);
                // Exact for one ISA; across ISAs except the SparseGPT
                // bases (their factorization rounds per ISA).
                if (ti == 0 || !sgpt)
                    CPR_CHECK(t, !memcmp(m1, m2, R * C) &&
                                     !memcmp(o1, o2, R * C * sizeof *o1),
                              "'%s': %s, %d threads differ from scalar/1",
                              cases[c].o, cpr_isa_name(isas[ti]), p + 1);
            }
        // The swaps happen (DSnoT differs from its base) ...
        char base_opts[128];
        snprintf(base_opts, sizeof base_opts, "%s%scycles=0", cases[c].o,
                 cases[c].o[0] ? "," : "");
        CPR_CHECK_STATUS(t, run("dsnot", "x", base_opts, R, C, d->w, &in, tg,
                                NULL, &tabs[0], o2, m2, &err),
                         CPR_OK, &err, NULL);
        size_t changed = 0;
        for (size_t i = 0; i < R * C; i++) changed += m1[i] != m2[i];
        CPR_CHECK(t, changed > 0, "'%s': no swap", cases[c].o);
        if (t->verbose)
            printf("    %-50s %zu entries swapped\n", cases[c].o, changed);
        // ... and keep the exact counts.
        for (int r = 0; r < R; r++) {
            size_t z = 0, zb = 0;
            for (int j = 0; j < C; j++) {
                z += m1[r * C + j];
                zb += m2[r * C + j];
            }
            CPR_CHECK(t, z == zb, "'%s' row %d: %zu pruned, base %zu",
                      cases[c].o, r, z, zb);
            if (!cases[c].m && !obs)
                CPR_CHECK(t, z == (size_t)(C * cases[c].s), "'%s' row %d: "
                          "%zu pruned", cases[c].o, r, z);
            for (unsigned g = 0; cases[c].m && g < C; g += cases[c].m) {
                unsigned zg = 0;
                for (unsigned j = 0; j < cases[c].m; j++)
                    zg += o1[r * C + g + j] == 0.0f && m1[r * C + g + j];
                CPR_CHECK(t, zg == cases[c].n, "'%s' row %d group %u: %u "
                          "pruned", cases[c].o, r, g, zg);
            }
        }
    }
    for (int p = 1; p < 3; p++) cpr_pool_free(pools[p]);
    free(d);
    free(o1);
    free(o2);
    free(m1);
    free(m2);
}

// ---- interface ----
static void test_options_errors(struct cpr_test_ctx *t) {
    const struct cpr_method *m = cpr_method_find("dsnot");
    CPR_CHECK(t, m && m->abi_version == CPR_METHOD_ABI_VERSION, "registry");
    if (!m) return;
    CPR_CHECK(t, m->needs == (CPR_NEED_COLSUMSQ | CPR_NEED_COLMEANVAR |
                              CPR_NEED_HESSIAN), "needs %u", m->needs);
    void *s = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, m->init(&s, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, cpr_dsnot_needs(s) == (CPR_NEED_COLSUMSQ |
                                        CPR_NEED_COLMEANVAR),
              "wanda needs %u", cpr_dsnot_needs(s));
    CPR_CHECK_STATUS(t, m->parse_opts(s, "base=sparsegpt,cycles=7,"
                                      "threshold=0.5,var_pow=2,skip=attn,"
                                      "sign_check=on,percdamp=0.1", &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, cpr_dsnot_needs(s) & CPR_NEED_HESSIAN, "sparsegpt needs");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "base=dsnot", &err), CPR_ERR_ARG,
                     &err, "wanda|magnitude|sparsegpt");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "sparsegpt_mode=full", &err),
                     CPR_ERR_ARG, &err, "score|obs");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "cycles=-1", &err), CPR_ERR_ARG,
                     &err, "cycles");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "threshold=-0.1", &err), CPR_ERR_ARG,
                     &err, "threshold");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "sign_check=maybe", &err),
                     CPR_ERR_ARG, &err, "reference|on|off");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "skip=ffn", &err), CPR_ERR_ARG, &err,
                     "none|mlp|attn");
    CPR_CHECK_STATUS(t, m->parse_opts(s, "max_cycle_time=5", &err),
                     CPR_ERR_ARG, &err, "known: base");
    m->free(s);

    float out[16];
    uint8_t mask[16];
    struct mt_stats nomean = {ONES, NULL, UVAR, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "x", "", 2, 8, UW, &nomean, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "colmeanvar");
    struct mt_stats nosr = {NULL, UMEAN, UVAR, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "x", "", 2, 8, UW, &nosr, mt_unstr(0.5),
                            NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "scaler_row");
    struct mt_stats in = {ONES, UMEAN, UVAR, NULL};
    CPR_CHECK_STATUS(t, run("dsnot", "x", "base=sparsegpt", 2, 8, UW, &in,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "Hessian");
    CPR_CHECK_STATUS(t, run("dsnot", "x", "", 2, 8, UW, &in, mt_nm(3, 3), NULL,
                            NULL, out, mask, &err),
                     CPR_ERR_ARG, &err, "0 < N < M");
    // Not SPD: the base's numeric error comes through.
    float h[64] = {0};
    for (int i = 0; i < 8; i++) h[i * 9] = -1.0f;
    struct mt_stats neg = {ONES, UMEAN, UVAR, h};
    CPR_CHECK_STATUS(t, run("dsnot", "x", "base=sparsegpt", 2, 8, UW, &neg,
                            mt_unstr(0.5), NULL, NULL, out, mask, &err),
                     CPR_ERR_NUMERIC, &err, NULL);
    // sparsity 0: untouched.
    CPR_CHECK_STATUS(t, run("dsnot", "x", "", 2, 8, UW, &in, mt_unstr(0.0), NULL,
                            NULL, out, mask, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, !memcmp(out, UW, sizeof out), "s = 0 changed weights");
    // Shape mismatch.
    CPR_CHECK_STATUS(t, m->init(&s, &err), CPR_OK, &err, NULL);
    memcpy(out, UW, sizeof out);
    struct cpr_matrix mat = {"x", out, 2, 8, 8, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats st = {4, 4, ONES, NULL, UMEAN, UVAR, NULL, NULL};
    struct cpr_prune_target tg = mt_unstr(0.5);
    CPR_CHECK_STATUS(t, m->prune_matrix(s, &mat, &st, &tg, NULL, NULL, NULL,
                                        &err),
                     CPR_ERR_SHAPE, &err, "4 columns");
    m->free(s);
}

const struct cpr_test cpr_tests_methods_dsnot[] = {
    {"unstructured_hand", test_unstructured_hand, 0},
    {"derive_tokens_per_sample", test_derive_tokens, 0},
    {"nm_hand", test_nm_hand, 0},
    {"skip_by_name", test_skip, 0},
    {"sparsegpt_obs", test_sparsegpt_obs, 0},
    {"threads_isas_counts", test_threads_isas, 0},
    {"options_errors", test_options_errors, 0},
    {0},
};
