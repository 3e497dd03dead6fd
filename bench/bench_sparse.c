// bench/bench_sparse.c: what compressed sparse weights buy at batch-1
// decode, on a LLaMA-2-7B-shaped synthetic bf16 model (hidden 4096,
// intermediate 11008, 32 heads, MHA, vocab 32000; weights from core/synth.h,
// the generator behind `cprune synth`, built in memory).
//
// Protocol:
//   - layers: all 32 if they fit in memory beside their largest compressed
//     form, else the largest count that does (from MemAvailable; env
//     CPRUNE_BENCH_LAYERS overrides); the row notes say how many ran.
//     Threads: every online CPU (env CPRUNE_BENCH_THREADS overrides).
//   - pruning: magnitude, to 50% unstructured, 2:4 (the 2 largest |w| of
//     every 4, per row) and 70% unstructured; for the unstructured ones the
//     threshold is the 50% / 70% quantile of |w| in the tensor's first row,
//     applied to every row (the synthetic weights are iid, so each row
//     lands within about 1% of the target: an exact per-row selection
//     cost minutes per variant on the shared machine); compressed with
//     layout bitmask (50%, 70%) and nm (2:4). Embeddings, norms and
//     lm_head stay dense, as in METHODS_REFERENCE_2 §1.
//   - decode: the KV cache holds 512 positions (filled with random keys and
//     values: attention costs what it costs at context 512), then
//     DECODE_TOKENS single-token steps are timed; dense and compressed are
//     measured interleaved (D S D' ...) REPS times (default 5, env
//     CPRUNE_BENCH_REPS), so other load on the machine hits both. Reported:
//     medians of the per-rep times, and the speedup as the median of the
//     per-rep ratios dense/compressed (with their range in the note). The
//     dense side is the kernel table with the lower median of two (default
//     and, on AVX512BF16 CPUs, AVX-512: see main()).
//   - ceiling: bytes read per token (linear weights as stored + lm_head +
//     norms + the KV cache read + one embedding row) / the stream read
//     bandwidth, measured on the same threads before and after every timed
//     decode rep (one pass over STREAM_MB of heap, like the weights) and
//     taken as the median of those passes, per variant: the bandwidth the
//     decode reps saw, not a best case from another moment. Reported:
//     tok/s, the fraction of that ceiling reached, and the speedup vs dense
//     next to the speedup the byte counts allow; CPU seconds per token next
//     to wall seconds (how much of the machine the reps got).
//   - accounting ("acct" rows, see account()): one token split into the
//     linears (per kind, with their GB/s), lm_head, attention over the
//     cache, the rest, and the pool's hand-offs, for dense and each
//     compressed form, ACCT_REPS passes interleaved, medians.
//   - prefill: PREFILL_TOKENS tokens in one step on the first
//     PREFILL_LAYERS blocks (a view of the same model), dense vs
//     compressed, interleaved REPS times; median of the per-rep ratios
//     (target compressed >= 0.9x dense).
//   - memory: the model's weight bytes compressed / dense (embeddings and
//     lm_head included), at the layer count run and extrapolated to 32
//     layers (target for 50%: <= 0.6).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/decode.h"
#include "core/matmul.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/synth.h"
#include "core/weight.h"

#define CTX 512
#define DECODE_TOKENS 16 // per timed rep: ~1-4 s of decode, so a burst of
                          // other load lands in one rep, not in one side
#define MAX_REPS 15
#define PREFILL_TOKENS 256
#define PREFILL_LAYERS 2
#define FULL_LAYERS 32
#define STREAM_MB 512 // read pass for the ceilings (> the caches)
#define ACCT_REPS 3   // accounting passes per form and variant

static double mem_available_gb(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb / (1024.0 * 1024.0);
}

// ---- pruning + compression of one linear ----

enum variant { V_50, V_24, V_70, V_COUNT };
static const char *const vname[V_COUNT] = {"50% bitmask", "2:4 nm", "70% bitmask"};

