// tests/test_methods_stats.c: per-capture-site calibration statistics
// (methods/stats.h): a hand-worked case with exact numbers, chunked adds
// against one big add, bit identity for 1/2/3 threads and (column sums)
// across ISAs, the f64 Hessian mode against a double reference, captures
// from a real forward pass, and the error paths.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/pool.h"
#include "core/synth.h"
#include "methods/stats.h"
#include "tests/harness.h"

// f32 Hessian vs the exact (double) sum: |got - ref| <= H_RTOL * n_tok *
// eps32 * sum_t |x_ti x_tj| (an f32 dot product of n_tok terms; the kernel
// may sum in any order).
#define H_RTOL 1.0
#define EPS32 1.1920929e-7

static const unsigned ALL = CPR_NEED_COLSUMSQ | CPR_NEED_HESSIAN |
                            CPR_NEED_COLMEANVAR;

// ---- hand-worked: 2 sequences x 3 tokens, 4 columns ----
// Small integers, so every sum is exact in f32 and double.
static const float XH[6 * 4] = {
    1, 2, 0, -1, //
    0, 1, 3, 2,  // sequence 0
    2, -1, 1, 0, //
    1, 1, 1, 1,  //
    -2, 0, 2, 1, // sequence 1
    0, 3, -1, 2, //
};
// X^T X, worked by hand (column pairs summed over the 6 rows).
static const float XTX[16] = {
    10, 1, -1, -2, //
    1, 16, 0, 7,   //
    -1, 0, 16, 7,  //
    -2, 7, 7, 11,  //
};

static void test_hand(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    for (int f64 = 0; f64 <= 1; f64++) {
        struct cpr_site_stats s;
        CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, 4, ALL, f64, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK(t, s.hessian_f64 == f64 && (f64 ? s.h64 && s.scratch && !s.h32
                                                  : s.h32 && !s.h64),
                  "f64=%d: buffers", f64);
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 2, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, s.n_samples == 2 && s.n_tokens == 6, "counts %zu %zu",
                  s.n_samples, s.n_tokens);
        static const double sumsq[4] = {10, 16, 16, 11}, sum[4] = {2, 6, 6, 5};
        for (int j = 0; j < 4; j++)
            CPR_CHECK(t, s.sumsq[j] == sumsq[j] && s.sum[j] == sum[j],
                      "col %d: sumsq %g sum %g", j, s.sumsq[j], s.sum[j]);
        float sr[4], h[16];
        double mean[4], var[4];
        struct cpr_linear_stats out;
        memset(&out, 0, sizeof out);
        CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, h, mean, var, &out, &err),
                         CPR_OK, &err, NULL);
        // scaler_row = sumsq / n_samples (2 sequences)
        static const float sr_want[4] = {5.0f, 8.0f, 8.0f, 5.5f};
        // mean = sum / 6 tokens; var = sumsq / 6 - mean^2
        static const double mean_want[4] = {2.0 / 6, 1.0, 1.0, 5.0 / 6};
        static const double var_want[4] = {14.0 / 9, 5.0 / 3, 5.0 / 3, 41.0 / 36};
        for (int j = 0; j < 4; j++) {
            CPR_CHECK(t, sr[j] == sr_want[j], "scaler_row[%d] = %g", j, sr[j]);
            CPR_CHECK(t, fabs(mean[j] - mean_want[j]) <= 1e-15 &&
                             fabs(var[j] - var_want[j]) <= 1e-15,
                      "col %d: mean %.17g var %.17g", j, mean[j], var[j]);
        }
        // H = (2 / 2) X^T X
        for (int e = 0; e < 16; e++)
            CPR_CHECK(t, h[e] == XTX[e], "f64=%d: H[%d] = %g, expected %g", f64,
                      e, h[e], XTX[e]);
        CPR_CHECK(t, out.n_cols == 4 && out.n_samples == 2 && out.scaler_row == sr &&
                         out.hessian == h && out.col_mean == mean && out.col_var == var,
                  "out fields");
        // Same rows as one sequence of 6: H = 2 X^T X, scaler_row = sumsq.
        cpr_site_stats_reset(&s);
        CPR_CHECK(t, s.n_samples == 0 && s.sumsq[0] == 0.0, "reset");
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 1, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, h, NULL, NULL, &out, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, sr[3] == 11.0f && h[1 * 4 + 3] == 14.0f && h[0] == 20.0f,
                  "one sequence: scaler_row[3] %g H[1][3] %g", sr[3], h[7]);
        CPR_CHECK(t, out.col_mean == NULL && out.col_var == NULL, "NULL outs");
        // Three sequences of 2: H = (2/3) X^T X, rounded once.
        cpr_site_stats_reset(&s);
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 3, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, NULL, h, NULL, NULL, &out, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, h[7] == (float)(2.0 / 3.0 * 7.0) && out.scaler_row == NULL,
                  "three sequences: H[1][3] = %.9g", h[7]);
        cpr_site_stats_free(&s);
        CPR_CHECK(t, s.h32 == NULL && s.sumsq == NULL, "free zeroes");
        cpr_site_stats_free(&s); // twice is fine
    }
}

