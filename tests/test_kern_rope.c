// tests/test_kern_rope.c: rope_half / rope_interleaved for every ISA this
// machine runs, against the scalar reference (simd/rope_scalar.c) for many
// head sizes and head counts with misaligned pointers; plus exact cases
// (angle 0 and pi/2), the layout identity between the two variants, and
// norm preservation against a double oracle. -v prints the largest error.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

// Per element: |got - ref| <= ROPE_RTOL * (|x0*cos| + |x1*sin|). The SIMD
// kernels fuse one of the two products (FMA), so they may differ by one
// rounding of a product plus the final one: ~1 ulp of that magnitude.
#define ROPE_RTOL 0x1p-22
// Rotation keeps each pair's length: relative error of |x'|^2 vs |x|^2,
// with cos/sin rounded to f32 (|cos^2 + sin^2 - 1| <= ~1.2e-7).
#define ROPE_NORM_RTOL 1e-6

static double max_err[CPR_ISA_COUNT][2]; // in units of the magnitude

static const size_t head_dims[] = {2, 4, 6, 8, 10, 14, 16, 18, 32, 34, 64, 66, 96, 128, 256};
static const size_t head_counts[] = {1, 3, 32};

// cos/sin for position pos with the usual base-10000 frequencies.
static void angles(size_t pos, size_t head_dim, float *c, float *s) {
    for (size_t i = 0; i < head_dim / 2; i++) {
        double th = (double)pos * pow(10000.0, -2.0 * (double)i / (double)head_dim);
        c[i] = (float)cos(th);
        s[i] = (float)sin(th);
    }
}

// Compare got vs ref for one layout. pair(i) gives the partner index of
// element j, and ang(j) its angle index, via `interleaved`.
static int check_rope(struct cpr_test_ctx *t, const char *what, enum cpr_isa isa,
                      size_t nh, size_t hd, const float *x, const float *got,
                      const float *ref, const float *c, const float *s, int interleaved,
                      double *max_rel) {
    size_t h = hd / 2;
    for (size_t j = 0; j < nh * hd; j++) {
        size_t k = j % hd, ia, other;
        if (interleaved) {
            ia = k / 2;
            other = j ^ 1;
        } else {
            ia = k < h ? k : k - h;
            other = k < h ? j + h : j - h;
        }
        double mag = fabs((double)x[j] * c[ia]) + fabs((double)x[other] * s[ia]);
        double d = fabs((double)got[j] - ref[j]);
        if (!isfinite(got[j]) || d > ROPE_RTOL * mag) {
            CPR_CHECK(t, 0, "%s %s heads=%zu dim=%zu j=%zu: got %.9g want %.9g", cpr_isa_name(isa),
                      what, nh, hd, j, got[j], ref[j]);
            return 0;
        }
        if (mag > 0 && d / mag > *max_rel) *max_rel = d / mag;
    }
    return 1;
}

static void test_rope_vs_scalar(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 21);
    size_t case_no = 0;
    for (size_t a = 0; a < sizeof head_dims / sizeof head_dims[0]; a++) {
        for (size_t b = 0; b < sizeof head_counts / sizeof head_counts[0]; b++, case_no++) {
            size_t hd = head_dims[a], nh = head_counts[b], n = hd * nh, mis = case_no % 11;
            float *x = cpr_test_alloc_offset(n, mis), *y = cpr_test_alloc_offset(n, mis + 1);
            float *c = cpr_test_alloc_offset(hd / 2, mis + 2), *s = cpr_test_alloc_offset(hd / 2, mis + 3);
            float *ref = malloc(n * 4);
            cpr_test_fill_normal(&r, x, n, 1.0f);
            angles(17 + 1000 * case_no, hd, c, s);
            for (int il = 0; il < 2; il++) {
                memcpy(ref, x, n * 4);
                (il ? tabs[0].rope_interleaved_f32 : tabs[0].rope_half_f32)(nh, hd, ref, c, s);
                for (size_t ti = 0; ti < nt; ti++) {
                    memcpy(y, x, n * 4);
                    (il ? tabs[ti].rope_interleaved_f32 : tabs[ti].rope_half_f32)(nh, hd, y, c, s);
                    check_rope(t, il ? "interleaved" : "half", isas[ti], nh, hd, x, y, ref, c, s,
                               il, &max_err[ti][il]);
                }
            }
            cpr_test_free_offset(x, mis);
            cpr_test_free_offset(y, mis + 1);
            cpr_test_free_offset(c, mis + 2);
            cpr_test_free_offset(s, mis + 3);
            free(ref);
        }
    }
}

