// tests/test_kern_norm.c: rmsnorm / layernorm / softmax / log-softmax /
// logsumexp for every ISA this machine runs, against the scalar reference
// (simd/norm_scalar.c) at the standard sizes plus the vocabulary size and a
// large one, with misaligned pointers and y == x; against hand-worked
// values and a double-precision oracle; and on special inputs (+-Inf, NaN,
// huge spreads). Run with -v to print the largest error seen per ISA.
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

// Per-element tolerances, |got - ref| <= RTOL * scale_i + ATOL, where
// scale_i is |ref_i| unless stated, plus an NMSE bound over the vector.
// rmsnorm: the SIMD sum of squares runs in f32 lanes (ref: double), so the
// common factor 1/rms is off by ~sqrt(n/64) ulp; then two f32 products.
#define RMSNORM_RTOL 2e-6
// layernorm: scale_i = |ref_i| + |beta_i| + (|x_i| + |mean|) * rstd * |g_i|
// (the f32 mean and x - mean carry absolute error ~ ulp(|x| + |mean|)).
#define LAYERNORM_RTOL 2e-6
// softmax: polynomial exp (<= ~4 ulp) times 1/sum; ATOL covers results in
// the subnormal range, where one unit is 1.4e-45.
#define SOFTMAX_RTOL 1e-6
#define SOFTMAX_ATOL 1e-44
// log-softmax: scale_i = |x_i - max| + log(sum) + 1 (sum >= 1, so its
// relative error becomes absolute error in the log).
#define LOGSOFTMAX_RTOL 4e-7
// logsumexp: absolute, in the log (sum relative error <= a few f32 ulp).
#define LOGSUMEXP_ATOL 1e-6
// NMSE = sum (got-ref)^2 / sum ref^2, for all vector ops: NORM_NMSE up to
// NORM_NMSE_N elements, growing linearly beyond (an f32 lane sum's error
// grows like sqrt(n), so its square like n; NEON has only 16 lanes).
#define NORM_NMSE 1e-12
#define NORM_NMSE_N 16384.0
// Oracle checks (scalar reference vs exp/log in double): expf is within
// 1 ulp, so the f32 exponentials cost ~1e-7 relative.
#define ORACLE_RTOL 1e-6

static const size_t LARGE = 100003, VOCAB = 32000;

// Largest relative error seen, per ISA index, per op (printed with -v).
enum { OP_RMS, OP_LN, OP_SM, OP_LSM, OP_LSE, N_OPS };
static const char *const op_names[N_OPS] = {"rmsnorm", "layernorm", "softmax",
                                            "logsoftmax", "logsumexp"};
static double max_err[CPR_ISA_COUNT][N_OPS];

static size_t size_at(size_t si) {
    if (si < cpr_test_n_sizes) return cpr_test_sizes[si];
    return si == cpr_test_n_sizes ? VOCAB : LARGE;
}

// NaN/Inf agreement first, then the per-element bound and the NMSE.
// scale == NULL means scale_i = |ref_i|. Returns 1 when all passed and
// folds the largest |got-ref|/scale_i (scale_i >= FLT_MIN) into *max_rel.
static int check_vec(struct cpr_test_ctx *t, const char *what, enum cpr_isa isa,
                     size_t n, size_t mis, const float *got, const float *ref,
                     const double *scale, double rtol, double atol,
                     double *max_rel) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        float g = got[i], r = ref[i];
        if (!isfinite(r) || !isfinite(g)) {
            int same = isnan(r) ? isnan(g) : g == r;
            if (!same) {
                CPR_CHECK(t, 0, "%s %s n=%zu mis=%zu i=%zu: got %g want %g",
                          cpr_isa_name(isa), what, n, mis, i, g, r);
                return 0;
            }
            continue;
        }
        double d = fabs((double)g - (double)r);
        double s = scale ? scale[i] : fabs((double)r);
        if (d > rtol * s + atol) {
            CPR_CHECK(t, 0, "%s %s n=%zu mis=%zu i=%zu: got %.9g want %.9g (err %.3g > tol %.3g)",
                      cpr_isa_name(isa), what, n, mis, i, g, r, d, rtol * s + atol);
            return 0;
        }
        if (s >= FLT_MIN && d / s > *max_rel) *max_rel = d / s;
        num += d * d;
        den += (double)r * r;
    }
    double nmse_tol = NORM_NMSE * (n > NORM_NMSE_N ? n / NORM_NMSE_N : 1.0);
    if (den > 0.0 && num / den > nmse_tol) {
        CPR_CHECK(t, 0, "%s %s n=%zu: NMSE %.3g > %.3g", cpr_isa_name(isa), what,
                  n, num / den, nmse_tol);
        return 0;
    }
    return 1;
}

