// tests/test_kern_stats.c: per-column statistics (colstats_f32).
//
// The contract fixes the order of additions (rows in increasing order per
// column, in double), so every ISA must match an independent loop in this
// file (column-outer, the transpose of the kernels' walk) exactly, for
// sum present and NULL, accumulating onto nonzero starting values, at the
// standard column counts plus a large one, several row counts, padded row
// strides and misaligned pointers. Values span 2^-20..2^20 so that a
// different addition order would change the low bits (checked: reversing
// the order must change some result, else the test could not fail).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

static const size_t LARGE_COLS = 4099;
static const size_t ROWS[] = {0, 1, 2, 3, 4, 5, 9, 33};
enum { GUARD = 4 };

// The reference: column j, rows 0..rows-1 in order.
static void colstats_ref(size_t rows, size_t cols, const float *x, size_t ldx, double *sumsq,
                         double *sum, int reverse) {
    for (size_t j = 0; j < cols; j++)
        for (size_t i = 0; i < rows; i++) {
            size_t tt = reverse ? rows - 1 - i : i;
            double v = x[tt * ldx + j];
            sumsq[j] += v * v;
            if (sum) sum[j] += v;
        }
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void fill_wide(struct cpr_rng *r, float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ldexp(cpr_rng_normal(r), (int)cpr_rng_below(r, 41) - 20);
}

static void test_colstats(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 41);
    size_t order_sensitive = 0;
    for (size_t ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++) {
        for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
            size_t rows = ROWS[ri];
            size_t cols = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE_COLS;
            size_t pad = (ri + si) % 3 == 0 ? 0 : (ri + si) % 3 == 1 ? 1 : 7;
            size_t ldx = cols + pad, mis = (ri + si) % 5;
            size_t nx = rows * ldx;
            float *x = cpr_test_alloc_offset(nx, mis);
            fill_wide(&r, x, nx);
            double *init = malloc((cols + 1) * 2 * sizeof *init);
            double *want = malloc((cols + 1) * 2 * sizeof *want);
            double *got = malloc(((cols + GUARD) * 2 + 1) * sizeof *got);
            for (size_t j = 0; j < 2 * cols; j++) init[j] = cpr_rng_normal(&r);
            for (int with_sum = 0; with_sum < 2; with_sum++) {
                memcpy(want, init, 2 * cols * sizeof *want);
                colstats_ref(rows, cols, x, ldx, want, with_sum ? want + cols : NULL, 0);
                if (with_sum && rows > 2) { // would another order be caught?
                    double *rev = malloc((cols + 1) * 2 * sizeof *rev);
                    memcpy(rev, init, 2 * cols * sizeof *rev);
                    colstats_ref(rows, cols, x, ldx, rev, rev + cols, 1);
                    for (size_t j = 0; j < 2 * cols; j++) order_sensitive += !same_bits(rev[j], want[j]);
                    free(rev);
                }
                for (size_t ti = 0; ti < nt; ti++) {
                    // sumsq at got[0..cols), sum after a guard gap; +1 shifts
                    // the double arrays off 16-byte alignment on odd sizes.
                    double *gq = got + 1, *gs = got + 1 + cols + GUARD;
                    memcpy(gq, init, cols * sizeof *gq);
                    memcpy(gs, init + cols, cols * sizeof *gs);
                    for (size_t g = 0; g < GUARD; g++) gq[cols + g] = gs[cols + g] = -3.0;
                    tabs[ti].colstats_f32(rows, cols, x, ldx, gq, with_sum ? gs : NULL);
                    size_t bad = cols;
                    for (size_t j = 0; j < cols && bad == cols; j++)
                        if (!same_bits(gq[j], want[j]) ||
                            !same_bits(gs[j], with_sum ? want[cols + j] : init[cols + j]))
                            bad = j;
                    CPR_CHECK(t, bad == cols,
                              "%s colstats rows=%zu cols=%zu ldx=%zu sum=%d: column %zu "
                              "sumsq %.17g want %.17g, sum %.17g want %.17g",
                              cpr_isa_name(isas[ti]), rows, cols, ldx, with_sum, bad,
                              bad < cols ? gq[bad] : 0, bad < cols ? want[bad] : 0,
                              bad < cols ? gs[bad] : 0, bad < cols ? want[cols + bad] : 0);
                    int guard_ok = 1;
                    for (size_t g = 0; g < GUARD; g++)
                        guard_ok &= gq[cols + g] == -3.0 && gs[cols + g] == -3.0;
                    CPR_CHECK(t, guard_ok, "%s colstats cols=%zu wrote past cols",
                              cpr_isa_name(isas[ti]), cols);
                }
            }
            cpr_test_free_offset(x, mis);
            free(init), free(want), free(got);
        }
    }
    CPR_CHECK(t, order_sensitive > 1000,
              "data too tame: only %zu results depend on the row order", order_sensitive);
}

// A large activation matrix (a 2048-token x 4096 block), and Inf/NaN
// propagation: an Inf in a column makes its sumsq Inf, a NaN makes both
// NaN, in every ISA.
static void test_colstats_large_special(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 42);
    const size_t rows = 257, cols = 4096 + 5, ldx = cols + 3;
    float *x = cpr_test_alloc_offset(rows * ldx, 1);
    fill_wide(&r, x, rows * ldx);
    x[17 * ldx + 5] = INFINITY;
    x[200 * ldx + 6] = -INFINITY;
    x[3 * ldx + 4000] = NAN;
    double *ref = calloc(2 * cols, sizeof *ref), *got = calloc(2 * cols, sizeof *got);
    tabs[0].colstats_f32(rows, cols, x, ldx, ref, ref + cols);
    CPR_CHECK(t, isinf(ref[5]) && isinf(ref[6]) && isinf(ref[cols + 5]) && ref[cols + 6] < 0,
              "Inf must propagate");
    CPR_CHECK(t, isnan(ref[4000]) && isnan(ref[cols + 4000]), "NaN must propagate");
    for (size_t ti = 1; ti < nt; ti++) {
        memset(got, 0, 2 * cols * sizeof *got);
        tabs[ti].colstats_f32(rows, cols, x, ldx, got, got + cols);
        size_t bad = 2 * cols;
        for (size_t j = 0; j < 2 * cols && bad == 2 * cols; j++)
            if (!same_bits(got[j], ref[j]) && !(isnan(got[j]) && isnan(ref[j]))) bad = j;
        CPR_CHECK(t, bad == 2 * cols, "%s colstats large: element %zu got %.17g want %.17g",
                  cpr_isa_name(isas[ti]), bad, bad < 2 * cols ? got[bad] : 0,
                  bad < 2 * cols ? ref[bad] : 0);
    }
    cpr_test_free_offset(x, 1);
    free(ref), free(got);
}

const struct cpr_test cpr_tests_kern_stats[] = {
    {"colstats", test_colstats, 0},
    {"colstats_large_special", test_colstats_large_special, 0},
    {0},
};
