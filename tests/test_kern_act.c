// tests/test_kern_act.c: silu / gelu / gelu_tanh / swiglu for every ISA
// this machine runs: against the scalar reference (simd/act_scalar.c) at
// the standard sizes plus a large one, misaligned and in place; against a
// double-precision oracle (which also checks the reference and bounds the
// polynomial exp/erfc); and on special inputs (huge, tiny, +-Inf, NaN).
// -v prints the largest relative error per ISA and op, vs reference and
// vs the oracle.
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

// Versus the scalar reference: |got - ref| <= RTOL |ref| + ATOL. The SIMD
// exp is within a few ulp of expf and the erfc within a few ulp of erfcf;
// ATOL only matters for subnormal results (gelu below x ~ -13.2, where
// exp(-x^2/2) is subnormal inside the SIMD erfc).
#define SILU_RTOL 6e-7
#define GELU_RTOL 6e-7
#define GELU_TANH_RTOL 6e-7
#define SWIGLU_RTOL 6e-7
#define ACT_ATOL 1e-40
// Relative errors are reported (and ORACLE_RTOL applies) for results at
// least this large; below it the exponentials inside the SIMD gelu and
// the sigmoids are subnormal and carry fewer bits (absolute error stays
// under ACT_ATOL).
#define ACT_REPORT_MIN 1e-36
// Versus the oracle (double math on the same f32 input): the extra error
// of the f32 steps before the exp/erfc is conditioning, not kernel error,
// so the bound grows with it: gelu's z = x/sqrt2 is rounded (cond 2 z^2),
// gelu_tanh's cubic is rounded (cond ~2|y|).
#define ORACLE_RTOL 1e-6
// NMSE over each vector versus the reference.
#define ACT_NMSE 1e-12

static const size_t LARGE = 100003;

enum { OP_SILU, OP_GELU, OP_GELU_TANH, OP_SWIGLU, N_OPS };
static const char *const op_names[N_OPS] = {"silu", "gelu", "gelu_tanh", "swiglu"};
static const double op_rtol[N_OPS] = {SILU_RTOL, GELU_RTOL, GELU_TANH_RTOL, SWIGLU_RTOL};
static double max_ref[CPR_ISA_COUNT][N_OPS], max_orc[CPR_ISA_COUNT][N_OPS];

// Inputs that cross every range boundary of the kernels.
static const float specials[] = {
    0.0f, -0.0f, 1e-30f, -1e-30f, 1e-45f, -1e-45f, 0.5f, -0.5f, 1.0f, -1.0f,
    2.0f, -2.0f, 3.0f, -3.0f, 5.0f, -5.0f, 8.0f, -8.0f, 10.0f, -10.0f,
    13.0f, -13.0f, 13.5f, -13.5f, 14.5f, -14.5f, 15.0f, -15.0f, 20.0f, -20.0f,
    50.0f, -50.0f, 87.0f, -87.0f, 88.5f, -88.5f, 89.0f, -89.0f, 100.0f, -100.0f,
    104.0f, -104.0f, 1e4f, -1e4f, 1e13f, -1e13f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
    INFINITY, -INFINITY, NAN};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static float oracle(int op, float xf, float uf) {
    double x = xf;
    switch (op) {
    case OP_SILU: return (float)(x / (1.0 + exp(-x)));
    case OP_GELU: return (float)(0.5 * x * erfc(-x * 0.70710678118654752440));
    case OP_GELU_TANH: {
        double y = 0.79788456080286535588 * (x + 0.044715 * x * x * x);
        return (float)(x / (1.0 + exp(-2.0 * y)));
    }
    default: return (float)(x / (1.0 + exp(-x)) * uf);
    }
}

// The conditioning term of the oracle bound (see ORACLE_RTOL).
// In units of 2^-24 relative; gelu's counts the rounding of both
// x * 0.70710678f and the constant itself.
static double oracle_cond(int op, float x) {
    if (op == OP_GELU) return 2.0 * 2.0 * 0.5 * (double)x * x;
    // gelu_tanh: 2|y| times the ~6 roundings of the cubic, its constant
    // and the product with 2 sqrt(2/pi).
    if (op == OP_GELU_TANH) return 6.0 * 2.0 * 0.8 * (fabs(x) + 0.045 * fabs((double)x * x * x));
    return 0.0;
}

static void run_op(const struct cpr_kernels *k, int op, size_t n, const float *x,
                   const float *u, float *y) {
    switch (op) {
    case OP_SILU: k->silu_f32(n, x, y); break;
    case OP_GELU: k->gelu_f32(n, x, y); break;
    case OP_GELU_TANH: k->gelu_tanh_f32(n, x, y); break;
    default: k->swiglu_f32(n, x, u, y); break;
    }
}

