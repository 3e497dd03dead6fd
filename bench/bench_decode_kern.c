// bench/bench_decode_kern.c: the kernels issue 16 added for decode and for
// building compressed models, and decode attention, one thread each.
//
//   gemv_bf16 m=1/2/4  y = x W^T with a LLaMA-7B MLP weight (W 11008 x 4096
//                      bf16, 90 MB: far larger than the caches), per ISA
//                      table: the m <= 4 paths (simd/gemv_avx2.c,
//                      simd/gemv_neon.c, the AVX-512 / AVX512-BF16 small
//                      paths). GB/s = weight bytes / second; ratio = tokens
//                      per second against this ISA's m = 1 (m tokens cost
//                      ~1 W read: the ratio approaches m when W streaming
//                      dominates).
//   spmv               the compressed decode kernels (slots spmv_*_bf16,
//                      simd/spmv_*.c) on the up/gate shape 11008 x 4096
//                      and the down shape 4096 x 11008, bf16 values:
//                      bitmask at 50% and 70% (random pattern), 2:4; with
//                      the dense bf16 m = 1 product on the same matrix as
//                      the baseline (row "gemv_bf16 dense"). GB/s = bytes
//                      the kernel streams (values + meta) / second; ratio =
//                      that over the one-thread stream read bandwidth (the
//                      ceiling, measured first); note: speedup vs dense
//                      by wall time and by CPU time (on a loaded machine
//                      the CPU-time ratio is the steadier one).
//   compress           cpr_sparse_compress on a 4096 x 11008 bf16 weight:
//                      nm (2:4), auto on 2:4 (scans for misfits and counts
//                      nonzeros first), bitmask at 50% (random pattern),
//                      in ns per weight (the seconds column is per call).
//   attn               decode attention at context ATT_CTX (LLaMA-7B
//                      shapes: 32 heads of 128, f32 KV cache) over
//                      ATT_LAYERS layers' caches (134 MB, far larger than
//                      the caches), as core/decode.c's attn_worker does it
//                      for one token: per head the score GEMV
//                      (gemm_f32 m = 1 over the head's keys), softmax, and
//                      o = S V either as one axpy_f32 per cached row (the
//                      old loop) or one axpy_rows_f32 call. Rows: the
//                      scores alone, S V alone (loop / rows), and the whole
//                      step (loop / rows). GB/s = K and/or V bytes read /
//                      second; ratio = that over the one-thread stream
//                      read bandwidth; note: rows vs loop by wall and CPU
//                      time. Written to bench/results/decode_attn.json.
// Best of several calls (at least 5 and 1 s of wall time), as wall time
// and as this thread's CPU time: on a shared machine the CPU time is the
// steadier figure (it excludes time the thread waited for a core); the
// ratio column of the compress rows is ns per weight of CPU time.
// Env: CPRUNE_BENCH_KERN=gemv,spmv,attn,compress (default all) picks the
// groups; CPRUNE_BENCH_ISA=NAME keeps one ISA table (spmv skips scalar
// unless asked for by name).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/rng.h"
#include "core/weight.h"
#include "simd/kernels.h"

enum { N = 11008, K = 4096, MMAX = 4 };

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best wall and CPU seconds of one call (after one warm-up call).
static void time_best(void (*fn)(void *), void *ctx, double *wall, double *cpu) {
    fn(ctx);
    *wall = *cpu = 1e300;
    double start = cpr_bench_now();
    for (int i = 0; i < 5 || cpr_bench_now() - start < 1.0; i++) {
        double w0 = cpr_bench_now(), c0 = cpu_now();
        fn(ctx);
        double c = cpu_now() - c0, w = cpr_bench_now() - w0;
        if (w < *wall) *wall = w;
        if (c < *cpu) *cpu = c;
    }
}

struct gctx {
    const struct cpr_kernels *k;
    size_t m;
    const float *x;
    const uint16_t *w;
    float *y;
};

static void run_gemv(void *p) {
    struct gctx *c = p;
    c->k->gemm_bf16w(c->m, N, K, 1.0f, c->x, K, c->w, K, 0.0f, c->y, N);
}

struct cctx {
    struct cpr_tensor *w;
    enum cpr_wlayout l;
    int failed;
};