// ---- rmsnorm / layernorm ----

static void test_rmsnorm(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 11);
    for (size_t si = 0; si < cpr_test_n_sizes + 2; si++) {
        size_t n = size_at(si), mis = si % 7;
        float *x = cpr_test_alloc_offset(n, mis), *w = cpr_test_alloc_offset(n, mis + 1);
        float *ref = malloc((n + 1) * 4), *y = cpr_test_alloc_offset(n, mis + 2);
        cpr_test_fill_normal(&r, x, n, si % 2 ? 1.0f : 30.0f);
        cpr_test_fill_uniform(&r, w, n, 0.5f, 1.5f);
        tabs[0].rmsnorm_f32(n, x, w, 1e-5f, ref);
        for (size_t ti = 0; ti < nt; ti++) {
            tabs[ti].rmsnorm_f32(n, x, w, 1e-5f, y);
            check_vec(t, "rmsnorm", isas[ti], n, mis, y, ref, NULL, RMSNORM_RTOL,
                      0.0, &max_err[ti][OP_RMS]);
            memcpy(y, x, n * 4); // in place: identical to out of place
            float *tmp = malloc((n + 1) * 4);
            tabs[ti].rmsnorm_f32(n, x, w, 1e-5f, tmp);
            tabs[ti].rmsnorm_f32(n, y, w, 1e-5f, y);
            CPR_CHECK(t, n == 0 || memcmp(y, tmp, n * 4) == 0, "%s rmsnorm n=%zu in place",
                      cpr_isa_name(isas[ti]), n);
            free(tmp);
        }
        cpr_test_free_offset(x, mis);
        cpr_test_free_offset(w, mis + 1);
        cpr_test_free_offset(y, mis + 2);
        free(ref);
    }
    // Hand-worked: x = (3, 4), w = (1, 2), eps = 0: rms = sqrt(12.5).
    float x2[2] = {3, 4}, w2[2] = {1, 2}, y2[2];
    for (size_t ti = 0; ti < nt; ti++) {
        tabs[ti].rmsnorm_f32(2, x2, w2, 0.0f, y2);
        CPR_CHECK(t, fabs(y2[0] - 3 / sqrt(12.5)) < 1e-6 && fabs(y2[1] - 8 / sqrt(12.5)) < 1e-6,
                  "%s rmsnorm (3,4): %g %g", cpr_isa_name(isas[ti]), y2[0], y2[1]);
    }
}

static void test_layernorm(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 12);
    for (size_t si = 0; si < cpr_test_n_sizes + 2; si++) {
        size_t n = size_at(si), mis = si % 5;
        float *x = cpr_test_alloc_offset(n, mis), *g = cpr_test_alloc_offset(n, mis + 1);
        float *b = cpr_test_alloc_offset(n, mis + 2), *y = cpr_test_alloc_offset(n, mis + 3);
        float *ref = malloc((n + 1) * 4);
        double *scale = malloc((n + 1) * sizeof(double));
        cpr_test_fill_normal(&r, x, n, 2.0f);
        for (size_t i = 0; i < n; i++) x[i] += 5.0f; // a mean to remove
        cpr_test_fill_uniform(&r, g, n, 0.5f, 1.5f);
        cpr_test_fill_normal(&r, b, n, 0.1f);
        for (int with_beta = 0; with_beta < 2; with_beta++) {
            const float *bp = with_beta ? b : NULL;
            tabs[0].layernorm_f32(n, x, g, bp, 1e-5f, ref);
            double mean = 0, var = 0;
            for (size_t i = 0; i < n; i++) mean += x[i];
            mean = n ? mean / n : 0;
            for (size_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
            double rstd = n ? 1 / sqrt(var / n + 1e-5) : 0;
            for (size_t i = 0; i < n; i++)
                scale[i] = fabs(ref[i]) + (bp ? fabs(bp[i]) : 0) +
                           (fabs(x[i]) + fabs(mean)) * rstd * fabs(g[i]);
            for (size_t ti = 0; ti < nt; ti++) {
                tabs[ti].layernorm_f32(n, x, g, bp, 1e-5f, y);
                check_vec(t, bp ? "layernorm+beta" : "layernorm", isas[ti], n, mis, y,
                          ref, scale, LAYERNORM_RTOL, 0.0, &max_err[ti][OP_LN]);
                memcpy(y, x, n * 4);
                tabs[ti].layernorm_f32(n, y, g, bp, 1e-5f, y); // in place
                check_vec(t, "layernorm in place", isas[ti], n, mis, y, ref, scale,
                          LAYERNORM_RTOL, 0.0, &max_err[ti][OP_LN]);
            }
        }
        cpr_test_free_offset(x, mis);
        cpr_test_free_offset(g, mis + 1);
        cpr_test_free_offset(b, mis + 2);
        cpr_test_free_offset(y, mis + 3);
        free(ref);
        free(scale);
    }
    // Hand-worked: x = (1,2,3,4): mean 2.5, biased var 1.25.
    float x4[4] = {1, 2, 3, 4}, g4[4] = {1, 1, 2, 2}, b4[4] = {0, 1, 0, 1}, y4[4];
    for (size_t ti = 0; ti < nt; ti++) {
        tabs[ti].layernorm_f32(4, x4, g4, b4, 0.0f, y4);
        double s = 1 / sqrt(1.25);
        double want[4] = {-1.5 * s, -0.5 * s + 1, 1.0 * s, 3.0 * s + 1};
        for (int i = 0; i < 4; i++)
            CPR_CHECK(t, fabs(y4[i] - want[i]) < 1e-6, "%s layernorm (1,2,3,4)[%d]: %g want %g",
                      cpr_isa_name(isas[ti]), i, y4[i], want[i]);
    }
}