// A compressed copy of the bf16 weight w, pruned by magnitude (see top).
static int prune_compress(const struct cpr_kernels *k, const struct cpr_tensor *w,
                          enum variant v, struct cpr_tensor *out) {
    int64_t R = w->shape[0], C = w->shape[1];
    uint16_t *p = malloc((size_t)(R * C) * sizeof *p);
    float *row = malloc((size_t)C * sizeof *row);
    uint8_t *mask = malloc((size_t)C);
    uint32_t *scratch = malloc((size_t)C * sizeof *scratch);
    if (!p || !row || !mask || !scratch) return -1;
    memcpy(p, w->data, (size_t)(R * C) * sizeof *p);
    // unstructured: |w| bit patterns (bf16, sign cleared) at or below the
    // first row's quantile are pruned (monotone in |w| for finite values)
    k->bf16_to_f32((size_t)C, p, row);
    for (int64_t j = 0; j < C; j++) row[j] = fabsf(row[j]);
    size_t kth = (size_t)(v == V_50 ? C / 2 : C * 7 / 10);
    float t = k->kth_smallest_f32((size_t)C, kth, row, scratch);
    uint16_t tb;
    k->f32_to_bf16(1, &t, &tb);
    for (int64_t r = 0; r < R; r++) {
        uint16_t *pr = p + r * C;
        if (v == V_24) {
            k->bf16_to_f32((size_t)C, pr, row);
            for (int64_t j = 0; j < C; j++) row[j] = fabsf(row[j]);
            k->nm_mask_f32((size_t)C, 2, 4, row, mask);
            for (int64_t j = 0; j < C; j++)
                if (mask[j]) pr[j] = 0;
        } else {
            for (int64_t j = 0; j < C; j++)
                pr[j] = (uint16_t)(pr[j] & 0x7fffu) <= tb ? 0 : pr[j];
        }
    }
    struct cpr_tensor pt;
    int64_t shp[2] = {R, C};
    cpr_tensor_wrap(&pt, CPR_DTYPE_BF16, p, 2, shp, 0);
    struct cpr_err err = {0};
    enum cpr_status s = cpr_sparse_compress(
        &pt, v == V_24 ? CPR_WLAYOUT_NM24 : CPR_WLAYOUT_BITMASK, "w", out, &err);
    free(p), free(row), free(mask), free(scratch);
    if (s != CPR_OK) fprintf(stderr, "bench_sparse: %s\n", err.msg);
    return s == CPR_OK ? 0 : -1;
}

struct variant_job {
    const struct cpr_kernels *k;
    struct cpr_model *out;
    enum variant v;
    int failed;
};

// Items (layer, linear) round-robin over the pool's threads.
static void variant_worker(void *ctx, size_t ith, size_t nth) {
    struct variant_job *j = ctx;
    int64_t n = j->out->cfg.n_layers * CPR_LINEAR_COUNT;
    for (int64_t it = (int64_t)ith; it < n; it += (int64_t)nth) {
        struct cpr_tensor *t = cpr_model_linear(
            j->out, it / CPR_LINEAR_COUNT, (enum cpr_linear)(it % CPR_LINEAR_COUNT));
        if (prune_compress(j->k, t, j->v, t)) j->failed = 1;
    }
}

// A model sharing everything with `dense` except its linears.
static int build_variant(const struct cpr_kernels *k, struct cpr_pool *pool,
                         const struct cpr_model *dense, enum variant v,
                         struct cpr_model *out) {
    *out = *dense;
    out->backing = NULL, out->backing_free = NULL;
    out->layers = calloc((size_t)dense->cfg.n_layers, sizeof *out->layers);
    if (!out->layers) return -1;
    for (int64_t l = 0; l < dense->cfg.n_layers; l++) out->layers[l] = dense->layers[l];
    double t0 = cpr_bench_now();
    struct variant_job j = {.k = k, .out = out, .v = v};
    cpr_pool_run(pool, variant_worker, &j);
    fprintf(stderr, "  pruned + compressed %s in %.1f s\n", vname[v],
            cpr_bench_now() - t0);
    return j.failed ? -1 : 0;
}

static void free_variant(struct cpr_model *m) {
    for (int64_t l = 0; m->layers && l < m->cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++)
            cpr_tensor_free(cpr_model_linear(m, l, (enum cpr_linear)j));
    free(m->layers);
    m->layers = NULL;
}

static double linear_bytes(const struct cpr_model *m) {
    double b = 0;
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++)
            b += (double)cpr_weight_bytes(
                cpr_model_linear((struct cpr_model *)m, l, (enum cpr_linear)j));
    return b;
}

