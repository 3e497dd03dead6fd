// core/pool.c: pthread pool with a generation counter (see pool.h).
//
// Each run publishes (fn, ctx) and bumps `generation` under the mutex;
// workers wake, run their share, and the last to finish signals `done`.
// A short spin before sleeping keeps the latency of back-to-back runs (one
// per GEMM in the forward pass) low without burning a core when idle.
#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct worker {
    struct cpr_pool *pool;
    size_t ith;
};

struct cpr_pool {
    size_t n;               // total threads incl. the caller
    pthread_t *threads;     // n - 1 workers
    struct worker *workers; // n - 1
    size_t n_started;

    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    atomic_ulong generation; // bumped per run
    atomic_size_t pending;   // workers still running the current job
    int stop;

    cpr_pool_fn fn;
    void *ctx;
};

size_t cpr_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct cpr_pool *p = w->pool;
    unsigned long seen = 0;
    for (;;) {
        // Spin briefly for the next job, then sleep on the condvar.
        unsigned long g = 0;
        for (int spin = 0; spin < 20000; spin++) {
            g = atomic_load_explicit(&p->generation, memory_order_acquire);
            if (g != seen) break;
        }
        pthread_mutex_lock(&p->mu);
        while (!p->stop && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        cpr_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);

        fn(ctx, w->ith, p->n);

        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

enum cpr_status cpr_pool_init(struct cpr_pool **out, size_t n_threads,
                              struct cpr_err *err) {
    *out = NULL;
    if (n_threads == 0) n_threads = cpr_cpu_count();
    if (n_threads > 1024)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "pool: %zu threads requested; at most 1024",
                           n_threads);
    struct cpr_pool *p = calloc(1, sizeof *p);
    if (!p) return cpr_err_set(err, CPR_ERR_NOMEM, "pool: out of memory");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    if (n_threads > 1) {
        p->threads = calloc(n_threads - 1, sizeof *p->threads);
        p->workers = calloc(n_threads - 1, sizeof *p->workers);
        if (!p->threads || !p->workers) {
            cpr_pool_free(p);
            return cpr_err_set(err, CPR_ERR_NOMEM, "pool: out of memory");
        }
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, (size_t)8 << 20);
        for (size_t i = 0; i + 1 < n_threads; i++) {
            p->workers[i].pool = p;
            p->workers[i].ith = i + 1;
            if (pthread_create(&p->threads[i], &attr, worker_main,
                               &p->workers[i]) != 0) {
                pthread_attr_destroy(&attr);
                cpr_pool_free(p);
                return cpr_err_set(err, CPR_ERR_INTERNAL,
                                   "pool: pthread_create failed for thread "
                                   "%zu of %zu", i + 1, n_threads);
            }
            p->n_started++;
        }
        pthread_attr_destroy(&attr);
    }
    *out = p;
    return CPR_OK;
}

size_t cpr_pool_size(const struct cpr_pool *p) { return p ? p->n : 1; }

void cpr_pool_run(struct cpr_pool *p, cpr_pool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n);

    // Spin a little, then wait for the workers.
    for (int spin = 0; spin < 100000; spin++)
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cpr_pool_free(struct cpr_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p->workers);
    free(p);
}

void cpr_pool_split(size_t n, size_t ith, size_t nth, size_t align,
                    size_t *begin, size_t *end) {
    if (align == 0) align = 1;
    // Boundary i is i*n/nth rounded to the nearest multiple of align: the
    // most even split on that grid. (Handing whole blocks out first-come
    // would give thread 0 a full extra block while the last thread holds
    // the short tail: 3904 + 3792 rows for n = 7696, align 64, where this
    // gives 3840 + 3856.)
    size_t s = ith == 0 ? 0 : (ith * n / nth + align / 2) / align * align;
    size_t e = ith + 1 >= nth ? n
                              : ((ith + 1) * n / nth + align / 2) / align * align;
    if (s > n) s = n;
    if (e > n) e = n;
    *begin = s;
    *end = e;
}
