// methods/hutchinson.h: Hutchinson estimates of the trace of the full-model
// cross-entropy Hessian per decoder weight matrix (the sensitivity of
// Shao et al.'s mixed sparsity; talkking/MixGPT Myhessian.py
// Hessian.trace, after PyHessian).
//
// Loss: the mean next-token cross-entropy of the calibration windows (each
// window one batch-1 pass, as MixGPT's dataloader_hv_product averages the
// per-window HVPs; equal-length windows make that the HVP of the mean).
// Parameters: every decoder linear (q, k, v, o, gate, up, down, ... in the
// linear table's order, core/model.h); one probe v is Rademacher over all
// of them at once, and linear i's sample is v_i . (H v)_i, whose
// expectation is tr(H_ii). Embeddings, norms and lm_head are not probed
// (PyHessian probes every parameter with requires_grad; that changes the
// variance, not the expectation, of the per-matrix samples).
//
// Hessian-vector product: central finite differences of the exact
// gradients (core/backward.h),
//   H v ~= (g(W + eps v) - g(W - eps v)) / (2 eps),
// perturbing every probed matrix at once in an f32 copy of the decoder
// linears (the caller's model is not written). Against the exact HVP
// (torch double backward, tests/oracle/hutchinson_oracle.py) on
// stories260K (226,560 probed weights), ||C - exact|| / ||exact|| over
// the per-probe samples is 1.7e-4 at eps = 1e-4 (the default), 1.8e-3 at
// 1e-5 (f32 rounding of the gradients) and 1e-2 at 1e-3 (truncation:
// every weight moves at once, ||eps v|| = eps sqrt(n)); a much larger
// model would want a smaller eps and finds f32 gradients too coarse for
// it: this is a tool for small models.
// v . g is summed per linear in double, so g itself is never stored.
//
// Probes: v[iter][lin][e] = +1/-1 from a counter-based hash of (seed, iter,
// lin, e) (cpr_hutch_sign): no v is stored, and the oracle reproduces it.
//
// Stopping (MixGPT): after each probe the running mean of all samples so
// far, pooled over matrices and probes, is compared with the previous one;
// stop when |new - old| / (|old| + 1e-6) < tol, or after max_iter probes.
// (The reference's check divides by the previous value without abs() and,
// because its loop variable shadows the running mean, compares with the
// last matrix's sample instead: in practice it always ran maxIter. We
// implement the stated intent.)
// Result per linear: sens = |mean over probes of v_i . (H v)_i| / numel_i
// (average_by_param_size=True), and the standard error of that mean.
//
// Determinism: the gradients are bit-identical for any thread count, the
// probes depend on the seed only, and sums run in a fixed order.
#ifndef CPR_METHODS_HUTCHINSON_H
#define CPR_METHODS_HUTCHINSON_H

#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"
#include "core/status.h"
#include "simd/kernels.h"

struct cpr_hutch_opts {
    int64_t max_iter; // probes at most (MixGPT: 100)
    double tol;       // relative change of the pooled running mean (1e-3)
    uint64_t seed;
    double eps;       // finite-difference step per element (1e-4)
};

struct cpr_hutch_result {
    int64_t n_lin;   // n_layers * linears per layer
    int64_t iters;   // probes run
    double *trace;   // (n_lin) mean over probes of v_i . H v_i (= Tr H_ii)
    double *stderr_; // (n_lin) standard error of that mean (0 for 1 probe)
    double *sens;    // (n_lin) |trace| / numel
    double *samples; // (max_iter, n_lin) per-probe samples, row per probe
};

// +1 or -1: probe `iter`, linear `lin`, element e (row-major) for `seed`.
int cpr_hutch_sign(uint64_t seed, int64_t iter, int64_t lin, int64_t e);

// Run the estimate over n_win windows of seqlen (>= 2) tokens. res is
// filled (free with cpr_hutch_result_free, also on error).
// Errors: CPR_ERR_ARG (options, sizes), CPR_ERR_UNSUPPORTED (a block the
// backward pass refuses, an empty or compressed linear), CPR_ERR_NOMEM.
enum cpr_status cpr_hutchinson(const struct cpr_model *m,
                               const int32_t *windows, int64_t n_win,
                               int64_t seqlen,
                               const struct cpr_hutch_opts *o,
                               const struct cpr_kernels *k,
                               struct cpr_pool *pool,
                               struct cpr_hutch_result *res,
                               struct cpr_err *err);
void cpr_hutch_result_free(struct cpr_hutch_result *res);

// Bytes of RAM cpr_hutchinson takes on m (windows of seqlen tokens,
// n_threads, max_iter probes): the f32 copy of every decoder linear (4
// bytes per weight: this is a tool for small models), one batch-1
// backward pass (core/backward.h), the dW scratch and the per-probe
// samples. For --plan.
size_t cpr_hutch_bytes(const struct cpr_model *m, int64_t seqlen,
                       size_t n_threads, int64_t max_iter);

#endif
