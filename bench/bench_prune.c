// bench/bench_prune.c: end-to-end pruning cost of one LLaMA-7B-shaped
// decoder layer (hidden 4096, intermediate 11008, 32 heads, 32 kv heads,
// random f32 weights from core/synth.h, one layer, vocab 512) calibrated on
// 16 x 2048 random tokens, on 2 threads with the dispatched ISA.
//
// Phases (bench/results/prune.json):
//   forward          embedding + the block over every calibration window,
//                    in chunks of CHUNK_SEQ windows (the forward's buffers
//                    for 16 x 2048 tokens of a 7B layer would take ~6 GiB),
//                    without the time spent in the capture hook. FLOPs:
//                    2 * T * linear params + 2 * seqlen^2 * q_dim per
//                    window (causal QK^T and PV).
//   stats_wanda      column sums of squares (COLSUMSQ) at the 4 capture
//                    sites, as Wanda needs; GB/s of activations read.
//   stats_sparsegpt  raw Hessians (HESSIAN, f32) at the 4 sites (4096^2 x 3
//                    and 11008^2); cpr_syrk forms all n^2 entries, so
//                    2 * T * n^2 flops per site. One row per site too.
//   gemm_f32         the reference rate: cpr_gemm_f32_mt, M = N = K = 4096.
//   <method>_prune   the 7 linears at 50% unstructured and at 2:4, with the
//                    registry's descriptors and default options (weights
//                    restored from a copy before each matrix, untimed).
//                    wanda_total = stats_wanda + scaler_row finish + prune
//                    (target < 1 s). sparsegpt_prune excludes the per-linear
//                    fresh Hessian copy (cpr_site_stats_finish, reported as
//                    sparsegpt_hcopy; target < 30 s), GFLOP/s from the flop
//                    estimate below, ratio = that rate / gemm_f32.
//   swiftprune_prune the 7 linears with SwiftPrune's defaults (EWMA
//                    threshold) and swiftprune_exact with exact=1 (the
//                    exact-count correction); like wanda, scaler_row finish
//                    included.
//   wanda_sort       the baseline SwiftPrune claims to beat: Wanda's
//                    official selection, which sorts every row (torch.sort
//                    in lib/prune.py): scores |W| * sqrt(scaler_row), each
//                    row's (score, index) pairs sorted with an inlined
//                    introsort (std::sort's algorithm, see sc_sort), the
//                    first int(cols * s) pruned; rows spread over the pool.
//                    Our wanda_prune selects without sorting (sample select,
//                    simd/select_*.c), so both baselines are reported.
//   swiftprune_vs    ratios at 50% unstructured: wanda_sort / swiftprune,
//                    wanda_prune / swiftprune and sparsegpt_prune /
//                    swiftprune (targets: > 1, > 1 for the sort baseline,
//                    >= 10 against SparseGPT).
// SparseGPT flops for a (rows, n) matrix, blocksize B (sgpt_flops):
//   inverse Cholesky  n^3/3 (Cholesky of J H J) + n^3/3 (triangular
//                     inverse), as core/linalg.h counts them;
//   column loop       per block of width b: rows * b * (b-1) (each column
//                     updates the rest of its block, one FMA = 2 flops);
//   lazy update       per block ending at i2: 2 * rows * b * (n - i2);
//   total ~ 2 n^3 / 3 + rows * n^2 (+ rows * n * B); the small O(rows * n)
//   terms (scores, selection, dead-column and damping passes) are not
//   counted. For the 7B layer: ~1.2 TFLOP of factorizations + ~1.1 TFLOP
//   of lazy updates.
// Load: the 2-thread FMA peak is measured at the start and the end, and the
// load average (/proc/loadavg) at each phase; a drop of the end peak below
// 85% of the start marks the rows CONTENDED in their notes.
//
// usage: bench_prune [n_seq [seqlen [methods]]]   (defaults 16, 2048, all;
//   methods is a comma list of magnitude,wanda,sparsegpt,swiftprune)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench_util.h"
#include "core/forward.h"
#include "core/matmul.h"
#include "core/model.h"
#include "core/rng.h"
#include "core/synth.h"
#include "methods/registry.h"
#include "methods/stats.h"