// Bytes a decode step at context CTX reads besides the linears.
static double other_bytes(const struct cpr_model *m) {
    const struct cpr_model_config *c = &m->cfg;
    double kv = (double)c->n_layers * CTX * (double)(c->n_kv_heads * c->head_dim) *
                2 * sizeof(float);
    return (double)cpr_tensor_nbytes(&m->lm_head) + kv +
           (double)c->hidden * 2 * (2 * (double)c->n_layers + 2);
}

// ---- timing ----

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Median of n values (n >= 1; the mean of the middle two when n is even).
#define MEDIAN_MAX (3 * V_COUNT * MAX_REPS + 1)
static double median_any(const double *v, int n) {
    double s[MEDIAN_MAX];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double median(const double *v, int n) { return median_any(v, n); }

static double min_of(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static double max_of(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) if (v[i] > m) m = v[i];
    return m;
}

// Seconds per token of DECODE_TOKENS steps after a cache of ctx positions;
// *cpu (if not NULL) receives the process CPU seconds per token.
static double time_decode_at(struct cpr_decode *d, int64_t ctx, float *logits,
                             double *cpu) {
    struct cpr_err err = {0};
    d->n_past = ctx;
    int32_t tok = 1000;
    double c0 = cpr_bench_cpu_now(), t0 = cpr_bench_now();
    for (int i = 0; i < DECODE_TOKENS; i++) {
        if (cpr_decode_step(d, &tok, 1, 0, logits, &err) != CPR_OK) {
            fprintf(stderr, "bench_sparse: %s\n", err.msg);
            return -1;
        }
        tok = (tok * 7 + 13) % 32000;
    }
    double dt = (cpr_bench_now() - t0) / DECODE_TOKENS;
    if (cpu) *cpu = (cpr_bench_cpu_now() - c0) / DECODE_TOKENS;
    return dt;
}

static double time_decode(struct cpr_decode *d, float *logits) {
    return time_decode_at(d, CTX, logits, NULL);
}

// ---- per-token accounting ----
// One decode token split into its parts, each timed on its own with the
// decode's own model and pool: every linear of every layer as the decode
// calls it (cpr_matmul, m = 1, in pipeline order, so the weights stream
// from memory as they do in a step), lm_head, a whole step at context CTX
// and at context 0 (the difference is attention over the cache: its
// score and value passes grow with the context, the rest does not), and
// the pool's hand-off (an empty cpr_pool_run, times the runs a step makes:
// one per linear and one per layer's attention, plus lm_head). "Other" =
// step - linears - lm_head - attention: norms, RoPE, SwiGLU, the
// embedding row, the cache writes and the attention's hand-offs.
struct acct {
    double lin[CPR_LINEAR_COUNT]; // seconds per token, summed over layers
    double lin_cpu[CPR_LINEAR_COUNT]; // process CPU seconds of the same
    double lin_bytes[CPR_LINEAR_COUNT];
    double lm_head, step, step0, handoff;
    double lm_head_cpu, step_cpu, step0_cpu;
};

static void noop_worker(void *ctx, size_t ith, size_t nth) {
    (void)ctx, (void)ith, (void)nth;
}

static int account(struct cpr_decode *d, const float *x, float *y,
                   float *logits, struct acct *a) {
    struct cpr_model *m = (struct cpr_model *)d->model;
    struct cpr_err err = {0};
    memset(a, 0, sizeof *a);
    for (int64_t l = 0; l < m->cfg.n_layers; l++)
        for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
            const struct cpr_tensor *w = cpr_model_linear(m, l, (enum cpr_linear)j);
            size_t rows = (size_t)w->shape[0], cols = (size_t)w->shape[1];
            double c0 = cpr_bench_cpu_now(), t0 = cpr_bench_now();
            if (cpr_matmul(d->pool, d->k, 1, x, cols, w, y, rows, 0.0f, &err) != CPR_OK) {
                fprintf(stderr, "bench_sparse: %s\n", err.msg);
                return -1;
            }
            a->lin[j] += cpr_bench_now() - t0;
            a->lin_cpu[j] += cpr_bench_cpu_now() - c0;
            a->lin_bytes[j] += (double)cpr_weight_bytes(w);
        }
    double c0 = cpr_bench_cpu_now(), t0 = cpr_bench_now();
    if (cpr_matmul(d->pool, d->k, 1, x, (size_t)m->cfg.hidden, &m->lm_head,
                   logits, (size_t)m->cfg.vocab, 0.0f, &err) != CPR_OK)
        return -1;
    a->lm_head = cpr_bench_now() - t0;
    a->lm_head_cpu = cpr_bench_cpu_now() - c0;
    a->step = time_decode_at(d, CTX, logits, &a->step_cpu);
    a->step0 = time_decode_at(d, 0, logits, &a->step0_cpu);
    enum { HANDOFFS = 2000 };
    t0 = cpr_bench_now();
    for (int i = 0; i < HANDOFFS; i++) cpr_pool_run(d->pool, noop_worker, NULL);
    a->handoff = (cpr_bench_now() - t0) / HANDOFFS *
                 (double)(m->cfg.n_layers * (CPR_LINEAR_COUNT + 1) + 1);
    return a->step > 0 && a->step0 > 0 ? 0 : -1;
}