static void run_compress(void *p) {
    struct cctx *c = p;
    struct cpr_tensor out;
    struct cpr_err err = {0};
    if (cpr_sparse_compress(c->w, c->l, "w", &out, &err) != CPR_OK) c->failed = 1;
    cpr_tensor_free(&out);
}

struct sctx {
    cpr_spmv_fn fn;
    const struct cpr_sparse *s;
    const float *x;
    float *y;
};

static void run_spmv(void *p) {
    struct sctx *c = p;
    c->fn((size_t)c->s->n_rows, (size_t)c->s->n_cols, c->s->meta,
          (size_t)c->s->meta_ld, c->s->values, c->x, 0.0f, c->y);
}

struct dctx {
    const struct cpr_kernels *k;
    size_t n, kk;
    const float *x;
    const uint16_t *w;
    float *y;
};

static void run_dense(void *p) {
    struct dctx *c = p;
    c->k->gemm_bf16w(1, c->n, c->kk, 1.0f, c->x, c->kk, c->w, c->kk, 0.0f, c->y, c->n);
}

// ---- decode attention ----
enum { ATT_CTX = 512, ATT_HEADS = 32, ATT_HD = 128, ATT_LAYERS = 8 };
enum att_op { ATT_SCORES, ATT_AV_LOOP, ATT_AV_ROWS, ATT_STEP_LOOP, ATT_STEP_ROWS };

struct actx {
    const struct cpr_kernels *k;
    enum att_op op;
    const float *q, *kc, *vc; // q (heads, hd); caches (layers, heads, ctx, hd)
    float *s, *o;             // s (ctx), o (heads, hd)
};

static void run_attn(void *p) {
    struct actx *c = p;
    const struct cpr_kernels *k = c->k;
    const size_t hs = (size_t)ATT_CTX * ATT_HD;
    const float scale = 0.08838834764831845f; // 1/sqrt(128)
    for (size_t l = 0; l < ATT_LAYERS; l++)
        for (size_t h = 0; h < ATT_HEADS; h++) {
            const float *K = c->kc + (l * ATT_HEADS + h) * hs;
            const float *V = c->vc + (l * ATT_HEADS + h) * hs;
            const float *q = c->q + h * ATT_HD;
            float *o = c->o + h * ATT_HD;
            int step = c->op == ATT_STEP_LOOP || c->op == ATT_STEP_ROWS;
            if (c->op == ATT_SCORES || step) {
                k->gemm_f32(1, ATT_CTX, ATT_HD, scale, q, ATT_HD, K, ATT_HD, 0.0f,
                            c->s, ATT_CTX);
                if (step) k->softmax_f32(ATT_CTX, c->s, c->s);
            }
            if (c->op == ATT_SCORES) continue;
            memset(o, 0, ATT_HD * sizeof(float));
            if (c->op == ATT_AV_ROWS || c->op == ATT_STEP_ROWS)
                k->axpy_rows_f32(ATT_HD, ATT_CTX, c->s, V, ATT_HD, o);
            else
                for (size_t t = 0; t < ATT_CTX; t++)
                    k->axpy_f32(ATT_HD, c->s[t], V + t * ATT_HD, o);
        }
}