// NaN/Inf agreement first, then per-element bound, then NMSE.
static void check_vec(struct cpr_test_ctx *t, int op, enum cpr_isa isa, size_t n,
                      size_t mis, const float *x, const float *got, const float *ref,
                      double *max_rel) {
    double num = 0.0, den = 0.0, rtol = op_rtol[op];
    for (size_t i = 0; i < n; i++) {
        float g = got[i], r = ref[i];
        if (!isfinite(r) || !isfinite(g)) {
            if (!(isnan(r) ? isnan(g) : g == r)) {
                CPR_CHECK(t, 0, "%s %s n=%zu mis=%zu x[%zu]=%g: got %g want %g",
                          cpr_isa_name(isa), op_names[op], n, mis, i, x[i], g, r);
                return;
            }
            continue;
        }
        double d = fabs((double)g - r);
        if (d > rtol * fabs(r) + ACT_ATOL) {
            CPR_CHECK(t, 0, "%s %s n=%zu mis=%zu x[%zu]=%.9g: got %.9g want %.9g (rel %.3g)",
                      cpr_isa_name(isa), op_names[op], n, mis, i, x[i], g, r, d / fabs(r));
            return;
        }
        if (fabs(r) >= ACT_REPORT_MIN && d / fabs(r) > *max_rel) *max_rel = d / fabs(r);
        num += d * d;
        den += (double)r * r;
    }
    CPR_CHECK(t, den == 0.0 || num / den <= ACT_NMSE, "%s %s n=%zu NMSE %.3g",
              cpr_isa_name(isa), op_names[op], n, num / den);
}

static void test_act_vs_scalar(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 31);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE, mis = si % 13;
        float *x = cpr_test_alloc_offset(n, mis), *u = cpr_test_alloc_offset(n, mis + 1);
        float *y = cpr_test_alloc_offset(n, mis + 2), *ref = malloc((n + 1) * 4);
        if (si % 2) cpr_test_fill_normal(&r, x, n, 3.0f);
        else cpr_test_fill_uniform(&r, x, n, -20.0f, 20.0f);
        for (size_t i = 0; i < n && n >= 64; i += 7) x[i] = specials[(i / 7) % N_SPECIALS];
        cpr_test_fill_normal(&r, u, n, 1.0f);
        for (int op = 0; op < N_OPS; op++) {
            run_op(&tabs[0], op, n, x, u, ref);
            for (size_t ti = 0; ti < nt; ti++) {
                run_op(&tabs[ti], op, n, x, u, y);
                check_vec(t, op, isas[ti], n, mis, x, y, ref, &max_ref[ti][op]);
                // In place: y == x (and for swiglu out == gate, out == up).
                memcpy(y, x, n * 4);
                run_op(&tabs[ti], op, n, y, u, y);
                check_vec(t, op, isas[ti], n, mis, x, y, ref, &max_ref[ti][op]);
                if (op == OP_SWIGLU) {
                    memcpy(y, u, n * 4);
                    tabs[ti].swiglu_f32(n, x, y, y);
                    check_vec(t, op, isas[ti], n, mis, x, y, ref, &max_ref[ti][op]);
                }
            }
        }
        cpr_test_free_offset(x, mis);
        cpr_test_free_offset(u, mis + 1);
        cpr_test_free_offset(y, mis + 2);
        free(ref);
    }
}

// Every ISA (the reference included) against double-precision math, on a
// dense sweep of [-16, 16] plus the special inputs.
static void test_act_oracle(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    enum { NS = 64001 };
    size_t n = NS + N_SPECIALS;
    float *x = malloc(n * 4), *u = malloc(n * 4), *y = malloc(n * 4);
    for (size_t i = 0; i < NS; i++) x[i] = -16.0f + 32.0f * (float)i / (NS - 1), u[i] = 1.5f;
    for (size_t i = 0; i < N_SPECIALS; i++) x[NS + i] = specials[i], u[NS + i] = 1.5f;
    for (size_t ti = 0; ti < nt; ti++) {
        for (int op = 0; op < N_OPS; op++) {
            run_op(&tabs[ti], op, n, x, u, y);
            for (size_t i = 0; i < n; i++) {
                float o = oracle(op, x[i], u[i]), g = y[i];
                if (!isfinite(o) || !isfinite(g)) {
                    if (!(isnan(o) ? isnan(g) : g == o)) {
                        CPR_CHECK(t, 0, "%s %s(%g) = %g, oracle %g", cpr_isa_name(isas[ti]),
                                  op_names[op], x[i], g, o);
                        break;
                    }
                    continue;
                }
                double d = fabs((double)g - o);
                double tol = (ORACLE_RTOL + oracle_cond(op, x[i]) * 0x1p-24) * fabs(o) + ACT_ATOL;
                if (d > tol) {
                    CPR_CHECK(t, 0, "%s %s(%.9g) = %.9g, oracle %.9g (rel %.3g)",
                              cpr_isa_name(isas[ti]), op_names[op], x[i], g, o, d / fabs(o));
                    break;
                }
                // Report the error beyond conditioning, where it is small.
                if (fabs(o) >= ACT_REPORT_MIN && oracle_cond(op, x[i]) < 8 &&
                    d / fabs(o) > max_orc[ti][op])
                    max_orc[ti][op] = d / fabs(o);
            }
        }
    }
    free(x);
    free(u);
    free(y);
}

