// tests/test_methods_hutchinson.c: Hutchinson Hessian traces
// (methods/hutchinson.h) on stories260K against
// tests/oracle/hutchinson_oracle.py (fixture
// tests/fixtures/hutchinson_oracle.bin: torch double backward, exact HVPs
// with the same Rademacher probes, and the exact Tr H of the last block's
// o_proj and down_proj from per-token Hessians).
//   stories260K_vs_oracle    every probe's v_i . (H v)_i by finite
//                            differences against the exact value; the
//                            estimates within 4 standard errors of the
//                            exact traces of L4.o and L4.down
//   tol_stop                 the official tol rule stops where the oracle's
//   threads_1_vs_2_and_seed  bit-identical samples for 1 and 2 threads;
//                            another seed gives other probes
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "data/fileio.h"
#include "data/model_load.h"
#include "methods/hutchinson.h"
#include "tests/fixture_bin.h"
#include "tests/harness.h"

#define FIXTURE "tests/fixtures/hutchinson_oracle.bin"

struct setup {
    struct fixture fx;
    struct cpr_model m;
    int32_t *tokens;
    int64_t n_win, seqlen, n_lin, probes, stop;
    uint64_t seed;
    const float *samples, *exact;
};

static void setup_free(struct setup *s) {
    unload(&s->fx);
    cpr_model_free(&s->m);
    free(s->tokens);
}

// 0 = ready; otherwise the test was skipped or failed.
static int setup(struct cpr_test_ctx *t, struct setup *s) {
    memset(s, 0, sizeof *s);
    char path[1024];
    cpr_test_data_path("models/stories260K", path, sizeof path);
    if (!cpr_path_is_dir(path)) {
        cpr_test_skip(t, "stories260K not found (set CPRUNE_DATA)");
        return -1;
    }
    struct cpr_err err = {0};
    if (load(&s->fx, FIXTURE)) {
        CPR_CHECK(t, 0, "cannot read %s", FIXTURE);
        return -1;
    }
    const struct rec *tk = get(&s->fx, "tokens"), *me = get(&s->fx, "meta"),
                     *sa = get(&s->fx, "samples"),
                     *ex = get(&s->fx, "exact_trace");
    if (!tk || !me || !sa || !ex || me->cols != 4 || ex->cols != 2) {
        CPR_CHECK(t, 0, "%s: records missing", FIXTURE);
        return -1;
    }
    const float *meta = me->data;
    s->seed = (uint64_t)meta[0];
    s->probes = (int64_t)meta[1];
    s->n_lin = (int64_t)meta[2];
    s->stop = (int64_t)meta[3];
    s->n_win = tk->rows;
    s->seqlen = tk->cols;
    s->samples = sa->data;
    s->exact = ex->data;
    s->tokens = malloc((size_t)(s->n_win * s->seqlen) * sizeof *s->tokens);
    for (int64_t i = 0; s->tokens && i < s->n_win * s->seqlen; i++)
        s->tokens[i] = (int32_t)((const float *)tk->data)[i];
    if (!s->tokens || cpr_model_load(path, &s->m, &err)) {
        CPR_CHECK(t, 0, "load: %s", err.msg);
        return -1;
    }
    CPR_CHECK(t, s->m.cfg.n_layers * cpr_model_linears_per_layer(&s->m) ==
                     s->n_lin, "fixture has %lld linears",
              (long long)s->n_lin);
    return 0;
}

static enum cpr_status run_eps(struct setup *s, int threads, int64_t max_iter,
                               double tol, uint64_t seed, double eps,
                               struct cpr_hutch_result *r,
                               struct cpr_err *err) {
    struct cpr_pool *pool = NULL;
    enum cpr_status st = cpr_pool_init(&pool, (size_t)threads, err);
    const struct cpr_hutch_opts o = {max_iter, tol, seed, eps};
    if (!st)
        st = cpr_hutchinson(&s->m, s->tokens, s->n_win, s->seqlen, &o, NULL,
                            pool, r, err);
    cpr_pool_free(pool);
    return st;
}

static enum cpr_status run(struct setup *s, int threads, int64_t max_iter,
                           double tol, uint64_t seed,
                           struct cpr_hutch_result *r, struct cpr_err *err) {
    return run_eps(s, threads, max_iter, tol, seed, 1e-4, r, err);
}

// Finite differences vs the exact samples of the first n probes: the
// worst error relative to each linear's rms exact sample, and the overall
// relative error ||C - exact|| / ||exact||.
static void fd_error(const struct setup *s, const double *got, int64_t n,
                     double *worst, double *rel) {
    double num = 0.0, den = 0.0;
    *worst = 0.0;
    for (int64_t i = 0; i < s->n_lin; i++) {
        double rms = 0.0;
        for (int64_t p = 0; p < n; p++)
            rms += (double)s->samples[p * s->n_lin + i] *
                   s->samples[p * s->n_lin + i];
        rms = sqrt(rms / (double)n);
        for (int64_t p = 0; p < n; p++) {
            const double e = s->samples[p * s->n_lin + i];
            const double d = fabs(got[p * s->n_lin + i] - e);
            if (d / rms > *worst) *worst = d / rms;
            num += d * d;
            den += e * e;
        }
    }
    *rel = sqrt(num / den);
}