// ---- softmax family ----

// Logit-like data: mostly normal * 4, some rows with a wide spread so that
// exponentials reach the subnormal range and underflow to 0.
static void fill_logits(struct cpr_rng *r, float *x, size_t n, int kind) {
    if (kind == 0) cpr_test_fill_normal(r, x, n, 4.0f);
    else cpr_test_fill_uniform(r, x, n, -120.0f, 10.0f);
}

static void test_softmax(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 13);
    for (size_t si = 1; si < cpr_test_n_sizes + 2; si++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t n = size_at(si), mis = (si + kind) % 9;
            float *x = cpr_test_alloc_offset(n, mis), *y = cpr_test_alloc_offset(n, mis + 3);
            float *ref = malloc(n * 4), *lref = malloc(n * 4);
            double *scale = malloc(n * sizeof(double));
            fill_logits(&r, x, n, kind);
            tabs[0].softmax_f32(n, x, ref);
            tabs[0].logsoftmax_f32(n, x, lref);
            double lse_ref = tabs[0].logsumexp_f32(n, x);
            float m = x[0];
            for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
            for (size_t i = 0; i < n; i++)
                scale[i] = fabs((double)x[i] - m) + (lse_ref - m) + 1.0;
            for (size_t ti = 0; ti < nt; ti++) {
                const char *isa = cpr_isa_name(isas[ti]);
                tabs[ti].softmax_f32(n, x, y);
                check_vec(t, "softmax", isas[ti], n, mis, y, ref, NULL, SOFTMAX_RTOL,
                          SOFTMAX_ATOL, &max_err[ti][OP_SM]);
                double s = 0;
                for (size_t i = 0; i < n; i++) s += y[i];
                CPR_CHECK(t, fabs(s - 1) < 1e-5, "%s softmax n=%zu sums to %.9g", isa, n, s);
                memcpy(y, x, n * 4);
                tabs[ti].softmax_f32(n, y, y);
                check_vec(t, "softmax in place", isas[ti], n, mis, y, ref, NULL,
                          SOFTMAX_RTOL, SOFTMAX_ATOL, &max_err[ti][OP_SM]);
                tabs[ti].logsoftmax_f32(n, x, y);
                check_vec(t, "logsoftmax", isas[ti], n, mis, y, lref, scale,
                          LOGSOFTMAX_RTOL, 0.0, &max_err[ti][OP_LSM]);
                memcpy(y, x, n * 4);
                tabs[ti].logsoftmax_f32(n, y, y);
                check_vec(t, "logsoftmax in place", isas[ti], n, mis, y, lref, scale,
                          LOGSOFTMAX_RTOL, 0.0, &max_err[ti][OP_LSM]);
                double lse = tabs[ti].logsumexp_f32(n, x);
                double e = fabs(lse - lse_ref);
                CPR_CHECK(t, e <= LOGSUMEXP_ATOL, "%s logsumexp n=%zu: %.12g ref %.12g", isa,
                          n, lse, lse_ref);
                if (e > max_err[ti][OP_LSE]) max_err[ti][OP_LSE] = e;
            }
            // The reference itself against exp/log in double.
            double so = 0;
            for (size_t i = 0; i < n; i++) so += exp((double)x[i] - m);
            CPR_CHECK(t, fabs(lse_ref - (m + log(so))) <= ORACLE_RTOL * (1 + fabs(lse_ref)),
                      "scalar logsumexp n=%zu: %.12g oracle %.12g", n, lse_ref, m + log(so));
            for (size_t i = 0; i < n; i++) {
                double o = exp((double)x[i] - m) / so;
                // x - m is rounded to f32 first (as torch does): that costs
                // up to |x - m| * 2^-24 relative in the exponential.
                double tol = o * (ORACLE_RTOL + fabs((double)x[i] - m) * 0x1p-24);
                if (o > 1e-30 && fabs(ref[i] - o) > tol) {
                    CPR_CHECK(t, 0, "scalar softmax n=%zu i=%zu: %.9g oracle %.9g", n, i,
                              ref[i], o);
                    break;
                }
            }
            cpr_test_free_offset(x, mis);
            cpr_test_free_offset(y, mis + 3);
            free(ref);
            free(lref);
            free(scale);
        }
    }
}