// Exact saturation behaviour, the same from every ISA.
static void test_act_special(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    const float in[9] = {-100.0f, 100.0f, 0.0f, INFINITY, -INFINITY, NAN, -20.0f, 20.0f, -1e30f};
    float y[9];
    for (size_t ti = 0; ti < nt; ti++) {
        const char *isa = cpr_isa_name(isas[ti]);
        for (int op = 0; op < 3; op++) {
            run_op(&tabs[ti], op, 9, in, NULL, y);
            // silu(-100) = -3.7e-42 (subnormal), the gelus give -0.
            CPR_CHECK(t, y[0] <= 0.0f && y[0] > -1e-41f && signbit(y[0]), "%s %s(-100) = %g",
                      isa, op_names[op], y[0]);
            CPR_CHECK(t, y[1] == 100.0f, "%s %s(100) = %g", isa, op_names[op], y[1]);
            CPR_CHECK(t, y[2] == 0.0f, "%s %s(0) = %g", isa, op_names[op], y[2]);
            CPR_CHECK(t, y[3] == INFINITY, "%s %s(inf) = %g", isa, op_names[op], y[3]);
            CPR_CHECK(t, isnan(y[4]), "%s %s(-inf) = %g (want NaN, x*0)", isa, op_names[op], y[4]);
            CPR_CHECK(t, isnan(y[5]), "%s %s(nan) = %g", isa, op_names[op], y[5]);
            CPR_CHECK(t, y[6] <= 0.0f && y[6] > -1e-7f, "%s %s(-20) = %g", isa, op_names[op], y[6]);
            CPR_CHECK(t, y[7] == 20.0f, "%s %s(20) = %g", isa, op_names[op], y[7]);
            CPR_CHECK(t, y[8] == 0.0f, "%s %s(-1e30) = %g", isa, op_names[op], y[8]);
        }
        // silu(1) = 1/(1+1/e); gelu(1) = Phi(1) = 0.841344746...
        float one = 1.0f, g = 2.0f, o;
        tabs[ti].silu_f32(1, &one, &o);
        CPR_CHECK(t, fabsf(o - 0.7310585786f) < 1e-7f, "%s silu(1) = %.9g", isa, o);
        tabs[ti].gelu_f32(1, &one, &o);
        CPR_CHECK(t, fabsf(o - 0.8413447461f) < 1e-7f, "%s gelu(1) = %.9g", isa, o);
        tabs[ti].gelu_tanh_f32(1, &one, &o);
        CPR_CHECK(t, fabsf(o - 0.8411919906f) < 1e-7f, "%s gelu_tanh(1) = %.9g", isa, o);
        tabs[ti].swiglu_f32(1, &one, &g, &o);
        CPR_CHECK(t, fabsf(o - 1.4621171573f) < 2e-7f, "%s swiglu(1, 2) = %.9g", isa, o);
    }
}

static void test_act_report(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    if (!t->verbose) return;
    for (size_t ti = 0; ti < nt; ti++) {
        printf("  %-10s", cpr_isa_name(isas[ti]));
        for (int op = 0; op < N_OPS; op++)
            printf(" %s %.2e/%.2e", op_names[op], max_ref[ti][op], max_orc[ti][op]);
        printf("  (vs ref / vs oracle)\n");
    }
}

const struct cpr_test cpr_tests_kern_act[] = {
    {"vs_scalar", test_act_vs_scalar, 0},
    {"oracle", test_act_oracle, 0},
    {"special", test_act_special, 0},
    {"max_errors", test_act_report, 0},
    {0},
};
