// bench/bench_util.c: timing, peak microbenchmarks and JSON result files
// (see bench_util.h). Benchmark code only: the peak kernels use per-function
// target attributes, which is fine here because bench/ is not the product
// and the CPU is checked before they run.
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

double cpr_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cpr_bench_time(void (*fn)(void *ctx), void *ctx, double min_seconds,
                      int min_reps) {
    fn(ctx); // warm-up: page faults, caches, pool wake-up
    double best = 1e300, total = 0;
    for (int rep = 0; rep < min_reps || total < min_seconds; rep++) {
        double t0 = cpr_bench_now();
        fn(ctx);
        double dt = cpr_bench_now() - t0;
        total += dt;
        if (dt < best) best = dt;
        if (rep > 100000) break;
    }
    return best;
}

// ---- peak FMA ----
// 12 independent accumulator chains hide the FMA latency (4 cycles on Zen 5
// with 2 FMA pipes needs >= 8). Each iteration does 12 vector FMAs.
#define PEAK_ITERS 20000000L

// The chains are spelled out (not an array) so the compiler keeps all of
// them in registers at -O2.
#define FMA12(F, a, b, c)                                                      \
    a##0 = F(a##0, b, c); a##1 = F(a##1, b, c); a##2 = F(a##2, b, c);          \
    a##3 = F(a##3, b, c); a##4 = F(a##4, b, c); a##5 = F(a##5, b, c);          \
    a##6 = F(a##6, b, c); a##7 = F(a##7, b, c); a##8 = F(a##8, b, c);          \
    a##9 = F(a##9, b, c); a##10 = F(a##10, b, c); a##11 = F(a##11, b, c)

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double peak_avx512(long iters) {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2),
           a3 = _mm512_set1_ps(3), a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
           a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7), a8 = _mm512_set1_ps(8),
           a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long it = 0; it < iters; it++) {
        FMA12(_mm512_fmadd_ps, a, b, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return (double)_mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static double peak_avx2(long iters) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2),
           a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
           a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8),
           a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long it = 0; it < iters; it++) {
        FMA12(_mm256_fmadd_ps, a, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

#if defined(__aarch64__)
static inline float32x4_t fma_neon(float32x4_t a, float32x4_t b,
                                   float32x4_t c) {
    return vfmaq_f32(c, a, b);
}

static double peak_neon(long iters) {
    float32x4_t b = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(1), a2 = vdupq_n_f32(2),
                a3 = vdupq_n_f32(3), a4 = vdupq_n_f32(4), a5 = vdupq_n_f32(5),
                a6 = vdupq_n_f32(6), a7 = vdupq_n_f32(7), a8 = vdupq_n_f32(8),
                a9 = vdupq_n_f32(9), a10 = vdupq_n_f32(10), a11 = vdupq_n_f32(11);
    for (long it = 0; it < iters; it++) {
        FMA12(fma_neon, a, b, c);
    }
    float32x4_t s = vaddq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)),
                              vaddq_f32(vaddq_f32(a4, a5), vaddq_f32(a6, a7)));
    s = vaddq_f32(s, vaddq_f32(vaddq_f32(a8, a9), vaddq_f32(a10, a11)));
    return vaddvq_f32(s);
}
#endif

struct peak_ctx {
    enum cpr_isa isa;
    long iters;
    double lanes;      // floats per vector
    double sink[1024]; // keep results alive
};

static void peak_worker(void *vctx, size_t ith, size_t nth) {
    (void)nth;
    struct peak_ctx *c = vctx;
    double r = 0;
#if defined(__x86_64__)
    if (c->isa >= CPR_ISA_AVX512) r = peak_avx512(c->iters);
    else if (c->isa >= CPR_ISA_AVX2) r = peak_avx2(c->iters);
#elif defined(__aarch64__)
    r = peak_neon(c->iters);
#endif
    c->sink[ith & 1023] = r;
}

double cpr_bench_peak_gflops(struct cpr_pool *pool, enum cpr_isa isa) {
    struct peak_ctx c;
    memset(&c, 0, sizeof c);
    c.isa = cpr_isa_best(isa);
#if defined(__x86_64__)
    if (c.isa >= CPR_ISA_AVX512) c.lanes = 16;
    else if (c.isa >= CPR_ISA_AVX2) c.lanes = 8;
    else return -1;
#elif defined(__aarch64__)
    c.lanes = 4;
#else
    return -1;
#endif
    size_t nth = cpr_pool_size(pool);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        c.iters = PEAK_ITERS / 4;
        double t0 = cpr_bench_now();
        cpr_pool_run(pool, peak_worker, &c);
        double dt = cpr_bench_now() - t0;
        double flops = 2.0 * 12 * c.lanes * (double)c.iters * (double)nth;
        if (flops / dt > best) best = flops / dt;
    }
    return best * 1e-9;
}

// ---- stream (read) bandwidth ----
struct stream_ctx {
    const float *buf;
    size_t n;
    double sink[1024];
};

#if defined(__x86_64__)
__attribute__((target("avx2"))) static double sum_avx2(const float *p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    double s = 0;
    for (int j = 0; j < 8; j++) s += out[j];
    for (; i < n; i++) s += p[i];
    return s;
}
#endif

static double sum_plain(const float *p, size_t n) {
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    double s = 0;
    for (int j = 0; j < 8; j++) s += a[j];
    for (; i < n; i++) s += p[i];
    return s;
}

static void stream_worker(void *vctx, size_t ith, size_t nth) {
    struct stream_ctx *c = vctx;
    size_t b, e;
    cpr_pool_split(c->n, ith, nth, 16, &b, &e);
#if defined(__x86_64__)
    if (cpr_cpu_features()->avx2) {
        c->sink[ith & 1023] = sum_avx2(c->buf + b, e - b);
        return;
    }
#endif
    c->sink[ith & 1023] = sum_plain(c->buf + b, e - b);
}

