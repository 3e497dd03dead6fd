// methods/swiftprune.h: SwiftPrune (Kang et al., Findings of EMNLP 2025,
// arXiv 2501.16376): a Hessian-free per-weight score and a sort-free,
// EWMA-driven per-row threshold. See methods/swiftprune.c for what is
// taken from the paper's public summaries and what is our own reading.
#ifndef CPR_METHODS_SWIFTPRUNE_H
#define CPR_METHODS_SWIFTPRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "methods/method.h"

extern const struct cpr_method cpr_method_swiftprune;

// metric= choices (index into "obs|product").
enum cpr_swiftprune_metric {
    CPR_SWP_METRIC_OBS = 0,     // L = w^2 / (1 - c_j)   (default)
    CPR_SWP_METRIC_PRODUCT = 1, // L = w^2 * (1 - c_j)   (literal review text)
};

// How far the achieved per-row sparsity landed from the per-row target
// count k = int(cols * s) (Wanda's count; for N:M, n/m of the row). All
// deviations are fractions of the row width: dev_r = (pruned_r - k) / cols,
// so exact=1 and N:M always report 0. Rows are reduced in row order in
// double, so the report is identical for any thread count.
struct cpr_swiftprune_report {
    size_t rows;           // rows pruned
    size_t n_pruned;       // weights marked pruned, whole matrix
    size_t rows_exact;     // rows whose mask came from exact selection
                           // (exact=1 corrections and degenerate rows)
    double target;         // k / cols (or n/m), the per-row target fraction
    double mean_abs_dev;   // mean over rows of |dev_r|
    double max_abs_dev;    // max over rows of |dev_r|
    double mean_dev;       // mean over rows of dev_r (sign shows the bias)
};

// Prune m in place exactly as cpr_method_swiftprune.prune_matrix does
// (state from its init/parse_opts) and, when rep != NULL, fill the
// per-row sparsity report. Same contract, ownership and errors as
// prune_matrix in methods/method.h; rep is untouched on error.
enum cpr_status cpr_swiftprune_prune(const void *state,
                                     const struct cpr_matrix *m,
                                     const struct cpr_linear_stats *stats,
                                     const struct cpr_prune_target *t,
                                     uint8_t *mask, struct cpr_pool *pool,
                                     const struct cpr_kernels *k,
                                     struct cpr_swiftprune_report *rep,
                                     struct cpr_err *err);

// ---- the building blocks (exposed for tests and the CLI) ----

// Per-column factors f[j] (n entries) from a (n) = scaler_row:
//   S = sum_j a_j (double, j ascending), lambda = damp * S / n,
//   c_j = a_j / (S + lambda),
//   f_j = (float)(1 / (1 - c_j))  (metric=obs)  or (float)(1 - c_j)
//   (metric=product); f_j = 1 for every j when S == 0.
// damp > 0 keeps 1 - c_j >= lambda / (S + lambda) > 0.
// Errors: CPR_ERR_NUMERIC (a_j negative, NaN or Inf, or S overflows),
// CPR_ERR_ARG (damp not > 0).
enum cpr_status cpr_swiftprune_colfactor(size_t n, const float *scaler_row,
                                         double damp, int metric, float *f,
                                         struct cpr_err *err);

// The column visiting order's step: the smallest s >= round(n * 0.618...)
// with gcd(s, n) = 1 (s = 1 for n <= 2). The EWMA pass visits
// j_t = (t * s) mod n, t = 0..n-1: every column once, neighbours far apart.
size_t cpr_swiftprune_stride(size_t n);

// The EWMA threshold of one row of n scores (>= 0 or NaN) for a target of
// k pruned, 0 < k < n, p = k / n:
//   tau_0 = mean(score) (double, j ascending)
//   for t = 0..n-1, j = j_t (the stride order):
//     g_t = min(0.5, max(1 - beta, warmup / (t + 1)))
//     tau_{t+1} = tau_t * (1 + g_t * (p - [score_j <= tau_t]))
// and returns tau_n; the row then prunes every score <= tau_n. Returns NaN
// when tau_0 is not a positive finite number (all scores 0, or a NaN / Inf
// score): the caller must select exactly instead. O(n), no sort, no
// allocation; beta in [0, 1], warmup >= 0.
double cpr_swiftprune_threshold(size_t n, const float *score, size_t k,
                                double beta, double warmup);

#endif