// Angle 0 is the identity and pi/2 maps (x0, x1) to (-x1, x0), exactly;
// the two layouts agree up to the permutation between them; each pair
// keeps its length (double oracle).
static void test_rope_properties(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 22);
    enum { NH = 5, HD = 38, N = NH * HD, H = HD / 2 };
    float x[N], xh[N], xi[N], c[H], s[H];
    cpr_test_fill_normal(&r, x, N, 3.0f);
    for (size_t ti = 0; ti < nt; ti++) {
        const char *isa = cpr_isa_name(isas[ti]);
        for (int il = 0; il < 2; il++) {
            cpr_rope_f32_fn f = il ? tabs[ti].rope_interleaved_f32 : tabs[ti].rope_half_f32;
            for (int i = 0; i < H; i++) c[i] = 1.0f, s[i] = 0.0f;
            memcpy(xh, x, sizeof x);
            f(NH, HD, xh, c, s);
            CPR_CHECK(t, memcmp(xh, x, sizeof x) == 0, "%s rope(il=%d) angle 0 not identity", isa, il);
            for (int i = 0; i < H; i++) c[i] = 0.0f, s[i] = 1.0f;
            f(NH, HD, xh, c, s);
            for (int hd = 0; hd < NH; hd++)
                for (int i = 0; i < H; i++) {
                    int j0 = hd * HD + (il ? 2 * i : i), j1 = j0 + (il ? 1 : H);
                    CPR_CHECK(t, xh[j0] == -x[j1] && xh[j1] == x[j0],
                              "%s rope(il=%d) pi/2 head %d pair %d", isa, il, hd, i);
                }
        }
        // Layout identity: interleaved on P x equals P (half on x).
        angles(123, HD, c, s);
        memcpy(xh, x, sizeof x);
        tabs[ti].rope_half_f32(NH, HD, xh, c, s);
        for (int hd = 0; hd < NH; hd++)
            for (int i = 0; i < H; i++) {
                xi[hd * HD + 2 * i] = x[hd * HD + i];
                xi[hd * HD + 2 * i + 1] = x[hd * HD + i + H];
            }
        tabs[ti].rope_interleaved_f32(NH, HD, xi, c, s);
        for (int hd = 0; hd < NH; hd++)
            for (int i = 0; i < H; i++) {
                int a = hd * HD + i, b = hd * HD + 2 * i;
                CPR_CHECK(t, xi[b] == xh[a] && xi[b + 1] == xh[a + H],
                          "%s layouts disagree at head %d pair %d", isa, hd, i);
                double n0 = (double)x[a] * x[a] + (double)x[a + H] * x[a + H];
                double n1 = (double)xh[a] * xh[a] + (double)xh[a + H] * xh[a + H];
                CPR_CHECK(t, fabs(n1 - n0) <= ROPE_NORM_RTOL * n0, "%s pair length %g -> %g",
                          isa, n0, n1);
            }
    }
}

static void test_rope_report(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    if (!t->verbose) return;
    for (size_t ti = 0; ti < nt; ti++)
        printf("  %-10s half %.2e  interleaved %.2e  (max |err| / (|x0 c| + |x1 s|))\n",
               cpr_isa_name(isas[ti]), max_err[ti][0], max_err[ti][1]);
}

const struct cpr_test cpr_tests_kern_rope[] = {
    {"vs_scalar", test_rope_vs_scalar, 0},
    {"properties", test_rope_properties, 0},
    {"max_errors", test_rope_report, 0},
    {0},
};