enum { HIDDEN = 4096, INTER = 11008, HEADS = 32, VOCAB = 512, CHUNK_SEQ = 2, GEMM_N = 4096 };

static double peak_rss_gib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / (1024.0 * 1024.0); // Linux: KiB
}

static double loadavg(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static int die(const char *what, const struct cpr_err *err) {
    fprintf(stderr, "bench_prune: %s: %s\n", what, err ? err->msg : "out of memory");
    return 1;
}

// ---- capture hook: both statistics, timed apart ----
struct hook_ctx {
    struct cpr_site_stats wst[CPR_CAPTURE_SITE_COUNT]; // COLSUMSQ
    struct cpr_site_stats hst[CPR_CAPTURE_SITE_COUNT]; // HESSIAN
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    double t_colsumsq, t_hess[CPR_CAPTURE_SITE_COUNT];
};

static enum cpr_status capture(void *user, const struct cpr_capture *cap, struct cpr_err *err) {
    struct hook_ctx *c = user;
    double t0 = cpr_bench_now();
    if (c->wst[cap->site].n_cols)
        CPR_TRY(cpr_site_stats_add_capture(&c->wst[cap->site], cap, c->pool, c->k, err));
    double t1 = cpr_bench_now();
    if (c->hst[cap->site].n_cols)
        CPR_TRY(cpr_site_stats_add_capture(&c->hst[cap->site], cap, c->pool, c->k, err));
    double t2 = cpr_bench_now();
    c->t_colsumsq += t1 - t0;
    c->t_hess[cap->site] += t2 - t1;
    return CPR_OK;
}

// See the file header.
static double sgpt_flops(double rows, size_t n, size_t bs) {
    double nn = (double)n, f = 2.0 * nn * nn * nn / 3.0;
    for (size_t i1 = 0; i1 < n; i1 += bs) {
        size_t i2 = i1 + bs < n ? i1 + bs : n;
        double b = (double)(i2 - i1);
        f += rows * b * (b - 1) + 2.0 * rows * b * (double)(n - i2);
    }
    return f;
}

struct gemm_ctx {
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    const float *x, *w;
    float *y;
};

static void gemm_run(void *vctx) {
    struct gemm_ctx *g = vctx;
    cpr_gemm_f32_mt(g->pool, g->k, GEMM_N, GEMM_N, GEMM_N, 1.0f, g->x, GEMM_N, g->w, GEMM_N, 0.0f,
                    g->y, GEMM_N);
}

// ---- Wanda with a per-row sort (the official selection) ----
struct scored {
    float s;
    uint32_t i;
};

// (score, index) order; the index breaks ties, so the order is total.
static inline int sc_less(struct scored a, struct scored b) {
    return a.s < b.s || (a.s == b.s && a.i < b.i);
}

static void sc_sift(struct scored *a, size_t n, size_t i) {
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && sc_less(a[c], a[c + 1])) c++;
        if (!sc_less(a[i], a[c])) return;
        struct scored t = a[i];
        a[i] = a[c], a[c] = t, i = c;
    }
}