static void test_oracle(struct cpr_test_ctx *t) {
    struct setup s;
    if (setup(t, &s)) {
        setup_free(&s);
        return;
    }
    struct cpr_err err = {0};
    struct cpr_hutch_result r;
    enum cpr_status st = run(&s, 2, s.probes, 0.0, s.seed, &r, &err);
    CPR_CHECK_STATUS(t, st, CPR_OK, &err, NULL);
    if (!st) {
        CPR_CHECK(t, r.iters == s.probes, "ran %lld probes",
                  (long long)r.iters);
        // each probe's FD sample vs the exact one, relative to the rms of
        // that linear's exact samples (single samples may be near 0)
        double worst, rel;
        fd_error(&s, r.samples, s.probes, &worst, &rel);
        CPR_CHECK(t, worst < 1e-2 && rel < 1e-3, "finite differences vs "
                  "exact HVP: worst %.2e of a linear's rms, overall %.2e",
                  worst, rel);
        // the estimates vs the exact traces (fixture: L4.o, L4.down)
        const int64_t idx[2] = {4 * 7 + 3, 4 * 7 + 6};
        for (int j = 0; j < 2; j++) {
            const int64_t i = idx[j];
            const double z = fabs(r.trace[i] - s.exact[j]) / r.stderr_[i];
            CPR_CHECK(t, z < 4.0, "linear %lld: estimate %.6e +- %.2e, "
                      "exact %.6e (%.1f standard errors)", (long long)i,
                      r.trace[i], r.stderr_[i], (double)s.exact[j], z);
            if (t->verbose)
                printf("  linear %2lld: Hutchinson %.6e +- %.2e (%lld probes)"
                       ", exact Tr H %.6e, %.2f s.e.\n", (long long)i,
                       r.trace[i], r.stderr_[i], (long long)r.iters,
                       (double)s.exact[j], z);
        }
        if (t->verbose) {
            printf("  FD samples vs exact HVP (eps 1e-4, %lld probes): worst "
                   "%.2e of rms, overall %.2e\n", (long long)s.probes, worst,
                   rel);
            const double eps[4] = {1e-2, 1e-3, 1e-5, 1e-6};
            for (int e = 0; e < 4; e++) { // the step's effect, 8 probes
                struct cpr_hutch_result q;
                if (!run_eps(&s, 2, 8, 0.0, s.seed, eps[e], &q, &err)) {
                    fd_error(&s, q.samples, 8, &worst, &rel);
                    printf("  eps %.0e (8 probes): worst %.2e of rms, "
                           "overall %.2e\n", eps[e], worst, rel);
                }
                cpr_hutch_result_free(&q);
            }
        }
    }
    cpr_hutch_result_free(&r);
    setup_free(&s);
}

static void test_tol_stop(struct cpr_test_ctx *t) {
    struct setup s;
    if (setup(t, &s)) {
        setup_free(&s);
        return;
    }
    struct cpr_err err = {0};
    struct cpr_hutch_result r;
    CPR_CHECK_STATUS(t, run(&s, 1, 100, 1e-3, s.seed, &r, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, r.iters == s.stop || s.stop == s.probes,
              "tol=1e-3 stopped after %lld probes, the oracle after %lld",
              (long long)r.iters, (long long)s.stop);
    for (int64_t i = 0; i < r.n_lin; i++)
        CPR_CHECK(t, r.sens[i] >= 0 && isfinite(r.sens[i]), "sens[%lld] %g",
                  (long long)i, r.sens[i]);
    cpr_hutch_result_free(&r);
    setup_free(&s);
}

static void test_threads_seed(struct cpr_test_ctx *t) {
    struct setup s;
    if (setup(t, &s)) {
        setup_free(&s);
        return;
    }
    struct cpr_err err = {0};
    struct cpr_hutch_result a, b, c;
    CPR_CHECK_STATUS(t, run(&s, 1, 3, 0.0, s.seed, &a, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK_STATUS(t, run(&s, 2, 3, 0.0, s.seed, &b, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK_STATUS(t, run(&s, 2, 3, 0.0, s.seed + 1, &c, &err), CPR_OK,
                     &err, NULL);
    if (a.samples && b.samples && c.samples) {
        const size_t n = (size_t)(3 * a.n_lin) * sizeof(double);
        CPR_CHECK(t, !memcmp(a.samples, b.samples, n),
                  "1 vs 2 threads differ");
        CPR_CHECK(t, memcmp(a.samples, c.samples, n), "seed ignored");
    }
    // bad options are refused before any work
    struct cpr_hutch_result d;
    CPR_CHECK_STATUS(t, run(&s, 1, 0, 0.0, 1, &d, &err), CPR_ERR_ARG, &err,
                     "max_iter");
    cpr_hutch_result_free(&a);
    cpr_hutch_result_free(&b);
    cpr_hutch_result_free(&c);
    cpr_hutch_result_free(&d);
    setup_free(&s);
}

const struct cpr_test cpr_tests_methods_hutchinson[] = {
    {"stories260K_vs_oracle", test_oracle, 0},
    {"tol_stop", test_tol_stop, 0},
    {"threads_1_vs_2_and_seed", test_threads_seed, 0},
    {0},
};