// Element-wise median of n accountings.
static void acct_median(const struct acct *v, int n, struct acct *out) {
    double t[MAX_REPS];
    *out = v[0];
#define ACCT_MED(field)                                   \
    do {                                                  \
        for (int i = 0; i < n; i++) t[i] = v[i].field;    \
        out->field = median(t, n);                        \
    } while (0)
    for (int j = 0; j < CPR_LINEAR_COUNT; j++) ACCT_MED(lin[j]);
    for (int j = 0; j < CPR_LINEAR_COUNT; j++) ACCT_MED(lin_cpu[j]);
    ACCT_MED(lm_head);
    ACCT_MED(step);
    ACCT_MED(step0);
    ACCT_MED(lm_head_cpu);
    ACCT_MED(step_cpu);
    ACCT_MED(step0_cpu);
    ACCT_MED(handoff);
#undef ACCT_MED
}

// Rows "acct <form> <part>": seconds per token, GB/s of the weights read
// (linears, lm_head), ratio = share of the step.
static void acct_rows(struct cpr_bench_report *rep, const char *isa,
                      const char *shape, int threads, const char *form,
                      const struct acct *a, double lm_bytes) {
    char kname[64], note[320];
    double lin_t = 0, lin_b = 0, lin_c = 0;
    for (int j = 0; j < CPR_LINEAR_COUNT; j++) {
        lin_t += a->lin[j], lin_b += a->lin_bytes[j], lin_c += a->lin_cpu[j];
        snprintf(kname, sizeof kname, "acct %s %s", form,
                 cpr_linear_name((enum cpr_linear)j));
        snprintf(note, sizeof note, "%.2f ms/token over all layers (CPU %.2f "
                 "ms), %.0f MB read", a->lin[j] * 1e3, a->lin_cpu[j] * 1e3,
                 a->lin_bytes[j] / 1e6);
        cpr_bench_row(rep, kname, isa, shape, threads, a->lin[j], -1,
                      a->lin_bytes[j] / a->lin[j] * 1e-9, a->lin[j] / a->step, note);
    }
    double attn = a->step - a->step0;
    double other = a->step - lin_t - a->lm_head - attn;
    snprintf(kname, sizeof kname, "acct %s linears", form);
    snprintf(note, sizeof note, "%.2f ms/token (CPU %.2f ms), %.2f GB read "
             "(all layers' linears, as cpr_matmul calls in pipeline order)",
             lin_t * 1e3, lin_c * 1e3, lin_b / 1e9);
    cpr_bench_row(rep, kname, isa, shape, threads, lin_t, -1, lin_b / lin_t * 1e-9,
                  lin_t / a->step, note);
    snprintf(kname, sizeof kname, "acct %s lm_head", form);
    snprintf(note, sizeof note, "%.2f ms/token (CPU %.2f ms; dense bf16 in "
             "every form)", a->lm_head * 1e3, a->lm_head_cpu * 1e3);
    cpr_bench_row(rep, kname, isa, shape, threads, a->lm_head, -1,
                  lm_bytes / a->lm_head * 1e-9, a->lm_head / a->step, note);
    snprintf(kname, sizeof kname, "acct %s attention", form);
    snprintf(note, sizeof note, "%.2f ms/token (CPU %.2f ms): step at context "
             "%d minus step at context 0 (%.2f ms)", attn * 1e3,
             (a->step_cpu - a->step0_cpu) * 1e3, CTX, a->step0 * 1e3);
    cpr_bench_row(rep, kname, isa, shape, threads, attn, -1, -1, attn / a->step,
                  note);
    snprintf(kname, sizeof kname, "acct %s other", form);
    snprintf(note, sizeof note, "%.2f ms/token (CPU %.2f ms): step - linears "
             "- lm_head - attention (norms, RoPE, SwiGLU, embedding, cache "
             "writes); pool hand-offs alone %.2f ms/token", other * 1e3,
             (a->step0_cpu - lin_c - a->lm_head_cpu) * 1e3, a->handoff * 1e3);
    cpr_bench_row(rep, kname, isa, shape, threads, other, -1, -1,
                  other / a->step, note);
    snprintf(kname, sizeof kname, "acct %s step", form);
    snprintf(note, sizeof note, "%.2f ms/token (CPU %.2f ms), whole decode "
             "step at context %d (accounting pass)", a->step * 1e3,
             a->step_cpu * 1e3, CTX);
    cpr_bench_row(rep, kname, isa, shape, threads, a->step, -1, -1, 1, note);
}

