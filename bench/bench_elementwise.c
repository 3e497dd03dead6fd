// bench/bench_elementwise.c: the memory-bound elementwise kernels (convert,
// stats and score families) per available ISA, one thread.
//
// Shapes:
//   bf16/f16 <-> f32 conversions   16M elements (2 bytes in, 4 out or back)
//   colstats_f32 (with / without sum)  4096 x 11008 activations (tokens x
//                                  MLP width), one pass over x
//   absmul_f32                     4096 x 11008 (a 7B MLP weight, w and s
//                                  both full-size, out written)
//   count_zeros_f32                4096 x 11008
// Each row reports the best time of several calls and GB/s of the arrays
// streamed (inputs read + outputs written; colstats' double accumulators
// stay in cache and are not counted), Melem/s in the note and the ratio to
// the scalar kernel. A first row gives the machine's single-thread read
// bandwidth (cpr_bench_stream_gbps) as the ceiling these kernels approach.
// An ISA whose table reuses a lower level's kernel for a slot (e.g.
// avx512bf16 for everything here) is skipped for that slot.
//
// usage: bench_elementwise [seconds-per-measurement [kernel-substring]]
// (default 0.5 s, all kernels)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/rng.h"
#include "simd/kernels.h"

enum op {
    OP_BF16_TO_F32, OP_F32_TO_BF16, OP_F16_TO_F32, OP_F32_TO_F16,
    OP_COLSTATS_SUM, OP_COLSTATS_SUMSQ, OP_ABSMUL, OP_COUNT_ZEROS, N_OPS
};

enum { MAT_ROWS = 4096, MAT_COLS = 11008, CVT_N = 16 << 20 };

static const struct {
    const char *slot;   // slot name in cpr_kernel_slot_names
    const char *label;  // kernel column in the report
    size_t rows, cols;  // rows x cols elements
    double bytes;       // bytes streamed per element
} ops[N_OPS] = {
    [OP_BF16_TO_F32] = {"bf16_to_f32", "bf16_to_f32", 1, CVT_N, 6},
    [OP_F32_TO_BF16] = {"f32_to_bf16", "f32_to_bf16", 1, CVT_N, 6},
    [OP_F16_TO_F32] = {"f16_to_f32", "f16_to_f32", 1, CVT_N, 6},
    [OP_F32_TO_F16] = {"f32_to_f16", "f32_to_f16", 1, CVT_N, 6},
    [OP_COLSTATS_SUM] = {"colstats_f32", "colstats_f32", MAT_ROWS, MAT_COLS, 4},
    [OP_COLSTATS_SUMSQ] = {"colstats_f32", "colstats_f32(sumsq)", MAT_ROWS, MAT_COLS, 4},
    [OP_ABSMUL] = {"absmul_f32", "absmul_f32", MAT_ROWS, MAT_COLS, 12},
    [OP_COUNT_ZEROS] = {"count_zeros_f32", "count_zeros_f32", MAT_ROWS, MAT_COLS, 4},
};

struct ctx {
    const struct cpr_kernels *k;
    enum op op;
    float *a, *b, *c; // MAT_ROWS*MAT_COLS floats each
    uint16_t *h;      // CVT_N halves (bf16 or f16 bit patterns)
    double *sumsq, *sum; // MAT_COLS
    size_t sink;
};

static void run(void *vctx) {
    struct ctx *c = vctx;
    const struct cpr_kernels *k = c->k;
    switch (c->op) {
    case OP_BF16_TO_F32: k->bf16_to_f32(CVT_N, c->h, c->b); break;
    case OP_F32_TO_BF16: k->f32_to_bf16(CVT_N, c->a, c->h); break;
    case OP_F16_TO_F32: k->f16_to_f32(CVT_N, c->h, c->b); break;
    case OP_F32_TO_F16: k->f32_to_f16(CVT_N, c->a, c->h); break;
    case OP_COLSTATS_SUM:
        k->colstats_f32(MAT_ROWS, MAT_COLS, c->a, MAT_COLS, c->sumsq, c->sum);
        break;
    case OP_COLSTATS_SUMSQ:
        k->colstats_f32(MAT_ROWS, MAT_COLS, c->a, MAT_COLS, c->sumsq, NULL);
        break;
    case OP_ABSMUL: k->absmul_f32((size_t)MAT_ROWS * MAT_COLS, c->a, c->b, c->c); break;
    case OP_COUNT_ZEROS: c->sink += k->count_zeros_f32((size_t)MAT_ROWS * MAT_COLS, c->c); break;
    default: break;
    }
}