// ---- random data helpers ----

// Exact-ish references in double: sumsq, sum, X^T X and sum |x_i x_j|.
static void ref_stats(const float *x, size_t rows, size_t n, size_t ld,
                      double *sumsq, double *sum, double *h, double *habs) {
    memset(sumsq, 0, n * sizeof *sumsq);
    memset(sum, 0, n * sizeof *sum);
    memset(h, 0, n * n * sizeof *h);
    memset(habs, 0, n * n * sizeof *habs);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        for (size_t i = 0; i < n; i++) {
            sumsq[i] += (double)xr[i] * xr[i];
            sum[i] += xr[i];
            for (size_t j = 0; j < n; j++) {
                double p = (double)xr[i] * xr[j];
                h[i * n + j] += p;
                habs[i * n + j] += fabs(p);
            }
        }
    }
}

static int same_bits(const void *a, const void *b, size_t bytes) {
    return a == b || (a && b && !memcmp(a, b, bytes));
}

// Two accumulators hold identical sums, counts and Hessians.
static int same_stats(const struct cpr_site_stats *a,
                      const struct cpr_site_stats *b) {
    size_t n = a->n_cols;
    return a->n_cols == b->n_cols && a->n_samples == b->n_samples &&
           a->n_tokens == b->n_tokens &&
           same_bits(a->sumsq, b->sumsq, n * sizeof(double)) &&
           same_bits(a->sum, b->sum, n * sizeof(double)) &&
           same_bits(a->h32, b->h32, n * n * sizeof(float)) &&
           same_bits(a->h64, b->h64, n * n * sizeof(double));
}

