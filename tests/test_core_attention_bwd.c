// tests/test_core_attention_bwd.c: core/attention_bwd against central
// finite differences of a double-precision attention written here
// (independent of the kernels), with and without a sliding window, GQA,
// sequences crossing the query block; every ISA; 1 vs 2 vs 3 threads
// bit-identical.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/attention_bwd.h"
#include "core/forward.h"
#include "tests/harness.h"

struct acase { int64_t n_seq, T, nh, nkv, hd, win; };

// L = sum dO . O, O the causal (windowed) GQA attention of q, k, v, double.
static double loss(const struct acase *c, const double *q, const double *k,
                   const double *v, const double *dO) {
    int64_t qd = c->nh * c->hd, kvd = c->nkv * c->hd, grp = c->nh / c->nkv;
    double L = 0.0, sc = 1.0 / sqrt((double)c->hd);
    double *w = malloc((size_t)c->T * sizeof(double));
    for (int64_t s = 0; s < c->n_seq; s++)
        for (int64_t h = 0; h < c->nh; h++)
            for (int64_t p = 0; p < c->T; p++) {
                int64_t g = h / grp, lo = c->win > 0 && p - c->win + 1 > 0 ? p - c->win + 1 : 0;
                const double *qp = q + (s * c->T + p) * qd + h * c->hd;
                double mx = -INFINITY, z = 0.0;
                for (int64_t j = lo; j <= p; j++) {
                    const double *kj = k + (s * c->T + j) * kvd + g * c->hd;
                    double d = 0.0;
                    for (int64_t e = 0; e < c->hd; e++) d += qp[e] * kj[e];
                    w[j] = d * sc;
                    if (w[j] > mx) mx = w[j];
                }
                for (int64_t j = lo; j <= p; j++) z += (w[j] = exp(w[j] - mx));
                const double *dop = dO + (s * c->T + p) * qd + h * c->hd;
                for (int64_t j = lo; j <= p; j++) {
                    const double *vj = v + (s * c->T + j) * kvd + g * c->hd;
                    double d = 0.0;
                    for (int64_t e = 0; e < c->hd; e++) d += dop[e] * vj[e];
                    L += w[j] / z * d;
                }
            }
    free(w);
    return L;
}

static void run_case(struct cpr_test_ctx *t, const struct acase *c,
                     uint64_t seed) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    size_t rows = (size_t)(c->n_seq * c->T);
    size_t nq = rows * (size_t)(c->nh * c->hd), nk = rows * (size_t)(c->nkv * c->hd);
    struct cpr_rng r;
    cpr_rng_seed(&r, seed);
    float *buf = malloc((3 * nq + 2 * nk) * sizeof(float) * 2);
    float *q = buf, *dO = q + nq, *k = dO + nq, *v = k + nk;
    float *dq = v + nk, *dk = dq + nq, *dv = dk + nk;
    float *ref_q = malloc((nq + 2 * nk) * sizeof(float) * 2);
    cpr_test_fill_normal(&r, q, nq, 1.0f);
    cpr_test_fill_normal(&r, dO, nq, 1.0f);
    cpr_test_fill_normal(&r, k, nk, 1.0f);
    cpr_test_fill_normal(&r, v, nk, 1.0f);
    double *dbl = malloc((2 * nq + 2 * nk) * sizeof(double));
    double *Q = dbl, *DO = Q + nq, *K = DO + nq, *V = K + nk;
    for (size_t i = 0; i < nq; i++) { Q[i] = q[i]; DO[i] = dO[i]; }
    for (size_t i = 0; i < nk; i++) { K[i] = k[i]; V[i] = v[i]; }
    // finite-difference gradients of every coordinate (small shapes)
    double *fd = malloc((nq + 2 * nk) * sizeof(double));
    double *tgt[3] = {Q, K, V};
    size_t len[3] = {nq, nk, nk}, off[3] = {0, nq, nq + nk};
    const double eps = 1e-4;
    for (int w = 0; w < 3; w++)
        for (size_t i = 0; i < len[w]; i++) {
            double x0 = tgt[w][i];
            tgt[w][i] = x0 + eps;
            double lp = loss(c, Q, K, V, DO);
            tgt[w][i] = x0 - eps;
            double lm = loss(c, Q, K, V, DO);
            tgt[w][i] = x0;
            fd[off[w] + i] = (lp - lm) / (2 * eps);
        }
    struct cpr_pool *pools[3] = {NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (size_t p = 1; p < 3; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], p + 1, &err), CPR_OK, &err, NULL);
    float *scratch = malloc(3 * cpr_attention_bwd_scratch(c->T) * sizeof(float));
    struct cpr_attn_bwd a = {.n_seq = c->n_seq, .seqlen = c->T, .n_heads = c->nh,
                             .n_kv_heads = c->nkv, .head_dim = c->hd,
                             .window = c->win, .q = q, .k = k, .v = v, .dout = dO,
                             .dq = dq, .dk = dk, .dv = dv, .scratch = scratch};
    for (size_t ti = 0; ti < nt; ti++) {
        for (size_t p = 0; p < 3; p++) {
            cpr_attention_bwd(pools[p], &tabs[ti], &a);
            if (p == 0) { // against the finite differences
                float *got[3] = {dq, dk, dv};
                for (int w = 0; w < 3; w++) {
                    double mx = 0.0, worst = 0.0;
                    for (size_t i = 0; i < len[w]; i++)
                        if (fabs(fd[off[w] + i]) > mx) mx = fabs(fd[off[w] + i]);
                    for (size_t i = 0; i < len[w]; i++) {
                        double e = fabs(got[w][i] - fd[off[w] + i]) / (mx > 0 ? mx : 1);
                        if (!(e <= worst)) worst = e;
                    }
                    CPR_CHECK(t, worst <= 1e-4,
                              "%s T=%lld win=%lld grad %c: max error %.3g of max "
                              "|g| (limit 1e-4)",
                              cpr_isa_name(isas[ti]), (long long)c->T,
                              (long long)c->win, "qkv"[w], worst);
                }
                memcpy(ref_q, dq, (nq + 2 * nk) * sizeof(float));
            } else {
                CPR_CHECK(t, memcmp(ref_q, dq, (nq + 2 * nk) * sizeof(float)) == 0,
                          "%s T=%lld: %zu threads differ from 1",
                          cpr_isa_name(isas[ti]), (long long)c->T, p + 1);
            }
        }
    }
    for (size_t p = 1; p < 3; p++) cpr_pool_free(pools[p]);
    free(scratch);
    free(buf);
    free(ref_q);
    free(dbl);
    free(fd);
}

static void test_attention_bwd(struct cpr_test_ctx *t) {
    // crosses CPR_ATTN_QB = 64; GQA 4 query heads on 2 kv heads
    static const struct acase cases[] = {
        {1, 70, 4, 2, 4, 0}, {2, 9, 2, 1, 3, 0}, {1, 67, 2, 2, 5, 6}, {1, 1, 1, 1, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(t, &cases[i], 700 + i);
}

const struct cpr_test cpr_tests_core_attention_bwd[] = {
    {"attention_bwd", test_attention_bwd, 0},
    {0},
};