// Introsort (what std::sort, and so torch's CPU sort, runs): quicksort with
// a median-of-3 pivot, insertion sort below 16 elements, heapsort when the
// depth budget (2 log2 n) runs out. Comparisons are inlined, not qsort's
// function pointer, so the baseline is not slowed by the C library.
static void sc_sort(struct scored *a, size_t n, int depth) {
    while (n > 16) {
        if (depth-- == 0) {
            for (size_t i = n / 2; i-- > 0;) sc_sift(a, n, i);
            for (size_t e = n - 1; e > 0; e--) {
                struct scored t = a[0];
                a[0] = a[e], a[e] = t;
                sc_sift(a, e, 0);
            }
            return;
        }
        size_t m = n / 2;
        struct scored x = a[0], y = a[m], z = a[n - 1], p;
        p = sc_less(x, y) ? (sc_less(y, z) ? y : sc_less(x, z) ? z : x)
                          : (sc_less(x, z) ? x : sc_less(y, z) ? z : y);
        size_t i = 0, j = n - 1;
        for (;;) { // Hoare partition around the value p
            while (sc_less(a[i], p)) i++;
            while (sc_less(p, a[j])) j--;
            if (i >= j) break;
            struct scored t = a[i];
            a[i] = a[j], a[j] = t;
            i++, j--;
        }
        // a[0, j] <= p <= a[j+1, n): recurse on the smaller side
        if (j + 1 < n - j - 1) {
            sc_sort(a, j + 1, depth);
            a += j + 1, n -= j + 1;
        } else {
            sc_sort(a + j + 1, n - j - 1, depth);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        struct scored v = a[i];
        size_t j = i;
        for (; j > 0 && sc_less(v, a[j - 1]); j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

struct sort_ctx {
    float *w;
    size_t rows, cols, n_prune;
    const float *scaler_row;
    struct scored *buf; // nth x cols
    size_t pruned[64];  // per thread
    int unsorted;       // set if a row came out unsorted (a bug)
};

static void sort_worker(void *vctx, size_t ith, size_t nth) {
    struct sort_ctx *c = vctx;
    size_t r0, r1, n = 0;
    cpr_pool_split(c->rows, ith, nth, 1, &r0, &r1);
    struct scored *b = c->buf + ith * c->cols;
    for (size_t r = r0; r < r1; r++) {
        float *w = c->w + r * c->cols;
        for (size_t j = 0; j < c->cols; j++)
            b[j] = (struct scored){fabsf(w[j]) * sqrtf(c->scaler_row[j]), (uint32_t)j};
        int depth = 0;
        for (size_t n = c->cols; n > 1; n >>= 1) depth += 2;
        sc_sort(b, c->cols, depth);
        for (size_t j = 1; j < c->cols; j++) // the sort is part of the test
            if (sc_less(b[j], b[j - 1])) c->unsorted = 1;
        for (size_t j = 0; j < c->n_prune; j++) w[b[j].i] = 0.0f;
        n += c->n_prune;
    }
    c->pruned[ith] = n;
}

int main(int argc, char **argv) {
    int64_t n_seq = argc > 1 ? atoll(argv[1]) : 16, seqlen = argc > 2 ? atoll(argv[2]) : 2048;
    const char *only = argc > 3 ? argv[3] : "magnitude,wanda,sparsegpt,swiftprune";
    if (n_seq < 1) n_seq = 16;
    if (seqlen < 2 || seqlen > 2048) seqlen = 2048;
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, 2, &err) != CPR_OK) return die("pool", &err);
    const struct cpr_kernels *k = cpr_kernels_get();
    const char *isa = cpr_isa_name(cpr_kernels_isa());
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "prune", 2);
    char note[160], shape[96];

    double load0 = loadavg();
    double peak0 = cpr_bench_peak_gflops(pool, cpr_kernels_isa());

    // ---- model and calibration tokens ----
    struct cpr_synth_spec spec = {
        .arch = CPR_ARCH_LLAMA, .hidden = HIDDEN, .intermediate = INTER, .n_layers = 1,
        .n_heads = HEADS, .n_kv_heads = HEADS, .vocab = VOCAB, .context = 2048,
        .dtype = CPR_DTYPE_F32, .seed = 7, .rope_theta = 10000, .bos_id = 1, .eos_id = 2,
    };
    struct cpr_model model;
    memset(&model, 0, sizeof model);
    if (cpr_synth_model(&model, &spec, &err) != CPR_OK) return die("synth", &err);
    size_t n_tok = (size_t)(n_seq * seqlen);
    int32_t *tokens = malloc(n_tok * sizeof *tokens);
    if (!tokens) return die("tokens", NULL);
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 2048);
    for (size_t i = 0; i < n_tok; i++) tokens[i] = (int32_t)cpr_rng_below(&rng, VOCAB);

    // ---- statistics accumulators ----
    static const size_t site_cols[CPR_CAPTURE_SITE_COUNT] = {HIDDEN, HIDDEN, HIDDEN, INTER};
    struct hook_ctx hc;
    memset(&hc, 0, sizeof hc);
    hc.pool = pool;
    hc.k = k;
    // Only the statistics of the methods asked for (a zeroed struct = off).
    int want_w = strstr(only, "wanda") || strstr(only, "swiftprune"), want_h = strstr(only, "sparsegpt") != NULL;
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) {
        if ((want_w && cpr_site_stats_init(&hc.wst[s], site_cols[s], CPR_NEED_COLSUMSQ, 0,
                                           &err) != CPR_OK) ||
            (want_h && cpr_site_stats_init(&hc.hst[s], site_cols[s], CPR_NEED_HESSIAN, 0,
                                           &err) != CPR_OK))
            return die("stats init", &err);
    }

    // ---- forward with captures, CHUNK_SEQ windows at a time ----
    int64_t chunk = n_seq < CHUNK_SEQ ? n_seq : CHUNK_SEQ;
    struct cpr_forward fw;
    memset(&fw, 0, sizeof fw);
    if (cpr_forward_init(&fw, &model, k, pool, chunk, seqlen, &err) != CPR_OK)
        return die("forward init", &err);
    struct cpr_block_hook hook = {capture, &hc, 0};
    double t_block = 0;
    for (int64_t s0 = 0; s0 < n_seq; s0 += chunk) {
        int64_t ns = n_seq - s0 < chunk ? n_seq - s0 : chunk;
        double t0 = cpr_bench_now();
        if (cpr_forward_embed(&fw, tokens + s0 * seqlen, ns, seqlen, fw.hidden, &err) != CPR_OK ||
            cpr_forward_block(&fw, 0, fw.hidden, ns, seqlen, &hook, &err) != CPR_OK)
            return die("forward", &err);
        t_block += cpr_bench_now() - t0;
    }
    cpr_forward_free(&fw);
    double t_hess = 0;
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) t_hess += hc.t_hess[s];
    double t_fwd = t_block - hc.t_colsumsq - t_hess;
    double load_fwd = loadavg();

    int64_t lin_params = cpr_model_linear_params(&model);
    double fwd_flops = 2.0 * (double)n_tok * (double)lin_params +
                       2.0 * (double)seqlen * (double)seqlen * (double)(HEADS * (HIDDEN / HEADS)) *
                           (double)n_seq;
    snprintf(shape, sizeof shape, "1 layer, %lld x %lld tok", (long long)n_seq, (long long)seqlen);
    snprintf(note, sizeof note, "embed + block, hooks excluded; %lld windows per call; load %.2f",
             (long long)chunk, load_fwd);
    cpr_bench_row(&rep, "forward", isa, shape, 2, t_fwd, fwd_flops / t_fwd * 1e-9, -1, -1, note);

    double col_total = 0;
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) col_total += (double)site_cols[s];
    snprintf(note, sizeof note, "colsumsq at the 4 sites (%.0f columns in all), GB/s of x read",
             col_total);
    if (want_w)
        cpr_bench_row(&rep, "stats_wanda", isa, shape, 2, hc.t_colsumsq, -1,
                      (double)n_tok * col_total * 4 / hc.t_colsumsq * 1e-9, -1, note);

    // ---- GEMM reference rate (scratch: the Hessian copy buffer) ----
    size_t hmax = (size_t)INTER * INTER;
    float *hbuf = malloc(hmax * sizeof *hbuf);
    float *sr = malloc(INTER * sizeof *sr);
    if (!hbuf || !sr) return die("hessian copy buffer", NULL);
    // Fault it in so hcopy times the copy only (a non-zero fill: GCC turns
    // malloc + memset(0) into calloc, which touches nothing).
    memset(hbuf, 1, hmax * sizeof *hbuf);
    for (size_t i = 0; i < (size_t)2 * GEMM_N * GEMM_N; i++) hbuf[i] = (float)(i % 61) * 0.01f;
    struct gemm_ctx gc = {pool, k, hbuf, (const float *)model.layers[0].wq.data,
                          hbuf + (size_t)GEMM_N * GEMM_N};
    double t_gemm = cpr_bench_time(gemm_run, &gc, 1.0, 3);
    double gemm_gf = 2.0 * GEMM_N * (double)GEMM_N * GEMM_N / t_gemm * 1e-9;
    snprintf(shape, sizeof shape, "M=N=K=%d", GEMM_N);
    cpr_bench_row(&rep, "gemm_f32", isa, shape, 2, t_gemm, gemm_gf, -1, -1,
                  "cpr_gemm_f32_mt, best of >= 3: the reference rate");

    double syrk_fl = 0;
    for (int s = 0; want_h && s < CPR_CAPTURE_SITE_COUNT; s++) {
        double fl = 2.0 * (double)n_tok * (double)site_cols[s] * (double)site_cols[s];
        syrk_fl += fl;
        snprintf(shape, sizeof shape, "n=%zu tokens=%zu", site_cols[s], n_tok);
        snprintf(note, sizeof note, "site %s: cpr_syrk, 2*T*n^2 flops; ratio vs gemm_f32",
                 cpr_capture_site_name((enum cpr_capture_site)s));
        cpr_bench_row(&rep, "stats_hessian_site", isa, shape, 2, hc.t_hess[s],
                      fl / hc.t_hess[s] * 1e-9, -1, fl / hc.t_hess[s] * 1e-9 / gemm_gf, note);
    }
    snprintf(shape, sizeof shape, "4 sites, %zu tokens", n_tok);
    if (want_h)
        cpr_bench_row(&rep, "stats_sparsegpt", isa, shape, 2, t_hess, syrk_fl / t_hess * 1e-9, -1,
                      syrk_fl / t_hess * 1e-9 / gemm_gf,
                      "raw f32 Hessians (all n^2 entries); ratio vs gemm_f32");

    // ---- pruning ----
    // Original weights, restored before each matrix (untimed).
    float *orig[CPR_LINEAR_COUNT];
    for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
        struct cpr_tensor *t = cpr_model_linear(&model, 0, (enum cpr_linear)j);
        orig[j] = malloc(cpr_tensor_nbytes(t));
        if (!orig[j]) return die("weight copies", NULL);
        memcpy(orig[j], t->data, cpr_tensor_nbytes(t));
    }
    // swiftprune twice: defaults (the EWMA threshold), then exact=1.
    static const char *const methods[] = {"magnitude", "wanda", "sparsegpt", "swiftprune",
                                          "swiftprune"};
    static const char *const mopts[] = {"", "", "", "", "exact=1"};
    static const char *const knames[] = {"magnitude_prune", "wanda_prune", "sparsegpt_prune",
                                         "swiftprune_prune", "swiftprune_exact"};
    double t50[5] = {-1, -1, -1, -1, -1}; // prune seconds at 50%, per entry
    static const struct cpr_prune_target targets[] = {{0.5, 0, 0}, {0.0, 2, 4}};
    static const char *const tnames[] = {"50%", "2:4"};
    double wanda_prune[2] = {-1, -1};
    for (size_t mi = 0; mi < 5; mi++) {
        if (!strstr(only, methods[mi])) continue;
        const struct cpr_method *me = cpr_method_find(methods[mi]);
        void *st = NULL;
        if (!me || me->init(&st, &err) != CPR_OK || me->parse_opts(st, mopts[mi], &err) != CPR_OK)
            return die(methods[mi], &err);
        int sgpt = !strcmp(methods[mi], "sparsegpt");
        for (size_t ti = 0; ti < 2; ti++) {
            double t_prune = 0, t_fin = 0, flops = 0, zeros = 0, numel = 0, hbytes = 0;
            for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
                struct cpr_tensor *t = cpr_model_linear(&model, 0, (enum cpr_linear)j);
                size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
                memcpy(t->data, orig[j], rows * cols * sizeof(float));
                enum cpr_capture_site site = cpr_capture_site_of((enum cpr_linear)j);
                struct cpr_linear_stats ls;
                memset(&ls, 0, sizeof ls);
                double t0 = cpr_bench_now();
                if (me->needs & CPR_NEED_COLSUMSQ)
                    if (cpr_site_stats_finish(&hc.wst[site], sr, NULL, NULL, NULL, &ls, &err))
                        return die("finish", &err);
                if (me->needs & CPR_NEED_HESSIAN)
                    if (cpr_site_stats_finish(&hc.hst[site], NULL, hbuf, NULL, NULL, &ls, &err))
                        return die("finish", &err);
                double t1 = cpr_bench_now();
                struct cpr_matrix mat = {cpr_linear_name((enum cpr_linear)j), t->data, rows, cols,
                                         cols, CPR_MATRIX_GROUP_UNKNOWN};
                if (me->prune_matrix(st, &mat, &ls, &targets[ti], NULL, pool, k, &err) != CPR_OK)
                    return die(methods[mi], &err);
                double t2 = cpr_bench_now();
                t_fin += t1 - t0;
                t_prune += t2 - t1;
                zeros += (double)k->count_zeros_f32(rows * cols, t->data);
                numel += (double)(rows * cols);
                if (sgpt) {
                    double fl = sgpt_flops((double)rows, cols, 128);
                    hbytes += 8.0 * (double)cols * (double)cols;
                    flops += fl;
                    snprintf(shape, sizeof shape, "%s %zux%zu %s", mat.name, rows, cols, tnames[ti]);
                    snprintf(note, sizeof note, "est. %.0f GFLOP; ratio vs gemm_f32", fl * 1e-9);
                    cpr_bench_row(&rep, "sparsegpt_matrix", isa, shape, 2, t2 - t1,
                                  fl / (t2 - t1) * 1e-9, -1, fl / (t2 - t1) * 1e-9 / gemm_gf, note);
                }
            }
            snprintf(shape, sizeof shape, "7 linears, %s", tnames[ti]);
            const char *kname = knames[mi];
            if (ti == 0) t50[mi] = sgpt ? t_prune : t_prune + t_fin;
            if (sgpt) {
                snprintf(note, sizeof note, "sparsity %.4f; est. %.0f GFLOP; ratio vs gemm_f32 "
                         "%.0f GF/s; target < 30 s: %s", zeros / numel, flops * 1e-9, gemm_gf,
                         t_prune < 30 ? "met" : "MISSED");
                cpr_bench_row(&rep, kname, isa, shape, 2, t_prune, flops / t_prune * 1e-9, -1,
                              flops / t_prune * 1e-9 / gemm_gf, note);
                cpr_bench_row(&rep, "sparsegpt_hcopy", isa, shape, 2, t_fin, -1,
                              hbytes / t_fin * 1e-9, -1,
                              "fresh H per linear (cpr_site_stats_finish, 1 thread), "
                              "not in prune time; GB/s read + written");
            } else {
                if (mi == 1) wanda_prune[ti] = t_prune + t_fin;
                snprintf(note, sizeof note, "sparsity %.6f%s", zeros / numel,
                         mi != 0 ? "; incl. scaler_row finish" : "");
                cpr_bench_row(&rep, kname, isa, shape, 2, t_prune + t_fin, -1, -1, -1, note);
            }
        }
        me->free(st);
    }
    for (size_t ti = 0; ti < 2; ti++)
        if (wanda_prune[ti] >= 0) {
            double tot = hc.t_colsumsq + wanda_prune[ti];
            snprintf(shape, sizeof shape, "7 linears, %s", tnames[ti]);
            snprintf(note, sizeof note, "stats_wanda + finish + prune; target < 1 s: %s",
                     tot < 1.0 ? "met" : "MISSED");
            cpr_bench_row(&rep, "wanda_total", isa, shape, 2, tot, -1, -1, -1, note);
        }

    // ---- Wanda with a per-row sort, 50% (the official selection) ----
    double t_sort = -1;
    if (strstr(only, "wanda") || strstr(only, "swiftprune")) {
        struct sort_ctx sc;
        memset(&sc, 0, sizeof sc);
        size_t nth = cpr_pool_size(pool);
        sc.buf = malloc(nth * INTER * sizeof *sc.buf);
        if (!sc.buf || nth > 64) return die("sort buffer", NULL);
        double zeros = 0, numel = 0;
        t_sort = 0;
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            struct cpr_tensor *t = cpr_model_linear(&model, 0, (enum cpr_linear)j);
            size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
            memcpy(t->data, orig[j], rows * cols * sizeof(float));
            enum cpr_capture_site site = cpr_capture_site_of((enum cpr_linear)j);
            struct cpr_linear_stats ls;
            memset(&ls, 0, sizeof ls);
            double t0 = cpr_bench_now();
            if (cpr_site_stats_finish(&hc.wst[site], sr, NULL, NULL, NULL, &ls, &err))
                return die("finish", &err);
            sc.w = t->data, sc.rows = rows, sc.cols = cols, sc.scaler_row = sr;
            sc.n_prune = (size_t)((double)cols * 0.5);
            cpr_pool_run(pool, sort_worker, &sc);
            t_sort += cpr_bench_now() - t0;
            zeros += (double)k->count_zeros_f32(rows * cols, t->data);
            numel += (double)(rows * cols);
        }
        free(sc.buf);
        if (sc.unsorted) return die("wanda_sort: a row came out unsorted", NULL);
        snprintf(note, sizeof note, "sparsity %.6f; per-row introsort of (score, index), "
                 "incl. scaler_row finish", zeros / numel);
        cpr_bench_row(&rep, "wanda_sort", isa, "7 linears, 50%", 2, t_sort, -1, -1, -1, note);
    }
    for (size_t mi = 3; mi < 5; mi++) {
        if (t50[mi] <= 0) continue;
        char kn[48];
        snprintf(kn, sizeof kn, "%s_vs", mi == 3 ? "swiftprune" : "swiftprune_exact");
        if (t_sort > 0) {
            snprintf(note, sizeof note, "wanda_sort / %s = %.2f (target > 1: %s)", knames[mi],
                     t_sort / t50[mi], t_sort > t50[mi] ? "met" : "MISSED");
            cpr_bench_row(&rep, kn, isa, "vs wanda_sort, 50%", 2, -1, -1, -1,
                          t_sort / t50[mi], note);
        }
        if (t50[1] > 0) {
            snprintf(note, sizeof note, "wanda_prune (select, no sort) / %s = %.2f", knames[mi],
                     t50[1] / t50[mi]);
            cpr_bench_row(&rep, kn, isa, "vs wanda_prune, 50%", 2, -1, -1, -1,
                          t50[1] / t50[mi], note);
        }
        if (t50[2] > 0) {
            snprintf(note, sizeof note, "sparsegpt_prune / %s = %.1f (target >= 10: %s)",
                     knames[mi], t50[2] / t50[mi], t50[2] >= 10 * t50[mi] ? "met" : "MISSED");
            cpr_bench_row(&rep, kn, isa, "vs sparsegpt_prune, 50%", 2, -1, -1, -1,
                          t50[2] / t50[mi], note);
        }
    }

    // ---- machine ----
    double peak1 = cpr_bench_peak_gflops(pool, cpr_kernels_isa());
    double load1 = loadavg();
    int contended = peak1 < 0.85 * peak0;
    snprintf(note, sizeof note, "%sloadavg start %.2f, after forward %.2f, end %.2f",
             contended ? "CONTENDED (end peak < 85% of start); " : "", load0, load_fwd, load1);
    cpr_bench_row(&rep, "peak_fma", isa, "start", 2, -1, peak0, -1, -1, note);
    cpr_bench_row(&rep, "peak_fma", isa, "end", 2, -1, peak1, -1, -1, note);
    snprintf(note, sizeof note, "peak RSS %.2f GiB (getrusage); weights %.2f GiB + a copy, "
             "Hessians %.2f GiB + one copy", peak_rss_gib(), (double)lin_params * 4 / 1073741824.0,
             (3.0 * HIDDEN * HIDDEN + (double)INTER * INTER) * 4 / 1073741824.0);
    cpr_bench_row(&rep, "peak_rss", "-", "-", 2, -1, -1, -1, -1, note);

    for (int j = 0; j < CPR_LINEAR_COUNT; j++) free(orig[j]);
    for (int s = 0; s < CPR_CAPTURE_SITE_COUNT; s++) {
        cpr_site_stats_free(&hc.wst[s]);
        cpr_site_stats_free(&hc.hst[s]);
    }
    free(hbuf);
    free(sr);
    free(tokens);
    cpr_model_free(&model);
    cpr_pool_free(pool);
    return cpr_bench_report_close(&rep) ? 1 : 0;
}
