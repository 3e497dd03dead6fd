// bench/bench_decode_kern.c: the two kernels issue 16 added for decode and
// for building compressed models, one thread each.
//
//   gemv_bf16 m=1/2/4  y = x W^T with a LLaMA-7B MLP weight (W 11008 x 4096
//                      bf16, 90 MB: far larger than the caches), per ISA
//                      table: the m <= 4 paths (simd/gemv_avx2.c,
//                      simd/gemv_neon.c, the AVX-512 / AVX512-BF16 small
//                      paths). GB/s = weight bytes / second; ratio = tokens
//                      per second against this ISA's m = 1 (m tokens cost
//                      ~1 W read: the ratio approaches m when W streaming
//                      dominates).
//   compress           cpr_sparse_compress on a 4096 x 11008 bf16 weight:
//                      nm (2:4), auto on 2:4 (scans for misfits and counts
//                      nonzeros first), bitmask at 50% (random pattern),
//                      in ns per weight (the seconds column is per call).
// Best of several calls (at least 5 and 1 s of wall time), as wall time
// and as this thread's CPU time: on a shared machine the CPU time is the
// steadier figure (it excludes time the thread waited for a core); the
// ratio column of the compress rows is ns per weight of CPU time.
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

int main(void) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++)
        if (cpr_isa_best((enum cpr_isa)lv) == (enum cpr_isa)lv)
            isas[nt] = cpr_kernels_build(&tabs[nt], (enum cpr_isa)lv), nt++;
    size_t nw = (size_t)N * K;
    uint16_t *w = malloc(nw * sizeof *w);
    uint16_t *w24 = malloc(nw * sizeof *w24), *w50 = malloc(nw * sizeof *w50);
    float *wf = malloc(nw * sizeof *wf);
    float *x = malloc((size_t)MMAX * K * sizeof *x), *y = malloc((size_t)MMAX * N * sizeof *y);
    if (!w || !w24 || !w50 || !wf || !x || !y) {
        fprintf(stderr, "bench_decode_kern: out of memory\n");
        return 1;
    }
    struct cpr_rng r;
    cpr_rng_seed(&r, 5);
    for (size_t i = 0; i < nw; i++) wf[i] = 0.02f * (float)cpr_rng_normal(&r);
    for (size_t i = 0; i < (size_t)MMAX * K; i++) x[i] = (float)cpr_rng_normal(&r);
    tabs[0].f32_to_bf16(nw, wf, w);
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
    int rc = 0;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
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
    free(w), free(w24), free(w50), free(wf), free(x), free(y);
    return rc ? 1 : 0;
}