// ---- chunked adds vs one add ----
static void test_chunked(struct cpr_test_ctx *t) {
    enum { SEQ = 8, LEN = 8, ROWS = SEQ * LEN, N = 37, LD = 40 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    float *x = malloc(ROWS * LD * sizeof *x);
    cpr_test_fill_normal(&rng, x, ROWS * LD, 1.0f);
    double *rsq = malloc(N * sizeof *rsq), *rs = malloc(N * sizeof *rs);
    double *rh = malloc(N * N * sizeof *rh), *ra = malloc(N * N * sizeof *ra);
    ref_stats(x, ROWS, N, LD, rsq, rs, rh, ra);
    struct cpr_err err = {0};
    for (int f64 = 0; f64 <= 1; f64++) {
        struct cpr_site_stats one, ch;
        CPR_CHECK_STATUS(t, cpr_site_stats_init(&one, N, ALL, f64, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_site_stats_init(&ch, N, ALL, f64, &err), CPR_OK,
                         &err, NULL);
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&one, x, ROWS, LD, SEQ, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        // chunks of 1, 3 and 4 sequences, and an empty chunk
        static const size_t parts[] = {1, 3, 0, 4};
        size_t row = 0;
        for (size_t p = 0; p < 4; p++) {
            CPR_CHECK_STATUS(t, cpr_site_stats_add(&ch, x + row * LD, parts[p] * LEN,
                                                   LD, parts[p], NULL, NULL, &err),
                             CPR_OK, &err, NULL);
            row += parts[p] * LEN;
        }
        CPR_CHECK(t, ch.n_samples == SEQ && ch.n_tokens == ROWS, "chunk counts");
        // Column sums: the row order per column is the same, so exact.
        CPR_CHECK(t, same_bits(one.sumsq, ch.sumsq, N * sizeof(double)) &&
                         same_bits(one.sum, ch.sum, N * sizeof(double)),
                  "f64=%d: chunked column sums differ from one add", f64);
        double worst = 0;
        for (size_t j = 0; j < N; j++) {
            // double sums of exact squares: tiny relative error only
            double e = fabs(one.sumsq[j] - rsq[j]) / rsq[j];
            if (e > worst) worst = e;
        }
        CPR_CHECK(t, worst < 1e-13, "sumsq vs reference: rel err %g", worst);
        // Hessians: within f32 rounding of the exact sum, both ways; the
        // f64 mode rounds only within a chunk (so its bound uses the
        // chunk's length) and stays exactly symmetric.
        size_t bad = 0;
        double maxr = 0;
        for (size_t e = 0; e < (size_t)N * N; e++) {
            double tol = H_RTOL * ROWS * EPS32 * ra[e] + 1e-30;
            double g1 = f64 ? one.h64[e] : one.h32[e];
            double g2 = f64 ? ch.h64[e] : ch.h32[e];
            double d = fmax(fabs(g1 - rh[e]), fabs(g2 - rh[e]));
            if (d > tol) bad++;
            if (d / tol > maxr) maxr = d / tol;
            size_t i = e / N, j = e % N;
            if ((f64 ? one.h64[j * N + i] : one.h32[j * N + i]) != g1) bad++;
        }
        CPR_CHECK(t, bad == 0, "f64=%d: %zu Hessian entries off (worst %.3g x "
                  "tolerance) or asymmetric", f64, bad, maxr);
        if (f64)
            for (size_t e = 0; e < (size_t)N * N; e++)
                if (ch.scratch[e] != 0.0f) {
                    CPR_CHECK(t, 0, "f64 scratch not zero after add at %zu", e);
                    break;
                }
        cpr_site_stats_free(&one);
        cpr_site_stats_free(&ch);
    }
    free(x);
    free(rsq);
    free(rs);
    free(rh);
    free(ra);
}

// ---- f64 mode: one token per chunk is exact in double ----
static void test_f64(struct cpr_test_ctx *t) {
    enum { ROWS = 48, N = 21 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 5);
    float *x = malloc(ROWS * N * sizeof *x);
    // Multiples of 1/16 below 8 in magnitude (at most 7 significant bits):
    // every product and every partial sum here is exact in f32 and double,
    // so both modes must reproduce the reference exactly.
    cpr_test_fill_normal(&rng, x, ROWS * N, 2.0f);
    for (size_t i = 0; i < ROWS * N; i++)
        x[i] = fminf(fmaxf(roundf(x[i] * 16.0f) / 16.0f, -7.9375f), 7.9375f);
    double *rsq = malloc(N * sizeof *rsq), *rs = malloc(N * sizeof *rs);
    double *rh = malloc(N * N * sizeof *rh), *ra = malloc(N * N * sizeof *ra);
    ref_stats(x, ROWS, N, N, rsq, rs, rh, ra);
    struct cpr_err err = {0};
    struct cpr_site_stats s;
    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, N, CPR_NEED_HESSIAN, 1, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, !s.sumsq && !s.sum && !s.h32 && s.h64, "f64 buffers");
    // One token per chunk: the f64 mode folds each chunk's f32 block.
    for (size_t r = 0; r < ROWS; r++)
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, x + r * N, 1, N, 1, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
    size_t bad = 0;
    for (size_t e = 0; e < (size_t)N * N; e++) bad += s.h64[e] != rh[e];
    CPR_CHECK(t, bad == 0, "f64 one-token chunks: %zu entries differ from the "
              "double reference", bad);
    // Finish: (float)(2/48 * raw)
    float *h = malloc(N * N * sizeof *h);
    struct cpr_linear_stats out;
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, NULL, h, NULL, NULL, &out, &err),
                     CPR_OK, &err, NULL);
    bad = 0;
    for (size_t e = 0; e < (size_t)N * N; e++)
        bad += h[e] != (float)(2.0 / ROWS * rh[e]);
    CPR_CHECK(t, bad == 0, "f64 finish: %zu entries not (float)(2/n * raw)", bad);
    // The f32 mode, one chunk of 4 sequences: exact on this data as well.
    struct cpr_site_stats s32;
    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s32, N, CPR_NEED_HESSIAN, 0, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s32, x, ROWS, N, 4, NULL, NULL, &err),
                     CPR_OK, &err, NULL);
    bad = 0;
    for (size_t e = 0; e < (size_t)N * N; e++) bad += s32.h32[e] != rh[e];
    CPR_CHECK(t, bad == 0, "f32 mode on exact data: %zu entries differ", bad);
    cpr_site_stats_free(&s);
    cpr_site_stats_free(&s32);
    free(h);
    free(x);
    free(rsq);
    free(rs);
    free(rh);
    free(ra);
}