double cpr_bench_stream_gbps(struct cpr_pool *pool) {
    size_t n = (size_t)256 << 20; // 1 GiB of floats
    float *buf = malloc(n * sizeof(float));
    if (!buf) return -1;
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023);
    struct stream_ctx c = {.buf = buf, .n = n};
    double best = 1e300;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = cpr_bench_now();
        cpr_pool_run(pool, stream_worker, &c);
        double dt = cpr_bench_now() - t0;
        if (dt < best) best = dt;
    }
    free(buf);
    return (double)n * sizeof(float) / best * 1e-9;
}

double cpr_bench_stream_pass(struct cpr_pool *pool, const float *buf, size_t n) {
    struct stream_ctx c = {.buf = buf, .n = n};
    double t0 = cpr_bench_now();
    cpr_pool_run(pool, stream_worker, &c);
    double dt = cpr_bench_now() - t0;
    return dt > 0 ? (double)n * sizeof(float) / dt * 1e-9 : -1;
}

double cpr_bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// ---- result files ----
struct row {
    char kernel[64], isa[16], shape[96], note[320];
    int threads;
    double seconds, gflops, gbps, ratio;
};

void cpr_bench_report_open(struct cpr_bench_report *r, const char *name,
                           int threads) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->path, sizeof r->path, "bench/results/%s.json", name);
    r->threads = threads;
    printf("%-22s %-11s %-28s %3s %11s %9s %8s %7s  %s\n", "kernel", "isa",
           "shape", "thr", "seconds", "GFLOP/s", "GB/s", "ratio", "note");
}

static void fmt_num(char *buf, size_t cap, const char *fmt, double v) {
    if (v < 0) snprintf(buf, cap, "-");
    else snprintf(buf, cap, fmt, v);
}

void cpr_bench_row(struct cpr_bench_report *r, const char *kernel,
                   const char *isa, const char *shape, int threads,
                   double seconds, double gflops, double gbps, double ratio,
                   const char *note) {
    if (r->n_rows == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        void *p = realloc(r->rows, cap * sizeof(struct row));
        if (!p) return;
        r->rows = p;
        r->cap = cap;
    }
    struct row *w = (struct row *)r->rows + r->n_rows++;
    snprintf(w->kernel, sizeof w->kernel, "%s", kernel);
    snprintf(w->isa, sizeof w->isa, "%s", isa);
    snprintf(w->shape, sizeof w->shape, "%s", shape ? shape : "");
    snprintf(w->note, sizeof w->note, "%s", note ? note : "");
    w->threads = threads;
    w->seconds = seconds;
    w->gflops = gflops;
    w->gbps = gbps;
    w->ratio = ratio;
    char s[32], g[32], b[32], q[32];
    fmt_num(s, sizeof s, "%.6f", seconds);
    fmt_num(g, sizeof g, "%.1f", gflops);
    fmt_num(b, sizeof b, "%.2f", gbps);
    fmt_num(q, sizeof q, "%.2f", ratio);
    printf("%-22s %-11s %-28s %3d %11s %9s %8s %7s  %s\n", kernel, isa,
           w->shape, threads, s, g, b, q, w->note);
    fflush(stdout);
}

// JSON string with the characters our fields can contain escaped.
static void put_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void put_num(FILE *f, double v) {
    if (v < 0) fputs("null", f);
    else fprintf(f, "%.6g", v);
}

int cpr_bench_report_close(struct cpr_bench_report *r) {
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", tmp);
        free(r->rows);
        return -1;
    }
    const struct cpr_cpu_features *cf = cpr_cpu_features();
    char host[64] = "", date[32] = "";
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "{\n  \"bench\": ");
    put_str(f, r->name);
    fprintf(f, ",\n  \"machine\": {\"cpu\": ");
    put_str(f, cf->brand);
    fprintf(f, ", \"host\": ");
    put_str(f, host);
    fprintf(f, ", \"online_cpus\": %zu, \"best_isa\": ", cpr_cpu_count());
    put_str(f, cpr_isa_name(cpr_isa_best(CPR_ISA_COUNT - 1)));
    fprintf(f, ", \"dispatched_isa\": ");
    put_str(f, cpr_isa_name(cpr_kernels_isa()));
    fprintf(f, ", \"threads\": %d, \"date\": ", r->threads);
    put_str(f, date);
    fprintf(f, "},\n  \"rows\": [");
    struct row *rows = r->rows;
    for (size_t i = 0; i < r->n_rows; i++) {
        fprintf(f, "%s\n    {\"kernel\": ", i ? "," : "");
        put_str(f, rows[i].kernel);
        fprintf(f, ", \"isa\": ");
        put_str(f, rows[i].isa);
        fprintf(f, ", \"shape\": ");
        put_str(f, rows[i].shape);
        fprintf(f, ", \"threads\": %d, \"seconds\": ", rows[i].threads);
        put_num(f, rows[i].seconds);
        fprintf(f, ", \"gflops\": ");
        put_num(f, rows[i].gflops);
        fprintf(f, ", \"gbps\": ");
        put_num(f, rows[i].gbps);
        fprintf(f, ", \"ratio\": ");
        put_num(f, rows[i].ratio);
        fprintf(f, ", \"note\": ");
        put_str(f, rows[i].note);
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    int bad = ferror(f) | fclose(f);
    free(r->rows);
    r->rows = NULL;
    if (bad || rename(tmp, r->path) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", r->path);
        return -1;
    }
    printf("wrote %s\n", r->path);
    return 0;
}