// The attn rows (see the header) into their own report.
static int bench_attn(const struct cpr_kernels *tabs, const enum cpr_isa *isas,
                      size_t nt, struct cpr_rng *r) {
    size_t nc = (size_t)ATT_LAYERS * ATT_HEADS * ATT_CTX * ATT_HD;
    float *kc = malloc(nc * sizeof *kc), *vc = malloc(nc * sizeof *vc);
    float *q = malloc(ATT_HEADS * ATT_HD * sizeof *q);
    float *s = malloc(ATT_CTX * sizeof *s), *o = malloc(ATT_HEADS * ATT_HD * sizeof *o);
    if (!kc || !vc || !q || !s || !o) {
        fprintf(stderr, "bench_decode_kern: out of memory (attn)\n");
        free(kc), free(vc), free(q), free(s), free(o);
        return 1;
    }
    for (size_t i = 0; i < nc; i++) kc[i] = (float)cpr_rng_normal(r);
    for (size_t i = 0; i < nc; i++) vc[i] = (float)cpr_rng_normal(r);
    for (size_t i = 0; i < ATT_HEADS * ATT_HD; i++) q[i] = (float)cpr_rng_normal(r);
    // the S V rows alone use a fixed softmax-like row
    for (size_t t = 0; t < ATT_CTX; t++) s[t] = 1.0f / (float)(t + 1);
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "decode_attn", 1);
    double ceil_gbps = cpr_bench_stream_gbps(NULL);
    cpr_bench_row(&rep, "stream read", "-", "1 GiB f32 sum", 1, -1, -1, ceil_gbps, 1,
                  "the ceiling of the rows below (best of 4)");
    static const struct { const char *name; enum att_op op; int nbuf; } ops[] = {
        {"attn scores (gemm m=1)", ATT_SCORES, 1},
        {"attn S V axpy loop", ATT_AV_LOOP, 1},
        {"attn S V axpy_rows", ATT_AV_ROWS, 1},
        {"attn step axpy loop", ATT_STEP_LOOP, 2},
        {"attn step axpy_rows", ATT_STEP_ROWS, 2},
    };
    char shape[64], note[200];
    snprintf(shape, sizeof shape, "%dL x %dh ctx=%d hd=%d", ATT_LAYERS, ATT_HEADS, ATT_CTX,
             ATT_HD);
    size_t slot = 0;
    while (cpr_kernel_slot_names[slot] && strcmp(cpr_kernel_slot_names[slot], "axpy_rows_f32"))
        slot++;
    for (size_t ti = 0; ti < nt; ti++) {
        if (isas[ti] == CPR_ISA_SCALAR && !getenv("CPRUNE_BENCH_ISA")) continue;
        if (ti > 0 && tabs[ti].slot_isa[slot] != isas[ti]) continue; // reused kernel
        double tw[5], tc[5];
        for (size_t oi = 0; oi < 5; oi++) {
            struct actx c = {&tabs[ti], ops[oi].op, q, kc, vc, s, o};
            time_best(run_attn, &c, &tw[oi], &tc[oi]);
        }
        for (size_t oi = 0; oi < 5; oi++) {
            double gb = (double)ops[oi].nbuf * (double)nc * 4 * 1e-9;
            if (ops[oi].op == ATT_AV_ROWS || ops[oi].op == ATT_STEP_ROWS)
                snprintf(note, sizeof note, "%.2fx the axpy loop by wall time, %.2fx by "
                         "CPU time (%.4f s); %.3f ms per layer",
                         tw[oi - 1] / tw[oi], tc[oi - 1] / tc[oi], tc[oi],
                         tw[oi] / ATT_LAYERS * 1e3);
            else
                snprintf(note, sizeof note, "CPU time %.4f s; %.3f ms per layer", tc[oi],
                         tw[oi] / ATT_LAYERS * 1e3);
            cpr_bench_row(&rep, ops[oi].name, cpr_isa_name(isas[ti]), shape, 1, tw[oi],
                          -1, gb / tw[oi], gb / tw[oi] / ceil_gbps, note);
        }
    }
    free(kc), free(vc), free(q), free(s), free(o);
    return cpr_bench_report_close(&rep);
}