static double time_prefill(struct cpr_decode *d, float *logits) {
    struct cpr_err err = {0};
    int32_t tok[PREFILL_TOKENS];
    for (int i = 0; i < PREFILL_TOKENS; i++) tok[i] = (i * 131 + 7) % 32000;
    cpr_decode_reset(d);
    double t0 = cpr_bench_now();
    if (cpr_decode_step(d, tok, PREFILL_TOKENS, 0, logits, &err) != CPR_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return -1;
    }
    return cpr_bench_now() - t0;
}

static void fill_cache(struct cpr_decode *d) {
    const struct cpr_model_config *c = &d->model->cfg;
    size_t n = (size_t)(c->n_layers * d->max_ctx * c->n_kv_heads * c->head_dim);
    struct cpr_rng r;
    cpr_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) {
        d->kcache[i] = (float)(cpr_rng_uniform_f64(&r) - 0.5);
        d->vcache[i] = (float)(cpr_rng_uniform_f64(&r) - 0.5);
    }
}

int main(void) {
    const struct cpr_kernels *k = cpr_kernels_get();
    const char *isa = cpr_isa_name(cpr_kernels_isa());
    int threads = (int)cpr_cpu_count();
    const char *tenv = getenv("CPRUNE_BENCH_THREADS"); // default: every CPU
    if (tenv && atoi(tenv) > 0) threads = atoi(tenv);
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    if (cpr_pool_init(&pool, (size_t)threads, &err) != CPR_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return 1;
    }
    // Memory per layer: the dense bf16 layer (405 MB), its largest
    // compressed form (50% bitmask / 2:4, 228 MB) and two KV caches (the
    // dense and the compressed decode's, 17 MB each at context 512): 0.67
    // GB. Fixed: embeddings + lm_head (524 MB), the stream buffer
    // (STREAM_MB), the pruning scratch and activations (~0.3 GB). Leave
    // 1.5 GB of MemAvailable to the rest of the machine.
    double avail = mem_available_gb();
    int64_t layers = (int64_t)((avail - 1.5 - 0.524 - STREAM_MB / 1024.0 - 0.3) / 0.67);
    if (layers > FULL_LAYERS) layers = FULL_LAYERS;
    if (layers < 1) layers = 1;
    const char *env = getenv("CPRUNE_BENCH_LAYERS");
    if (env && atoi(env) > 0) layers = atoi(env);
    int reps = 5;
    const char *renv = getenv("CPRUNE_BENCH_REPS");
    if (renv && atoi(renv) > 0) reps = atoi(renv) < MAX_REPS ? atoi(renv) : MAX_REPS;
    fprintf(stderr, "bench_sparse: %lld of 32 layers (MemAvailable %.1f GB), "
            "%d reps\n", (long long)layers, avail, reps);
    struct cpr_synth_spec spec = {
        .arch = CPR_ARCH_LLAMA, .hidden = 4096, .intermediate = 11008,
        .n_layers = layers, .n_heads = 32, .n_kv_heads = 32, .vocab = 32000,
        .context = 4096, .dtype = CPR_DTYPE_BF16, .seed = 7, .rope_theta = 10000,
        .bos_id = 1, .eos_id = 2};
    struct cpr_model dense;
    double t0 = cpr_bench_now();
    if (cpr_synth_model(&dense, &spec, &err) != CPR_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "bench_sparse: synth %.1f s\n", cpr_bench_now() - t0);
    double gbps = cpr_bench_stream_gbps(pool);
    // The ceilings' bandwidth: one read pass over STREAM_MB of memory
    // allocated as the weights are (plain heap), before and after every
    // timed decode rep, on the same threads; median per variant.
    size_t sn = (size_t)STREAM_MB << 18; // floats
    float *sbuf = malloc(sn * sizeof(float));
    float *ax = malloc((size_t)spec.intermediate * sizeof(float));
    float *ay = malloc((size_t)spec.intermediate * sizeof(float));
    if (!sbuf || !ax || !ay) {
        fprintf(stderr, "bench_sparse: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < sn; i++) sbuf[i] = (float)(i & 1023);
    for (int64_t i = 0; i < spec.intermediate; i++)
        ax[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    struct acct acc_d[V_COUNT * ACCT_REPS];
    int n_acc_d = 0;
    float *logits = malloc(32000 * sizeof(float));
    struct cpr_decode dd;
    if (cpr_decode_init(&dd, &dense, k, pool, CTX + DECODE_TOKENS,
                        PREFILL_TOKENS, &err) != CPR_OK) {
        fprintf(stderr, "bench_sparse: %s\n", err.msg);
        return 1;
    }
    fill_cache(&dd);
    // The dense baseline is the faster of the default table and, on
    // AVX512BF16 machines, the AVX-512 table (both stream W rows for
    // m <= 4: vdpbf16ps with x rounded to bf16, or f32 FMAs).
    static struct cpr_kernels k512;
    struct cpr_decode dd2;
    memset(&dd2, 0, sizeof dd2);
    // (off unless CPRUNE_BENCH_DENSE2=1: with the prefetching AVX512-BF16
    // GEMV the AVX-512 table is the slower one; it cost a third of the time)
    const char *d2 = getenv("CPRUNE_BENCH_DENSE2");
    int have2 = d2 && atoi(d2) == 1 && cpr_kernels_isa() == CPR_ISA_AVX512BF16 &&
                cpr_kernels_build(&k512, CPR_ISA_AVX512) == CPR_ISA_AVX512;
    if (have2) {
        if (cpr_decode_init(&dd2, &dense, &k512, pool, CTX + DECODE_TOKENS, 1,
                            &err) != CPR_OK)
            return 1;
        size_t nc = (size_t)(layers * dd2.max_ctx * 4096) * sizeof(float);
        memcpy(dd2.kcache, dd.kcache, nc);
        memcpy(dd2.vcache, dd.vcache, nc);
    }
    struct cpr_model dense_pre = dense;
    dense_pre.cfg.n_layers = PREFILL_LAYERS < layers ? PREFILL_LAYERS : layers;
    struct cpr_decode dp;
    if (cpr_decode_init(&dp, &dense_pre, k, pool, PREFILL_TOKENS,
                        PREFILL_TOKENS, &err) != CPR_OK)
        return 1;

    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "sparse", threads);
    char shape[96], note[320];
    double dense_lin = linear_bytes(&dense), other = other_bytes(&dense);
    double dense_ceiling = gbps * 1e9 / (dense_lin + other);
    snprintf(shape, sizeof shape, "7B-shape L=%lld ctx=%d", (long long)layers, CTX);
    snprintf(note, sizeof note, "stream bandwidth %.1f GB/s (ratio column: "
             "fraction of the stream bandwidth)", gbps);
    cpr_bench_row(&rep, "stream_read", isa, "1 GiB", threads, -1, -1, gbps, -1,
                  note);
    char kname0[64];
    double best_dense_all = 1e300;
    for (int v = 0; v < V_COUNT; v++) {
        struct cpr_model sm;
        if (build_variant(k, pool, &dense, (enum variant)v, &sm)) return 1;
        struct cpr_decode sd;
        if (cpr_decode_init(&sd, &sm, k, pool, CTX + DECODE_TOKENS,
                            PREFILL_TOKENS, &err) != CPR_OK)
            return 1;
        memcpy(sd.kcache, dd.kcache, (size_t)(layers * sd.max_ctx * 4096) * 4);
        memcpy(sd.vcache, dd.vcache, (size_t)(layers * sd.max_ctx * 4096) * 4);
        double td1[MAX_REPS], td2[MAX_REPS], ts[MAX_REPS], rr[MAX_REPS];
        double cd[MAX_REPS], cs[MAX_REPS], gs[3 * MAX_REPS + 1];
        int ng = 0;
        time_decode(&dd, logits); // warm up
        time_decode(&sd, logits);
        if (have2) time_decode(&dd2, logits);
        int bad = 0;
        gs[ng++] = cpr_bench_stream_pass(pool, sbuf, sn);
        for (int r = 0; r < reps; r++) {
            td1[r] = time_decode_at(&dd, CTX, logits, &cd[r]);
            gs[ng++] = cpr_bench_stream_pass(pool, sbuf, sn);
            ts[r] = time_decode_at(&sd, CTX, logits, &cs[r]);
            gs[ng++] = cpr_bench_stream_pass(pool, sbuf, sn);
            td2[r] = have2 ? time_decode(&dd2, logits) : 1e300;
            if (have2) gs[ng++] = cpr_bench_stream_pass(pool, sbuf, sn);
            bad |= td1[r] <= 0 || ts[r] <= 0 || td2[r] <= 0;
        }
        if (bad) return 1;
        // This variant's ceiling: the median of the passes around its reps.
        double gmed = median_any(gs, ng);
        snprintf(note, sizeof note, "median of %d read passes of %d MiB "
                 "interleaved with the %s reps (%.1f-%.1f GB/s)", ng, STREAM_MB,
                 vname[v], min_of(gs, ng), max_of(gs, ng));
        snprintf(kname0, sizeof kname0, "stream_read %s", vname[v]);
        cpr_bench_row(&rep, kname0, isa, "interleaved", threads, -1, -1, gmed,
                      -1, note);
        gbps = gmed;
        dense_ceiling = gbps * 1e9 / (dense_lin + other);
        double bd1 = median(td1, reps), bd2 = median(td2, reps);
        const double *td = bd2 < bd1 ? td2 : td1;
        for (int r = 0; r < reps; r++) rr[r] = td[r] / ts[r];
        double bd = bd2 < bd1 ? bd2 : bd1, bs = median(ts, reps);
        double ratio = median(rr, reps);
        if (bd < best_dense_all) best_dense_all = bd;
        double sp_lin = linear_bytes(&sm);
        double ceil_tps = gbps * 1e9 / (sp_lin + other);
        double allowed = (dense_lin + other) / (sp_lin + other);
        char other_t[48] = "";
        if (have2)
            snprintf(other_t, sizeof other_t, ", other table %.3f",
                     1 / (bd2 < bd1 ? bd1 : bd2));
        snprintf(note, sizeof note, "dense %.3f tok/s (%.0f%% of its ceiling "
                 "%.2f; %s table%s); speedup %.2fx (%d reps: "
                 "%.2f-%.2f) of %.2fx allowed by bytes; CPU s per token "
                 "dense %.3f, compressed %.3f (wall %.3f, %.3f)", 1 / bd,
                 100 / bd / dense_ceiling, dense_ceiling,
                 bd2 < bd1 ? "avx512" : isa, other_t, ratio,
                 reps, min_of(rr, reps), max_of(rr, reps), allowed,
                 median(cd, reps), median(cs, reps), bd1, bs);
        char kname[64];
        snprintf(kname, sizeof kname, "decode %s", vname[v]);
        // ratio = speedup vs dense (same run, interleaved); GB/s = bytes
        // read per token / seconds per token.
        cpr_bench_row(&rep, kname, isa, shape, threads, bs, -1,
                      (sp_lin + other) / bs * 1e-9, ratio, note);
        snprintf(note, sizeof note, "%.3f tok/s = %.0f%% of the bandwidth "
                 "ceiling %.2f tok/s; linears %.2f GB vs dense %.2f GB "
                 "(%.3fx)", 1 / bs, 100 / bs / ceil_tps, ceil_tps, sp_lin / 1e9,
                 dense_lin / 1e9, sp_lin / dense_lin);
        snprintf(kname, sizeof kname, "ceiling %s", vname[v]);
        cpr_bench_row(&rep, kname, isa, shape, threads, bs, -1, -1,
                      1 / bs / ceil_tps, note);
        // Accounting, dense and compressed interleaved.
        {
            struct acct as[ACCT_REPS], med;
            for (int r = 0; r < ACCT_REPS; r++) {
                if (account(&dd, ax, ay, logits, &acc_d[n_acc_d++]) ||
                    account(&sd, ax, ay, logits, &as[r]))
                    return 1;
            }
            acct_median(as, ACCT_REPS, &med);
            acct_rows(&rep, isa, shape, threads, vname[v], &med,
                      (double)cpr_tensor_nbytes(&dense.lm_head));
        }
        // Memory: the whole model's weight bytes, compressed vs dense, at
        // this layer count and extrapolated to 32 layers (per-layer bytes
        // scale linearly; embeddings and lm_head are fixed).
        {
            double fixed = (double)cpr_tensor_nbytes(&dense.tok_embed) +
                           (double)cpr_tensor_nbytes(&dense.lm_head);
            double per_d = dense_lin / (double)layers, per_s = sp_lin / (double)layers;
            double r_here = (fixed + sp_lin) / (fixed + dense_lin);
            double r_32 = (fixed + 32 * per_s) / (fixed + 32 * per_d);
            snprintf(kname, sizeof kname, "memory %s", vname[v]);
            snprintf(note, sizeof note, "model bytes compressed/dense: %.3f at "
                     "%lld layers, %.3f at 32 (linears alone %.3f)", r_here,
                     (long long)layers, r_32, sp_lin / dense_lin);
            cpr_bench_row(&rep, kname, isa, shape, threads, -1, -1, -1, r_32,
                          note);
        }
        // Prefill on the first PREFILL_LAYERS blocks.
        struct cpr_model sm_pre = sm;
        sm_pre.cfg.n_layers = dense_pre.cfg.n_layers;
        struct cpr_decode sp;
        if (cpr_decode_init(&sp, &sm_pre, k, pool, PREFILL_TOKENS,
                            PREFILL_TOKENS, &err) != CPR_OK)
            return 1;
        double tpd[MAX_REPS], tps[MAX_REPS], pr[MAX_REPS];
        time_prefill(&sp, logits); // warm up
        for (int r = 0; r < reps; r++) {
            tpd[r] = time_prefill(&dp, logits);
            tps[r] = time_prefill(&sp, logits);
            if (tpd[r] <= 0 || tps[r] <= 0) return 1;
            pr[r] = tpd[r] / tps[r];
        }
        double pd = median(tpd, reps), ps = median(tps, reps);
        double pratio = median(pr, reps);
        snprintf(kname, sizeof kname, "prefill %s", vname[v]);
        snprintf(shape, sizeof shape, "%d tok, %lld layers", PREFILL_TOKENS,
                 (long long)sm_pre.cfg.n_layers);
        snprintf(note, sizeof note, "compressed %.1f tok/s vs dense %.1f "
                 "tok/s (medians; ratio = median of %d per-rep ratios, "
                 "%.2f-%.2f; target >= 0.9)", PREFILL_TOKENS / ps,
                 PREFILL_TOKENS / pd, reps, min_of(pr, reps), max_of(pr, reps));
        cpr_bench_row(&rep, kname, isa, shape, threads, ps, -1, -1, pratio,
                      note);
        snprintf(shape, sizeof shape, "7B-shape L=%lld ctx=%d", (long long)layers,
                 CTX);
        cpr_decode_free(&sp);
        cpr_decode_free(&sd);
        free_variant(&sm);
    }
    {
        struct acct med;
        acct_median(acc_d, n_acc_d, &med);
        acct_rows(&rep, isa, shape, threads, "dense", &med,
                  (double)cpr_tensor_nbytes(&dense.lm_head));
    }
    snprintf(note, sizeof note, "dense bf16 decode, best median of the runs above; "
             "bytes/token %.2f GB", (dense_lin + other) / 1e9);
    cpr_bench_row(&rep, "decode dense", isa, shape, threads, best_dense_all, -1,
                  (dense_lin + other) / best_dense_all * 1e-9,
                  1 / best_dense_all / dense_ceiling, note);
    int rc = cpr_bench_report_close(&rep);
    cpr_decode_free(&dd);
    cpr_decode_free(&dd2);
    cpr_decode_free(&dp);
    free(logits);
    free(sbuf), free(ax), free(ay);
    cpr_model_free(&dense);
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
