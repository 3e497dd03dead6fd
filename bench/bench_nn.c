// bench/bench_nn.c: the forward-pass elementwise and row kernels (norm,
// rope and act families) per available ISA, one thread.
//
// Shapes are those of a 7B Llama layer over a 2048-token sequence:
//   rmsnorm / layernorm   2048 rows x 4096
//   softmax / logsoftmax  512 rows x 32000 (vocabulary)
//   logsumexp             512 rows x 32000 (the perplexity normaliser)
//   rope half/interleaved 2048 tokens x 32 heads x 128
//   silu / gelu / gelu_tanh / swiglu  2048 x 11008 (MLP width)
// Each row reports the best time of several calls, GB/s of the arrays
// streamed (inputs read + outputs written; the small weight/cos/sin rows
// stay in cache and are not counted), Melem/s in the note, and the ratio to
// the scalar kernel. An ISA whose table reuses a lower level's kernel for a
// slot (e.g. avx512bf16 for everything here) is skipped for that slot.
//
// usage: bench_nn [seconds-per-measurement [kernel-substring]]
// (default 0.5 s, all kernels)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/rng.h"
#include "simd/kernels.h"

enum op {
    OP_RMSNORM, OP_LAYERNORM, OP_SOFTMAX, OP_LOGSOFTMAX, OP_LOGSUMEXP,
    OP_ROPE_HALF, OP_ROPE_INTERLEAVED, OP_SILU, OP_GELU, OP_GELU_TANH,
    OP_SWIGLU, N_OPS
};

static const struct {
    const char *slot;  // slot name in cpr_kernel_slot_names
    size_t rows, cols; // rows x cols elements (rope: tokens x heads*dim)
    int streams;       // arrays of rows*cols floats read or written
} ops[N_OPS] = {
    [OP_RMSNORM] = {"rmsnorm_f32", 2048, 4096, 2},
    [OP_LAYERNORM] = {"layernorm_f32", 2048, 4096, 2},
    [OP_SOFTMAX] = {"softmax_f32", 512, 32000, 2},
    [OP_LOGSOFTMAX] = {"logsoftmax_f32", 512, 32000, 2},
    [OP_LOGSUMEXP] = {"logsumexp_f32", 512, 32000, 1},
    [OP_ROPE_HALF] = {"rope_half_f32", 2048, 32 * 128, 2},
    [OP_ROPE_INTERLEAVED] = {"rope_interleaved_f32", 2048, 32 * 128, 2},
    [OP_SILU] = {"silu_f32", 2048, 11008, 2},
    [OP_GELU] = {"gelu_f32", 2048, 11008, 2},
    [OP_GELU_TANH] = {"gelu_tanh_f32", 2048, 11008, 2},
    [OP_SWIGLU] = {"swiglu_f32", 2048, 11008, 3},
};

enum { HEADS = 32, HEAD_DIM = 128 };

struct ctx {
    const struct cpr_kernels *k;
    enum op op;
    float *a, *b, *c; // rows*cols each
    float *w, *g;     // cols (weights)
    float *cos, *sin; // rows * HEAD_DIM/2 (rope angles per token)
    double sink;      // keeps logsumexp results alive
};