// ---- threads and ISAs ----
static void test_threads_isas(struct cpr_test_ctx *t) {
    // 100 columns: the 16-column split boundaries leave a ragged tail.
    enum { SEQ = 3, LEN = 30, ROWS = SEQ * LEN, N = 100, LD = 103 };
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 9);
    float *x = malloc(ROWS * LD * sizeof *x);
    cpr_test_fill_normal(&rng, x, ROWS * LD, 1.5f);
    struct cpr_err err = {0};
    struct cpr_pool *pools[3] = {NULL, NULL, NULL};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pools[1], 2, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_pool_init(&pools[2], 3, &err), CPR_OK, &err, NULL);
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    for (int f64 = 0; f64 <= 1; f64++)
        for (size_t ti = 0; ti < nt; ti++) {
            struct cpr_site_stats s[3];
            for (int p = 0; p < 3; p++) {
                CPR_CHECK_STATUS(t, cpr_site_stats_init(&s[p], N, ALL, f64, &err),
                                 CPR_OK, &err, NULL);
                // two chunks, so accumulation (not only one pass) is covered
                CPR_CHECK_STATUS(t, cpr_site_stats_add(&s[p], x, LEN, LD, 1, pools[p],
                                                       &tabs[ti], &err),
                                 CPR_OK, &err, NULL);
                CPR_CHECK_STATUS(t, cpr_site_stats_add(&s[p], x + LEN * LD, 2 * LEN, LD,
                                                       2, pools[p], &tabs[ti], &err),
                                 CPR_OK, &err, NULL);
            }
            CPR_CHECK(t, same_stats(&s[0], &s[1]) && same_stats(&s[0], &s[2]),
                      "%s f64=%d: 1/2/3 threads differ", cpr_isa_name(isas[ti]), f64);
            // Column sums are bit-identical across ISAs too.
            struct cpr_site_stats ref;
            CPR_CHECK_STATUS(t, cpr_site_stats_init(&ref, N, CPR_NEED_COLMEANVAR, 0,
                                                    &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK_STATUS(t, cpr_site_stats_add(&ref, x, ROWS, LD, SEQ, pools[1],
                                                   &tabs[0], &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, same_bits(ref.sumsq, s[2].sumsq, N * sizeof(double)) &&
                             same_bits(ref.sum, s[2].sum, N * sizeof(double)),
                      "%s: column sums differ from scalar", cpr_isa_name(isas[ti]));
            cpr_site_stats_free(&ref);
            for (int p = 0; p < 3; p++) cpr_site_stats_free(&s[p]);
        }
    cpr_pool_free(pools[1]);
    cpr_pool_free(pools[2]);
    free(x);
}

// ---- captures from a forward pass ----
struct cap_user {
    struct cpr_site_stats st[CPR_CAPTURE_SITE_COUNT];
    struct cpr_pool *pool;
    float *copy[CPR_CAPTURE_SITE_COUNT]; // the rows each site saw
};

static enum cpr_status cap_hook(void *user, const struct cpr_capture *cap,
                                struct cpr_err *err) {
    struct cap_user *u = user;
    float *c = u->copy[cap->site];
    for (int64_t r = 0; r < cap->n_rows; r++)
        memcpy(c + r * cap->n_cols, cap->x + r * cap->ld,
               (size_t)cap->n_cols * sizeof *c);
    return cpr_site_stats_add_capture(&u->st[cap->site], cap, u->pool, NULL, err);
}

static void test_forward_capture(struct cpr_test_ctx *t) {
    struct cpr_synth_spec spec = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 80, .n_layers = 1,
        .n_heads = 4, .n_kv_heads = 2, .vocab = 50, .context = 16,
        .dtype = CPR_DTYPE_F32, .seed = 3, .bos_id = -1, .eos_id = -1,
    };
    enum { NSEQ = 2, LEN = 12 };
    struct cpr_err err = {0};
    struct cpr_model m;
    memset(&m, 0, sizeof m);
    struct cpr_forward f;
    memset(&f, 0, sizeof f);
    struct cap_user u;
    memset(&u, 0, sizeof u);
    CPR_CHECK_STATUS(t, cpr_pool_init(&u.pool, 2, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_synth_model(&m, &spec, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_forward_init(&f, &m, NULL, u.pool, NSEQ, LEN, &err),
                     CPR_OK, &err, NULL);
    if (t->failures) goto done;
    static const size_t width[CPR_CAPTURE_SITE_COUNT] = {32, 32, 32, 80};
    for (int site = 0; site < CPR_CAPTURE_SITE_COUNT; site++) {
        CPR_CHECK_STATUS(t, cpr_site_stats_init(&u.st[site], width[site], ALL, 0, &err),
                         CPR_OK, &err, NULL);
        u.copy[site] = malloc(NSEQ * LEN * width[site] * sizeof(float));
    }
    int32_t tok[NSEQ * LEN];
    for (int i = 0; i < NSEQ * LEN; i++) tok[i] = (i * 7 + 3) % 50;
    float *hidden = malloc(NSEQ * LEN * 32 * sizeof *hidden);
    struct cpr_block_hook hook = {cap_hook, &u, 0};
    CPR_CHECK_STATUS(t, cpr_forward_embed(&f, tok, NSEQ, LEN, hidden, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_forward_block(&f, 0, hidden, NSEQ, LEN, &hook, &err),
                     CPR_OK, &err, NULL);
    for (int site = 0; site < CPR_CAPTURE_SITE_COUNT; site++) {
        // The same rows added directly (one thread) give identical stats.
        struct cpr_site_stats d;
        CPR_CHECK_STATUS(t, cpr_site_stats_init(&d, width[site], ALL, 0, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK_STATUS(t, cpr_site_stats_add(&d, u.copy[site], NSEQ * LEN,
                                               width[site], NSEQ, NULL, NULL, &err),
                         CPR_OK, &err, NULL);
        CPR_CHECK(t, u.st[site].n_samples == NSEQ && same_stats(&d, &u.st[site]),
                  "site %s: capture stats differ from a direct add",
                  cpr_capture_site_name((enum cpr_capture_site)site));
        cpr_site_stats_free(&d);
    }
    // A capture of the wrong site: the width check names it.
    struct cpr_capture cap = {.layer = 0, .site = CPR_CAPTURE_DOWN_IN,
                              .x = u.copy[3], .n_rows = NSEQ * LEN, .n_cols = 80,
                              .ld = 80, .n_seq = NSEQ, .seqlen = LEN};
    CPR_CHECK_STATUS(t, cpr_site_stats_add_capture(&u.st[0], &cap, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "down_in");
    free(hidden);
done:
    for (int site = 0; site < CPR_CAPTURE_SITE_COUNT; site++) {
        cpr_site_stats_free(&u.st[site]);
        free(u.copy[site]);
    }
    cpr_forward_free(&f);
    cpr_model_free(&m);
    cpr_pool_free(u.pool);
}

// ---- errors ----
static void test_errors(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    struct cpr_site_stats s;
    float sr[4], h[16];
    double mu[4], var[4];
    struct cpr_linear_stats out;
    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, 0, ALL, 0, &err), CPR_ERR_ARG, &err,
                     "n_cols");
    cpr_site_stats_free(&s); // a failed init is freeable
    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, (size_t)1 << 40, CPR_NEED_HESSIAN, 0,
                                            &err),
                     CPR_ERR_ARG, &err, "Hessian");
    cpr_site_stats_free(&s);
    CPR_CHECK(t, cpr_site_stats_bytes(4, ALL, 0) == 2 * 4 * 8 + 16 * 4 &&
                     cpr_site_stats_bytes(4, CPR_NEED_HESSIAN, 1) == 16 * 12 &&
                     cpr_site_stats_bytes(4, CPR_NEED_COLSUMSQ, 1) == 4 * 8,
              "bytes");

    err = (struct cpr_err){0};
    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, 4, CPR_NEED_COLSUMSQ, 0, &err), CPR_OK,
                     &err, NULL);
    // finish with no samples
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, NULL, NULL, NULL, &out, &err),
                     CPR_ERR_ARG, &err, "no calibration sample");
    // sizes
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 4, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "whole sequences");
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 0, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "whole sequences");
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, NULL, 6, 4, 2, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "NULL");
    // n_cols mismatch: a 3-wide chunk (ld 3) for 4-column statistics, and
    // a capture 5 columns wide.
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 3, 2, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "narrower");
    struct cpr_capture cap = {.layer = 2, .site = CPR_CAPTURE_O_IN, .x = XH,
                              .n_rows = 4, .n_cols = 5, .ld = 6, .n_seq = 1,
                              .seqlen = 4};
    CPR_CHECK_STATUS(t, cpr_site_stats_add_capture(&s, &cap, NULL, NULL, &err),
                     CPR_ERR_ARG, &err, "has 5 columns");
    CPR_CHECK(t, s.n_samples == 0 && s.sumsq[0] == 0.0, "failed adds changed stats");
    err = (struct cpr_err){0};
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 2, NULL, NULL, &err), CPR_OK,
                     &err, NULL);
    // statistics not accumulated
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, h, NULL, NULL, &out, &err),
                     CPR_ERR_ARG, &err, "needs hessian");
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, NULL, NULL, mu, NULL, &out, &err),
                     CPR_ERR_ARG, &err, "needs colmeanvar");
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, NULL, NULL, NULL, var, &out, &err),
                     CPR_ERR_ARG, &err, "needs colmeanvar");
    err = (struct cpr_err){0};
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, NULL, NULL, NULL, &out, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, sr[1] == 8.0f && out.hessian == NULL, "colsumsq only");
    cpr_site_stats_free(&s);

    CPR_CHECK_STATUS(t, cpr_site_stats_init(&s, 4, CPR_NEED_HESSIAN | (1u << 3), 0, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, s.needs == CPR_NEED_HESSIAN, "unknown need bits kept: %u", s.needs);
    CPR_CHECK_STATUS(t, cpr_site_stats_add(&s, XH, 6, 4, 2, NULL, NULL, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_site_stats_finish(&s, sr, h, NULL, NULL, &out, &err),
                     CPR_ERR_ARG, &err, "needs colsumsq");
    cpr_site_stats_free(&s);
}

const struct cpr_test cpr_tests_methods_stats[] = {
    {"hand", test_hand, 0},
    {"chunked", test_chunked, 0},
    {"f64", test_f64, 0},
    {"threads_isas", test_threads_isas, 0},
    {"forward_capture", test_forward_capture, 0},
    {"errors", test_errors, 0},
    {0},
};
