// tests/method_testutil.h: what the hand-worked method tests share
// (test_methods_basic, _dsnot, _ria, _swiftprune): one matrix through a
// registered method's prune_matrix, the two kinds of target, and the mask
// comparison.
#ifndef CPR_TESTS_METHOD_TESTUTIL_H
#define CPR_TESTS_METHOD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "methods/method.h"
#include "simd/kernels.h"
#include "tests/harness.h"

// The calibration statistics handed to the method (NULL: absent).
struct mt_stats {
    const float *sr;           // (cols) scaler_row
    const double *mean, *var;  // (cols) col_mean, col_var
    const float *h;            // (cols, cols) Hessian, copied (the method
                               // may overwrite it)
};

// Method `method` (registered name) with options `opts` on a copy of w
// (rows, cols; the matrix called `name`) and the statistics of 4 samples:
// out gets the pruned weights, mask one byte per weight (1 = pruned).
// Errors: CPR_ERR_NOTFOUND (no such method), the method's own.
enum cpr_status mt_run(const char *method, const char *name, const char *opts,
                       size_t rows, size_t cols, const float *w,
                       const struct mt_stats *in, struct cpr_prune_target tg,
                       struct cpr_pool *pool, const struct cpr_kernels *k,
                       float *out, uint8_t *mask, struct cpr_err *err);

// Targets: unstructured sparsity s, or N:M.
struct cpr_prune_target mt_unstr(double s);
struct cpr_prune_target mt_nm(unsigned n, unsigned m);

// A failed check at the first mask byte that differs from want.
void mt_check_mask(struct cpr_test_ctx *t, const char *what,
                   const uint8_t *got, const uint8_t *want, size_t n);

#endif