static void run(void *vctx) {
    struct ctx *c = vctx;
    const struct cpr_kernels *k = c->k;
    size_t rows = ops[c->op].rows, cols = ops[c->op].cols;
    switch (c->op) {
    case OP_RMSNORM:
        for (size_t r = 0; r < rows; r++) k->rmsnorm_f32(cols, c->a + r * cols, c->w, 1e-5f, c->b + r * cols);
        break;
    case OP_LAYERNORM:
        for (size_t r = 0; r < rows; r++)
            k->layernorm_f32(cols, c->a + r * cols, c->w, c->g, 1e-5f, c->b + r * cols);
        break;
    case OP_SOFTMAX:
        for (size_t r = 0; r < rows; r++) k->softmax_f32(cols, c->a + r * cols, c->b + r * cols);
        break;
    case OP_LOGSOFTMAX:
        for (size_t r = 0; r < rows; r++) k->logsoftmax_f32(cols, c->a + r * cols, c->b + r * cols);
        break;
    case OP_LOGSUMEXP:
        for (size_t r = 0; r < rows; r++) c->sink += k->logsumexp_f32(cols, c->a + r * cols);
        break;
    case OP_ROPE_HALF:
    case OP_ROPE_INTERLEAVED: {
        cpr_rope_f32_fn f = c->op == OP_ROPE_HALF ? k->rope_half_f32 : k->rope_interleaved_f32;
        // In place on b; the rotation keeps norms, so repeats stay finite.
        for (size_t r = 0; r < rows; r++)
            f(HEADS, HEAD_DIM, c->b + r * cols, c->cos + r * (HEAD_DIM / 2),
              c->sin + r * (HEAD_DIM / 2));
        break;
    }
    case OP_SILU: k->silu_f32(rows * cols, c->a, c->b); break;
    case OP_GELU: k->gelu_f32(rows * cols, c->a, c->b); break;
    case OP_GELU_TANH: k->gelu_tanh_f32(rows * cols, c->a, c->b); break;
    case OP_SWIGLU: k->swiglu_f32(rows * cols, c->a, c->c, c->b); break;
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
    size_t max_elems = 0;
    for (int o = 0; o < N_OPS; o++)
        if (ops[o].rows * ops[o].cols > max_elems) max_elems = ops[o].rows * ops[o].cols;
    // 64-byte aligned, as arena buffers are: a misaligned zmm load or store
    // splits across two cache lines (costing AVX-512 rope ~2x on Zen 5).
    struct ctx c = {0};
    c.a = aligned_alloc(64, max_elems * sizeof(float));
    c.b = aligned_alloc(64, max_elems * sizeof(float));
    c.c = aligned_alloc(64, max_elems * sizeof(float));
    c.w = aligned_alloc(64, 32000 * sizeof(float));
    c.g = aligned_alloc(64, 32000 * sizeof(float));
    c.cos = aligned_alloc(64, 2048 * (HEAD_DIM / 2) * sizeof(float));
    c.sin = aligned_alloc(64, 2048 * (HEAD_DIM / 2) * sizeof(float));
    if (!c.a || !c.b || !c.c || !c.w || !c.g || !c.cos || !c.sin) {
        fprintf(stderr, "bench_nn: out of memory (%zu MiB needed)\n",
                3 * max_elems * sizeof(float) >> 20);
        return 1;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 7);
    for (size_t i = 0; i < max_elems; i++) {
        c.a[i] = (float)(3.0 * cpr_rng_normal(&rng)); // logits / activations
        c.b[i] = (float)cpr_rng_normal(&rng);
        c.c[i] = (float)cpr_rng_normal(&rng);
    }
    for (size_t i = 0; i < 32000; i++) {
        c.w[i] = 0.5f + cpr_rng_uniform_f32(&rng);
        c.g[i] = (float)(0.1 * cpr_rng_normal(&rng));
    }
    for (size_t p = 0; p < 2048; p++)
        for (size_t i = 0; i < HEAD_DIM / 2; i++) {
            double th = (double)p * pow(10000.0, -2.0 * (double)i / HEAD_DIM);
            c.cos[p * (HEAD_DIM / 2) + i] = (float)cos(th);
            c.sin[p * (HEAD_DIM / 2) + i] = (float)sin(th);
        }

    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++)
        if (cpr_isa_best((enum cpr_isa)lv) == (enum cpr_isa)lv)
            isas[nt] = cpr_kernels_build(&tabs[nt], (enum cpr_isa)lv), nt++;

    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "nn", 1);
    for (int o = 0; o < N_OPS; o++) {
        if (only && !strstr(ops[o].slot, only)) continue;
        size_t slot = slot_index(ops[o].slot);
        size_t elems = ops[o].rows * ops[o].cols;
        char shape[64], note[96];
        snprintf(shape, sizeof shape, "%zux%zu", ops[o].rows, ops[o].cols);
        if (o == OP_ROPE_HALF || o == OP_ROPE_INTERLEAVED)
            snprintf(shape, sizeof shape, "%zux%dx%d", ops[o].rows, HEADS, HEAD_DIM);
        double t_scalar = -1.0;
        for (size_t ti = 0; ti < nt; ti++) {
            if (slot == (size_t)-1) break;
            if (ti > 0 && tabs[ti].slot_isa[slot] != isas[ti]) continue; // reused kernel
            c.k = &tabs[ti];
            c.op = (enum op)o;
            double t = cpr_bench_time(run, &c, min_s, 3);
            if (ti == 0) t_scalar = t;
            double gbps = (double)ops[o].streams * elems * sizeof(float) / t * 1e-9;
            snprintf(note, sizeof note, "%.0f Melem/s%s", elems / t * 1e-6,
                     ti == 0 ? "" : ", ratio vs scalar");
            cpr_bench_row(&rep, ops[o].slot, cpr_isa_name(isas[ti]), shape, 1, t, -1.0, gbps,
                          t_scalar > 0 ? t_scalar / t : -1.0, note);
        }
    }
    if (c.sink == 12345.0) printf("(sink)\n"); // keep results live
    int rc = cpr_bench_report_close(&rep);
    free(c.a);
    free(c.b);
    free(c.c);
    free(c.w);
    free(c.g);
    free(c.cos);
    free(c.sin);
    return rc ? 1 : 0;
}
