// core/pool.h: the thread pool, passed explicitly to whoever needs threads.
//
// cpr_pool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once for every
// ith in [0, nth) — the caller's thread runs ith = 0 — and returns when all
// have finished. Work is split statically by the callee (cpr_pool_split):
// no work stealing, so which thread computes which rows never changes the
// result. A reduction must never be split across threads unless its order
// is fixed; store per-item results and sum them serially.
// A NULL pool means single-threaded (fn(ctx, 0, 1)). Runs do not nest:
// fn must not call cpr_pool_run on the same pool.
#ifndef CPR_CORE_POOL_H
#define CPR_CORE_POOL_H

#include <stddef.h>

#include "core/status.h"

struct cpr_pool;

typedef void (*cpr_pool_fn)(void *ctx, size_t ith, size_t nth);

// Start a pool of n_threads threads in all (the caller counts as one, so
// n_threads - 1 workers are created). n_threads == 0 means the number of
// online CPUs. Worker stacks are 8 MiB (kernels may use stack scratch).
// Errors: CPR_ERR_ARG (n_threads > 1024), CPR_ERR_NOMEM, CPR_ERR_INTERNAL
// (pthread_create failed).
enum cpr_status cpr_pool_init(struct cpr_pool **out, size_t n_threads,
                              struct cpr_err *err);

// Number of threads (1 for a NULL pool).
size_t cpr_pool_size(const struct cpr_pool *p);

void cpr_pool_run(struct cpr_pool *p, cpr_pool_fn fn, void *ctx);

// Stop and join the workers. Accepts NULL.
void cpr_pool_free(struct cpr_pool *p);

// Static partition of [0, n) into nth nearly equal parts, each boundary a
// multiple of `align` (>= 1) except the last end: boundary i is i*n/nth
// rounded to the nearest multiple of align. Thread ith gets [*begin, *end),
// possibly empty; the parts cover [0, n) in order without overlap.
void cpr_pool_split(size_t n, size_t ith, size_t nth, size_t align,
                    size_t *begin, size_t *end);

// Number of online CPUs (>= 1).
size_t cpr_cpu_count(void);

#endif
