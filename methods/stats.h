// methods/stats.h: calibration statistics of one capture site (the input
// matrix shared by the linears it feeds: q/k/v, o, gate/up, down),
// accumulated chunk by chunk as the pipeline streams calibration windows
// through a block, then turned into the cpr_linear_stats a method reads.
//
// What is accumulated (only the parts asked for in `needs`, CPR_NEED_*):
//   COLSUMSQ    sumsq[j] = sum over all tokens of (double)x_j^2
//   COLMEANVAR  sum[j]   = sum over all tokens of (double)x_j (and sumsq)
//   HESSIAN     raw[i][j] = sum over all tokens of x_i x_j, in f32 (the
//               reference's dtype; cpr_syrk, exactly symmetric) or, with
//               hessian_f64, in double: each chunk is formed in f32 by
//               cpr_syrk into a scratch and added to the double sum, so
//               rounding grows with the chunk size, not with the number
//               of chunks.
// colstats adds rows in increasing order in double, so the column sums
// are bit-identical for any ISA and thread count; the f32 Hessian is
// bit-identical for any thread count on one ISA.
//
// Finishing (per the reference code):
//   scaler_row[j] = (float)(sumsq[j] / n_samples)   (wanda layerwrapper.py:
//                   n_samples counts sequences, not tokens)
//   H             = (2 / n_samples) * raw            (sparsegpt.py add_batch)
//   mean[j]       = sum[j] / n_tokens
//   var[j]        = max(0, sumsq[j] / n_tokens - mean[j]^2)  (population)
// The reference rescales its running H and scaler_row at every batch
// (H *= n/(n+b); H += (2/n) x x^T); that is the same sum in exact
// arithmetic, rounded differently.
#ifndef CPR_METHODS_STATS_H
#define CPR_METHODS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/forward.h"
#include "core/pool.h"
#include "core/status.h"
#include "methods/method.h"
#include "simd/kernels.h"

struct cpr_site_stats {
    size_t n_cols;
    unsigned needs;    // CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN | ..._COLMEANVAR
    int hessian_f64;   // accumulate the Hessian in double
    size_t n_samples;  // sequences added so far
    size_t n_tokens;   // rows added so far
    double *sumsq;     // (n_cols) when COLSUMSQ or COLMEANVAR, else NULL
    double *sum;       // (n_cols) when COLMEANVAR, else NULL
    float *h32;        // (n_cols, n_cols) raw sum, f32 mode, else NULL
    double *h64;       // (n_cols, n_cols) raw sum, f64 mode, else NULL
    float *scratch;    // (n_cols, n_cols) per-chunk f32 block, f64 mode
};

// Bytes init would allocate for these arguments (for memory reports).
size_t cpr_site_stats_bytes(size_t n_cols, unsigned needs, int hessian_f64);

// Allocate zeroed accumulators for n_cols >= 1 inputs. Bits of `needs`
// other than the three above are ignored. Errors: CPR_ERR_ARG,
// CPR_ERR_NOMEM (with the byte count). On error *s is left freeable.
enum cpr_status cpr_site_stats_init(struct cpr_site_stats *s, size_t n_cols,
                                    unsigned needs, int hessian_f64,
                                    struct cpr_err *err);

// Zero the sums and counts (keeps the allocations).
void cpr_site_stats_reset(struct cpr_site_stats *s);

// Add a chunk x (n_rows, n_cols) with row stride ld >= n_cols holding
// n_seq whole sequences (n_rows = n_seq * seqlen). pool may be NULL;
// k == NULL means cpr_kernels_get(). Must not be called from inside a
// pool worker. An empty chunk (n_rows == n_seq == 0) is a no-op.
// Errors: CPR_ERR_ARG (NULL x, n_rows not a positive multiple of n_seq,
// ld < n_cols: a chunk narrower than the site; a wider one is only
// caught by cpr_site_stats_add_capture).
enum cpr_status cpr_site_stats_add(struct cpr_site_stats *s, const float *x,
                                   size_t n_rows, size_t ld, size_t n_seq,
                                   struct cpr_pool *pool,
                                   const struct cpr_kernels *k,
                                   struct cpr_err *err);

// The same for a forward capture (core/forward.h), from a capture hook:
// also checks that the capture's width equals n_cols, which the raw form
// cannot see when ld > n_cols (e.g. a down_in capture, 11008 wide, added
// to the 4096-column statistics of attn_in). Errors: CPR_ERR_ARG (width
// mismatch naming the site and layer, negative sizes, as above).
enum cpr_status cpr_site_stats_add_capture(struct cpr_site_stats *s,
                                           const struct cpr_capture *cap,
                                           struct cpr_pool *pool,
                                           const struct cpr_kernels *k,
                                           struct cpr_err *err);

// Fill `out` for one linear fed by this site. Buffers are the caller's
// and are written only for the statistics accumulated:
//   scaler_row (n_cols) f32, hessian (n_cols * n_cols) f32 (a fresh copy
//   per linear: methods may overwrite it), col_mean / col_var (n_cols).
// Pass NULL for any buffer not wanted; the matching out field is NULL.
// Errors: CPR_ERR_ARG when no sample was added, or a buffer is asked for
// (non-NULL) whose statistic was not accumulated.
enum cpr_status cpr_site_stats_finish(const struct cpr_site_stats *s,
                                      float *scaler_row, float *hessian,
                                      double *col_mean, double *col_var,
                                      struct cpr_linear_stats *out,
                                      struct cpr_err *err);

// Release the accumulators (accepts a zeroed or failed-init struct).
void cpr_site_stats_free(struct cpr_site_stats *s);

#endif