static size_t slot_index(const char *name) {
    for (size_t s = 0; cpr_kernel_slot_names[s]; s++)
        if (strcmp(cpr_kernel_slot_names[s], name) == 0) return s;
    return (size_t)-1;
}

int main(int argc, char **argv) {
    double min_s = argc > 1 ? atof(argv[1]) : 0.5;
    if (!(min_s > 0)) min_s = 0.5;
    const char *only = argc > 2 ? argv[2] : NULL;
    const size_t nm = (size_t)MAT_ROWS * MAT_COLS;
    // 64-byte aligned, as arena buffers are.
    struct ctx c = {0};
    c.a = aligned_alloc(64, nm * sizeof(float));
    c.b = aligned_alloc(64, nm * sizeof(float));
    c.c = aligned_alloc(64, nm * sizeof(float));
    c.h = aligned_alloc(64, (size_t)CVT_N * sizeof(uint16_t));
    c.sumsq = aligned_alloc(64, MAT_COLS * sizeof(double));
    c.sum = aligned_alloc(64, MAT_COLS * sizeof(double));
    if (!c.a || !c.b || !c.c || !c.h || !c.sumsq || !c.sum) {
        fprintf(stderr, "bench_elementwise: out of memory (%zu MiB needed)\n",
                (3 * nm * sizeof(float) + (size_t)CVT_N * 2) >> 20);
        return 1;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    for (size_t i = 0; i < nm; i++) {
        c.a[i] = (float)(0.02 * cpr_rng_normal(&rng)); // weight / activation scale
        c.b[i] = (float)fabs(cpr_rng_normal(&rng));    // column norms
        c.c[i] = (i % 2) ? 0.0f : c.a[i];              // a half-sparse matrix
    }
    for (size_t i = 0; i < MAT_COLS; i++) c.sumsq[i] = c.sum[i] = 0.0;
    struct cpr_kernels ref;
    cpr_kernels_build(&ref, CPR_ISA_SCALAR);
    ref.f32_to_f16(CVT_N, c.a, c.h); // valid halves (also valid-looking bf16)

    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++)
        if (cpr_isa_best((enum cpr_isa)lv) == (enum cpr_isa)lv)
            isas[nt] = cpr_kernels_build(&tabs[nt], (enum cpr_isa)lv), nt++;

    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "elementwise", 1);
    if (!only) {
        double bw = cpr_bench_stream_gbps(NULL);
        cpr_bench_row(&rep, "stream_read", "-", "1 thread", 1, -1.0, -1.0, bw, -1.0,
                      "single-thread read bandwidth, the ceiling for these kernels");
    }
    for (int o = 0; o < N_OPS; o++) {
        if (only && !strstr(ops[o].label, only)) continue;
        size_t slot = slot_index(ops[o].slot);
        size_t elems = ops[o].rows * ops[o].cols;
        char shape[64], note[96];
        if (ops[o].rows == 1) snprintf(shape, sizeof shape, "n=%zu", elems);
        else snprintf(shape, sizeof shape, "%zux%zu", ops[o].rows, ops[o].cols);
        double t_scalar = -1.0;
        for (size_t ti = 0; ti < nt; ti++) {
            if (slot == (size_t)-1) break;
            if (ti > 0 && tabs[ti].slot_isa[slot] != isas[ti]) continue; // reused kernel
            c.k = &tabs[ti];
            c.op = (enum op)o;
            double t = cpr_bench_time(run, &c, min_s, 3);
            if (ti == 0) t_scalar = t;
            double gbps = ops[o].bytes * (double)elems / t * 1e-9;
            snprintf(note, sizeof note, "%.0f Melem/s%s", (double)elems / t * 1e-6,
                     ti == 0 ? "" : ", ratio vs scalar");
            cpr_bench_row(&rep, ops[o].label, cpr_isa_name(isas[ti]), shape, 1, t, -1.0, gbps,
                          t_scalar > 0 ? t_scalar / t : -1.0, note);
        }
    }
    if (c.sink == 12345) printf("(sink)\n"); // keep results live
    int rc = cpr_bench_report_close(&rep);
    free(c.a), free(c.b), free(c.c), free(c.h), free(c.sumsq), free(c.sum);
    return rc ? 1 : 0;
}