static int want(const char *env, const char *item) {
    const char *v = getenv(env);
    if (!v || !*v) return 1;
    size_t n = strlen(item);
    for (const char *p = v; (p = strstr(p, item)) != NULL; p += n)
        if ((p == v || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

// The spmv rows for one shape (n x kk, the dense bf16 w at the same shape).
static int bench_spmv(struct cpr_bench_report *rep, const struct cpr_kernels *tabs,
                      const enum cpr_isa *isas, size_t nt, size_t n, size_t kk,
                      uint16_t *w, const float *x, float *y, double ceil_gbps,
                      struct cpr_rng *r) {
    size_t nw = n * kk;
    uint16_t *ws = malloc(nw * sizeof *ws);
    if (!ws) return 1;
    static const struct { const char *name; enum cpr_wlayout l; int keep; } pat[] = {
        {"spmv bitmask 50%", CPR_WLAYOUT_BITMASK, 50},
        {"spmv nm 2:4", CPR_WLAYOUT_NM24, -1},
        {"spmv bitmask 70%", CPR_WLAYOUT_BITMASK, 30},
    };
    struct cpr_tensor sp[3];
    int64_t shp[2] = {(int64_t)n, (int64_t)kk};
    int rc = 0;
    for (size_t pi = 0; pi < 3; pi++) {
        if (pat[pi].keep < 0) {
            for (size_t g = 0; g < nw / 4; g++) {
                unsigned a = (unsigned)cpr_rng_below(r, 4), b = (unsigned)cpr_rng_below(r, 3);
                if (b >= a) b++;
                for (unsigned i = 0; i < 4; i++)
                    ws[4 * g + i] = i == a || i == b ? w[4 * g + i] : 0;
            }
        } else {
            for (size_t i = 0; i < nw; i++)
                ws[i] = cpr_rng_below(r, 100) < (uint64_t)pat[pi].keep ? w[i] : 0;
        }
        struct cpr_tensor t;
        struct cpr_err err = {0};
        cpr_tensor_wrap(&t, CPR_DTYPE_BF16, ws, 2, shp, 0);
        if (cpr_sparse_compress(&t, pat[pi].l, "w", &sp[pi], &err) != CPR_OK ||
            !sp[pi].sparse) {
            fprintf(stderr, "bench_decode_kern: compress: %s\n", err.msg);
            for (size_t q = 0; q < pi; q++) cpr_tensor_free(&sp[q]);
            free(ws);
            return 1;
        }
    }
    free(ws);
    char shape[64], note[200];
    snprintf(shape, sizeof shape, "%zu x %zu bf16", n, kk);
    for (size_t ti = 0; ti < nt; ti++) {
        if (isas[ti] == CPR_ISA_SCALAR && !getenv("CPRUNE_BENCH_ISA")) continue;
        struct dctx dc = {&tabs[ti], n, kk, x, w, y};
        double td, cd;
        time_best(run_dense, &dc, &td, &cd);
        double gb = (double)nw * 2 * 1e-9;
        snprintf(note, sizeof note, "dense baseline (ratio: of the %.1f GB/s ceiling); "
                 "CPU time %.4f s", ceil_gbps, cd);
        cpr_bench_row(rep, "gemv_bf16 dense", cpr_isa_name(isas[ti]), shape, 1, td,
                      2.0 * (double)nw / td * 1e-9, gb / td, gb / td / ceil_gbps, note);
        for (size_t pi = 0; pi < 3; pi++) {
            const struct cpr_sparse *s = sp[pi].sparse;
            struct sctx c = {s->layout == CPR_WLAYOUT_NM24 ? tabs[ti].spmv_nm24_bf16
                                                           : tabs[ti].spmv_bitmask_bf16,
                             s, x, y};
            double ts, cs;
            time_best(run_spmv, &c, &ts, &cs);
            double bytes = (double)cpr_weight_bytes(&sp[pi]) * 1e-9;
            snprintf(note, sizeof note, "%.2fx dense (bytes allow %.2fx); CPU time %.4f s "
                     "(%.2fx dense)", td / ts, gb / bytes, cs, cd / cs);
            cpr_bench_row(rep, pat[pi].name, cpr_isa_name(isas[ti]), shape, 1, ts,
                          2.0 * (double)s->nnz / ts * 1e-9, bytes / ts,
                          bytes / ts / ceil_gbps, note);
        }
    }
    for (size_t pi = 0; pi < 3; pi++) cpr_tensor_free(&sp[pi]);
    return rc;
}

int main(void) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++)
        if (cpr_isa_best((enum cpr_isa)lv) == (enum cpr_isa)lv &&
            want("CPRUNE_BENCH_ISA", cpr_isa_name((enum cpr_isa)lv)))
            isas[nt] = cpr_kernels_build(&tabs[nt], (enum cpr_isa)lv), nt++;
    size_t nw = (size_t)N * K;
    uint16_t *w = malloc(nw * sizeof *w), *wt = malloc(nw * sizeof *wt);
    uint16_t *w24 = malloc(nw * sizeof *w24), *w50 = malloc(nw * sizeof *w50);
    float *wf = malloc(nw * sizeof *wf);
    float *x = malloc((size_t)MMAX * N * sizeof *x), *y = malloc((size_t)MMAX * N * sizeof *y);
    if (!w || !wt || !w24 || !w50 || !wf || !x || !y) {
        fprintf(stderr, "bench_decode_kern: out of memory\n");
        return 1;
    }
    struct cpr_rng r;
    cpr_rng_seed(&r, 5);
    for (size_t i = 0; i < nw; i++) wf[i] = 0.02f * (float)cpr_rng_normal(&r);
    for (size_t i = 0; i < (size_t)MMAX * N; i++) x[i] = (float)cpr_rng_normal(&r);
    cpr_kernels_get()->f32_to_bf16(nw, wf, w);
    // the down shape (K x N): W transposed
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < K; j++) wt[j * N + i] = w[i * K + j];
    // 2:4: keep 2 random columns of every 4; 50%: each weight kept with p 1/2
    for (size_t g = 0; g < nw / 4; g++) {
        unsigned a = (unsigned)cpr_rng_below(&r, 4), b = (unsigned)cpr_rng_below(&r, 3);
        if (b >= a) b++;
        for (unsigned i = 0; i < 4; i++)
            w24[4 * g + i] = i == a || i == b ? w[4 * g + i] : 0;
    }
    for (size_t i = 0; i < nw; i++) w50[i] = cpr_rng_below(&r, 2) ? w[i] : 0;

    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "decode_kern", 1);
    char shape[64], note[200];
    int rc = 0;
    if (want("CPRUNE_BENCH_KERN", "gemv"))
        for (size_t ti = 0; ti < nt; ti++) {
            double t1 = -1;
            for (size_t m = 1; m <= MMAX; m *= 2) {
                if (isas[ti] == CPR_ISA_SCALAR && m > 1) continue;
                struct gctx c = {&tabs[ti], m, x, w, y};
                double s, cs;
                time_best(run_gemv, &c, &s, &cs);
                if (m == 1) t1 = s;
                snprintf(shape, sizeof shape, "m=%zu N=%d K=%d", m, N, K);
                snprintf(note, sizeof note, "%.1f tokens/s of this weight (m=1: %.1f); "
                         "CPU time %.4f s", (double)m / s, 1 / t1, cs);
                cpr_bench_row(&rep, "gemv_bf16", cpr_isa_name(isas[ti]), shape, 1, s,
                              2.0 * (double)m * N * K / s * 1e-9, (double)nw * 2 / s * 1e-9,
                              (double)m * t1 / s, note);
            }
        }
    if (want("CPRUNE_BENCH_KERN", "spmv")) {
        double ceil_gbps = cpr_bench_stream_gbps(NULL);
        cpr_bench_row(&rep, "stream read", "-", "1 GiB f32 sum", 1, -1, -1, ceil_gbps, 1,
                      "the ceiling of the spmv rows (best of 4)");
        rc |= bench_spmv(&rep, tabs, isas, nt, N, K, w, x, y, ceil_gbps, &r);
        rc |= bench_spmv(&rep, tabs, isas, nt, K, N, wt, x, y, ceil_gbps, &r);
    }
    if (want("CPRUNE_BENCH_KERN", "attn")) rc |= bench_attn(tabs, isas, nt, &r) != 0;
    int64_t shp[2] = {K, N};
    struct cpr_tensor t24, t50;
    cpr_tensor_wrap(&t24, CPR_DTYPE_BF16, w24, 2, shp, 0);
    cpr_tensor_wrap(&t50, CPR_DTYPE_BF16, w50, 2, shp, 0);
    static const struct { const char *name; int which; enum cpr_wlayout l; } cs[] = {
        {"compress nm 2:4", 0, CPR_WLAYOUT_NM24},
        {"compress auto 2:4", 0, CPR_WLAYOUT_AUTO},
        {"compress bitmask 50%", 1, CPR_WLAYOUT_BITMASK},
    };
    const char *isa = cpr_isa_name(cpr_kernels_isa());
    for (size_t i = 0; want("CPRUNE_BENCH_KERN", "compress") && i < sizeof cs / sizeof cs[0]; i++) {
        struct cctx c = {cs[i].which ? &t50 : &t24, cs[i].l, 0};
        double s, cpu;
        time_best(run_compress, &c, &s, &cpu);
        rc |= c.failed;
        snprintf(shape, sizeof shape, "%d x %d bf16", K, N);
        snprintf(note, sizeof note, "%.2f ns per weight of CPU time (ratio "
                 "column), %.2f of wall time", cpu / (double)nw * 1e9,
                 s / (double)nw * 1e9);
        cpr_bench_row(&rep, cs[i].name, isa, shape, 1, s, -1,
                      (double)nw * 2 / s * 1e-9, cpu / (double)nw * 1e9, note);
    }
    rc |= cpr_bench_report_close(&rep);
    free(w), free(wt), free(w24), free(w50), free(wf), free(x), free(y);
    return rc ? 1 : 0;
}