// Hand-worked and special inputs, the same answer from every ISA. Each
// case sits at a varying position in a vector of 37 so that both the main
// vector loops and the tails see it.
static void test_softmax_special(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    enum { N = 37 };
    float x[N], y[N];
    for (size_t ti = 0; ti < nt; ti++) {
        const struct cpr_kernels *k = &tabs[ti];
        const char *isa = cpr_isa_name(isas[ti]);
        // softmax(0, log 3) = (1/4, 3/4); logsumexp = log 4.
        float two[2] = {0.0f, logf(3.0f)};
        k->softmax_f32(2, two, y);
        CPR_CHECK(t, fabsf(y[0] - 0.25f) < 1e-7f && fabsf(y[1] - 0.75f) < 1e-7f,
                  "%s softmax(0, log3) = %g %g", isa, y[0], y[1]);
        CPR_CHECK(t, fabs(k->logsumexp_f32(2, two) - log(4.0)) < 1e-7, "%s lse(0, log3)", isa);
        // n = 1: softmax 1, log-softmax 0, logsumexp x.
        float one = -3.5f;
        k->softmax_f32(1, &one, y);
        CPR_CHECK(t, y[0] == 1.0f, "%s softmax n=1: %g", isa, y[0]);
        k->logsoftmax_f32(1, &one, y);
        CPR_CHECK(t, y[0] == 0.0f, "%s logsoftmax n=1: %g", isa, y[0]);
        CPR_CHECK(t, k->logsumexp_f32(1, &one) == -3.5, "%s logsumexp n=1", isa);
        CPR_CHECK(t, k->logsumexp_f32(0, &one) == -INFINITY, "%s logsumexp n=0", isa);
        // N equal values c: logsumexp = c + log N, softmax = 1/N.
        for (int i = 0; i < N; i++) x[i] = 1000.0f;
        CPR_CHECK(t, fabs(k->logsumexp_f32(N, x) - (1000 + log((double)N))) < 1e-6,
                  "%s logsumexp of equal values", isa);
        k->softmax_f32(N, x, y);
        CPR_CHECK(t, fabsf(y[N - 1] - 1.0f / N) < 1e-7f, "%s softmax of equal values", isa);
        for (int pos = 0; pos < N; pos += 6) {
            // -Inf entries: exactly 0 in softmax, -Inf in log-softmax, and
            // no effect on logsumexp.
            for (int i = 0; i < N; i++) x[i] = (float)(i % 5) - 2.0f;
            double want = 0;
            for (int i = 0; i < N; i++)
                if (i != pos && i != (pos + 7) % N) want += exp(x[i]);
            want = log(want);
            x[pos] = -INFINITY;
            x[(pos + 7) % N] = -INFINITY;
            k->softmax_f32(N, x, y);
            CPR_CHECK(t, y[pos] == 0.0f && y[(pos + 7) % N] == 0.0f, "%s softmax -Inf -> %g",
                      isa, y[pos]);
            k->logsoftmax_f32(N, x, y);
            CPR_CHECK(t, y[pos] == -INFINITY, "%s logsoftmax -Inf -> %g", isa, y[pos]);
            CPR_CHECK(t, fabs(k->logsumexp_f32(N, x) - want) < 1e-6,
                      "%s logsumexp with -Inf: %.9g want %.9g", isa, k->logsumexp_f32(N, x),
                      want);
            // Huge spread: exp(x - max) underflows to exactly 0.
            x[pos] = 1e30f;
            x[(pos + 7) % N] = -1e30f;
            k->softmax_f32(N, x, y);
            CPR_CHECK(t, y[pos] == 1.0f && y[(pos + 3) % N] == 0.0f, "%s softmax 1e30", isa);
            CPR_CHECK(t, k->logsumexp_f32(N, x) == 1e30f, "%s logsumexp 1e30", isa);
            k->logsoftmax_f32(N, x, y);
            CPR_CHECK(t, y[pos] == 0.0f && y[(pos + 1) % N] < -9e29f, "%s logsoftmax 1e30", isa);
            // +Inf: logsumexp +Inf; softmax NaN (x - max is NaN at the max).
            x[pos] = INFINITY;
            CPR_CHECK(t, k->logsumexp_f32(N, x) == INFINITY, "%s logsumexp +Inf", isa);
            k->softmax_f32(N, x, y);
            CPR_CHECK(t, isnan(y[0]) && isnan(y[N - 1]), "%s softmax +Inf -> NaN", isa);
            // NaN anywhere: NaN everywhere, also beside +Inf.
            x[(pos + 11) % N] = NAN;
            CPR_CHECK(t, isnan(k->logsumexp_f32(N, x)), "%s logsumexp NaN+Inf", isa);
            x[pos] = 1.0f;
            CPR_CHECK(t, isnan(k->logsumexp_f32(N, x)), "%s logsumexp NaN", isa);
            k->softmax_f32(N, x, y);
            CPR_CHECK(t, isnan(y[pos]) && isnan(y[(pos + 5) % N]), "%s softmax NaN", isa);
            k->logsoftmax_f32(N, x, y);
            CPR_CHECK(t, isnan(y[pos]) && isnan(y[(pos + 5) % N]), "%s logsoftmax NaN", isa);
            // All -Inf: logsumexp -Inf, softmax NaN (as torch).
            for (int i = 0; i < N; i++) x[i] = -INFINITY;
            CPR_CHECK(t, k->logsumexp_f32(N - pos, x) == -INFINITY, "%s logsumexp all -Inf", isa);
            k->softmax_f32(N - pos, x, y);
            CPR_CHECK(t, isnan(y[0]), "%s softmax all -Inf", isa);
        }
        // rmsnorm of zeros is 0 (eps keeps it finite); NaN poisons the row.
        for (int i = 0; i < N; i++) x[i] = 0.0f, y[i] = 1.0f;
        k->rmsnorm_f32(N, x, y, 1e-6f, y);
        CPR_CHECK(t, y[0] == 0.0f && y[N - 1] == 0.0f, "%s rmsnorm zeros", isa);
        for (int i = 0; i < N; i++) x[i] = 1.0f, y[i] = 1.0f;
        x[N - 1] = NAN;
        k->rmsnorm_f32(N, x, y, 1e-6f, y);
        CPR_CHECK(t, isnan(y[0]), "%s rmsnorm NaN", isa);
        // Large values do not overflow the f32 sum of squares... up to
        // ~1e19 per element; 1e18 here.
        for (int i = 0; i < N; i++) x[i] = (i % 2 ? 1e18f : -1e18f), y[i] = 1.0f;
        k->rmsnorm_f32(N, x, y, 1e-6f, y);
        CPR_CHECK(t, fabsf(fabsf(y[3]) - 1.0f) < 1e-6f, "%s rmsnorm 1e18: %g", isa, y[3]);
    }
}

static void test_report(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    if (!t->verbose) return;
    for (size_t ti = 0; ti < nt; ti++) {
        printf("  %-10s", cpr_isa_name(isas[ti]));
        for (int op = 0; op < N_OPS; op++) printf(" %s %.2e", op_names[op], max_err[ti][op]);
        printf("\n");
    }
}

const struct cpr_test cpr_tests_kern_norm[] = {
    {"rmsnorm", test_rmsnorm, 0},
    {"layernorm", test_layernorm, 0},
    {"softmax", test_softmax, 0},
    {"softmax_special", test_softmax_special, 0},
    {"max_errors", test_report, 0},
    {0},
};
