// bench/bench_struct_gemm.c: the GEMM rate of every decoder linear (and
// lm_head) of several models, dense and structured-pruned, with their own
// weights as eval uses them (mapped from the files, bf16 as stored, M
// tokens of f32 activations, through core/matmul.h on the pool): does a
// pruned width (FLAP AL-AM: per-layer N or K such as 7696, heads x 128)
// run at the dense shape's GFLOP/s?
// usage: bench_struct_gemm MODEL_DIR... (the first is the reference)
// Every linear of every model is timed once per round, models and layers
// interleaved, in process CPU seconds (all threads) and wall seconds; each
// call keeps its best (least) time over the rounds (other load only ever
// adds time), and the rate of a shape is its flops over the sum of its
// layers' best times. Rows: one per
// distinct (role, N, K) of each model, with the number of layers that have
// it, GFLOP per CPU-second and per wall-second, and the CPU rate relative
// to the reference model's rate for the same role; then one "all" row per
// model (every linear, lm_head included) and its time ratio against the
// reference next to the flop ratio.
// Environment: SGEMM_M (512), SGEMM_ROUNDS (3), SGEMM_THREADS (2),
// SGEMM_LAYERS (all: time only the first that many layers, and lm_head),
// SGEMM_PAD (diagnostics of row alignment, not eval's layout; bit 1: copy
// each weight into a malloc'd buffer whose rows start on 64-byte
// boundaries; bit 2: x and y row strides rounded up to 16 floats).
// Results: bench/results/struct_gemm.json (and the table on stdout).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/matmul.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/rng.h"
#include "data/model_load.h"
#include "simd/kernels.h"

enum { MAXM = 4, MAXL = 256, NROLE = 8, MAXSH = 1024 };

static const char *const ROLE[NROLE] = {"q_proj", "k_proj", "v_proj",
                                        "o_proj", "gate_proj", "up_proj",
                                        "down_proj", "lm_head"};

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    return v && atol(v) > 0 ? atol(v) : def;
}

// One distinct shape of one role of one model and its accumulated times.
struct shp {
    int model, role;
    size_t n, k, layers;
    double flops, cpu, wall; // summed over its layers (best of the rounds)
};

// Best CPU and wall seconds of each call (model, layer, role) so far.
static double BC[MAXM][MAXL + 1][NROLE], BW[MAXM][MAXL + 1][NROLE];

static struct shp SH[MAXSH];
static size_t NSH;

static struct shp *shape_slot(int model, int role, size_t n, size_t k) {
    for (size_t i = 0; i < NSH; i++)
        if (SH[i].model == model && SH[i].role == role && SH[i].n == n && SH[i].k == k)
            return &SH[i];
    if (NSH == MAXSH) return NULL;
    SH[NSH] = (struct shp){.model = model, .role = role, .n = n, .k = k};
    return &SH[NSH++];
}

// The weight of role r in layer l (l == n_layers: lm_head); NULL if unset.
static const struct cpr_tensor *lin(const struct cpr_model *m, int64_t l, int r) {
    if (l == m->cfg.n_layers) return r == 7 ? &m->lm_head : NULL;
    const struct cpr_layer *L = &m->layers[l];
    const struct cpr_tensor *t[7] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                     &L->w_gate, &L->w_up, &L->w_down};
    if (r >= 7 || !t[r]->data || t[r]->ndim != 2) return NULL;
    return t[r];
}

// The layer of model m that step l of a walk over 0..lmax visits (lmax:
// lm_head, i.e. the index n_layers that lin() maps to it), or -1 when m
// has no layer l (a depth-pruned model is shorter than the longest one).
static int64_t step_layer(const struct cpr_model *m, int64_t l, int64_t lmax) {
    if (l == lmax) return m->cfg.n_layers;
    return l < m->cfg.n_layers ? l : -1;
}

// SGEMM_PAD: an owned copy of w with rows padded to 64 bytes.
static int pad_copy(struct cpr_tensor *w) {
    size_t es = w->dtype == CPR_DTYPE_F32 ? 4 : 2;
    size_t n = (size_t)w->shape[0], k = (size_t)w->shape[1];
    size_t ld = (k * es + 63) / 64 * 64 / es;
    void *p = NULL;
    if (posix_memalign(&p, 64, n * ld * es)) return -1;
    for (size_t i = 0; i < n; i++)
        memcpy((char *)p + i * ld * es,
               (const char *)w->data + i * (size_t)w->stride[0] * es, k * es);
    w->data = p;
    w->stride[0] = (int64_t)ld;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { // `make bench` runs every bench bare: bench_struct.sh passes models
        printf("SKIP bench_struct_gemm: no model given (bench/bench_struct.sh "
               "passes its models)\n");
        return 0;
    }
    if (argc - 1 > MAXM) {
        fprintf(stderr, "usage: bench_struct_gemm MODEL_DIR... (1 to %d)\n", MAXM);
        return 2;
    }
    const int nm = argc - 1;
    const size_t M = (size_t)env_long("SGEMM_M", 512);
    const int R = (int)env_long("SGEMM_ROUNDS", 3);
    const int TH = (int)env_long("SGEMM_THREADS", 2);
    const int PAD = (int)env_long("SGEMM_PAD", 0) & 3;
    const int64_t NL = env_long("SGEMM_LAYERS", MAXL);
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    static struct cpr_model m[MAXM];
    float *x = NULL, *y = NULL;
    if (cpr_pool_init(&pool, (size_t)TH, &err)) goto fail;
    size_t kmax = 0, nmax = 0;
    int64_t lmax = 0;
    for (int i = 0; i < nm; i++) {
        if (cpr_model_load(argv[i + 1], &m[i], &err)) goto fail;
        int64_t nl = m[i].cfg.n_layers < NL ? m[i].cfg.n_layers : NL;
        if (nl > lmax) lmax = nl;
        for (int64_t l = 0; l <= nl; l++)
            for (int r = 0; r < NROLE; r++) {
                const struct cpr_tensor *w = lin(&m[i], l == nl ? m[i].cfg.n_layers : l, r);
                if (!w) continue;
                if ((size_t)w->shape[0] > nmax) nmax = (size_t)w->shape[0];
                if ((size_t)w->shape[1] > kmax) kmax = (size_t)w->shape[1];
                if ((PAD & 1) && pad_copy((struct cpr_tensor *)w)) {
                    fprintf(stderr, "bench_struct_gemm: out of memory\n");
                    return 1;
                }
            }
    }
    kmax = (kmax + 15) / 16 * 16, nmax = (nmax + 15) / 16 * 16;
    if (posix_memalign((void **)&x, 64, M * kmax * sizeof *x)) x = NULL;
    if (posix_memalign((void **)&y, 64, M * nmax * sizeof *y)) y = NULL;
    if (!x || !y) {
        fprintf(stderr, "bench_struct_gemm: out of memory\n");
        return 1;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 7);
    for (size_t i = 0; i < M * kmax; i++) x[i] = (float)cpr_rng_normal(&rng);
    for (int rd = -1; rd < R; rd++) // round -1: warm (page faults), untimed
        for (int64_t l = 0; l <= lmax; l++)
            for (int i = 0; i < nm; i++) {
                int64_t ll = step_layer(&m[i], l, lmax);
                if (ll < 0) continue;
                for (int r = 0; r < NROLE; r++) {
                    const struct cpr_tensor *w = lin(&m[i], ll, r);
                    if (!w) continue;
                    size_t n = (size_t)w->shape[0], k = (size_t)w->shape[1];
                    size_t ldx = PAD & 2 ? (k + 15) / 16 * 16 : k;
                    size_t ldy = PAD & 2 ? (n + 15) / 16 * 16 : n;
                    double c0 = cpr_bench_cpu_now(), w0 = cpr_bench_now();
                    if (cpr_matmul(pool, NULL, M, x, ldx, w, y, ldy, 0.0f, &err)) goto fail;
                    double c = cpr_bench_cpu_now() - c0, wt = cpr_bench_now() - w0;
                    if (rd < 0) continue;
                    if (rd == 0 || c < BC[i][l][r]) BC[i][l][r] = c;
                    if (rd == 0 || wt < BW[i][l][r]) BW[i][l][r] = wt;
                }
            }
    for (int i = 0; i < nm; i++)
        for (int64_t l = 0; l <= lmax; l++) {
            int64_t ll = step_layer(&m[i], l, lmax);
            if (ll < 0) continue;
            for (int r = 0; r < NROLE; r++) {
                const struct cpr_tensor *w = lin(&m[i], ll, r);
                if (!w) continue;
                size_t n = (size_t)w->shape[0], k = (size_t)w->shape[1];
                struct shp *s = shape_slot(i, r, n, k);
                if (!s) {
                    fprintf(stderr, "bench_struct_gemm: more than %d shapes\n", MAXSH);
                    return 1;
                }
                s->layers++;
                s->flops += 2.0 * (double)M * (double)n * (double)k;
                s->cpu += BC[i][l][r], s->wall += BW[i][l][r];
            }
        }
    // per model and role: the reference rate (all its layers together)
    double rate[MAXM][NROLE + 1], fl[MAXM][NROLE + 1], cpu[MAXM][NROLE + 1];
    memset(fl, 0, sizeof fl), memset(cpu, 0, sizeof cpu);
    double wall[MAXM] = {0};
    for (size_t i = 0; i < NSH; i++) {
        fl[SH[i].model][SH[i].role] += SH[i].flops;
        cpu[SH[i].model][SH[i].role] += SH[i].cpu;
        fl[SH[i].model][NROLE] += SH[i].flops;
        cpu[SH[i].model][NROLE] += SH[i].cpu;
        wall[SH[i].model] += SH[i].wall;
    }
    for (int i = 0; i < nm; i++)
        for (int r = 0; r <= NROLE; r++)
            rate[i][r] = cpu[i][r] > 0 ? fl[i][r] / cpu[i][r] / 1e9 : 0;
    const struct cpr_kernels *kt = cpr_kernels_get();
    enum cpr_isa isa = CPR_ISA_SCALAR;
    for (size_t i = 0; cpr_kernel_slot_names[i]; i++)
        if (!strcmp(cpr_kernel_slot_names[i], "gemm_bf16w")) isa = kt->slot_isa[i];
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "struct_gemm", TH);
    printf("M=%zu, %d threads, ISA %s, best of %d interleaved rounds%s; GF/cpu-s and "
           "GF/wall-s: GFLOP per CPU / wall second; rel: CPU rate over the "
           "first model's for the role\n", M, TH, cpr_isa_name(isa), R,
           PAD == 1 ? ", W rows padded to 64 bytes (SGEMM_PAD=1)"
           : PAD == 2 ? ", x/y strides padded to 16 floats (SGEMM_PAD=2)"
           : PAD == 3 ? ", W rows and x/y strides padded (SGEMM_PAD=3)" : "");
    printf("%-6s %-10s %6s %6s %6s %9s %9s %7s\n", "model", "role", "N", "K",
           "layers", "GF/cpu-s", "GF/wall-s", "rel");
    for (int i = 0; i < nm; i++) {
        const char *name = strrchr(argv[i + 1], '/');
        name = name && name[1] ? name + 1 : argv[i + 1];
        for (int r = 0; r < NROLE; r++)
            for (size_t s = 0; s < NSH; s++) {
                const struct shp *h = &SH[s];
                if (h->model != i || h->role != r) continue;
                double gc = h->flops / h->cpu / 1e9, gw = h->flops / h->wall / 1e9;
                double rel = rate[0][r] > 0 ? gc / rate[0][r] : 0;
                printf("%-6.6s %-10s %6zu %6zu %6zu %9.1f %9.1f %7.3f\n", name,
                       ROLE[r], h->n, h->k, h->layers, gc, gw, rel);
                char shape[96], note[256];
                snprintf(shape, sizeof shape, "%s %s M=%zu N=%zu K=%zu x%zu",
                         name, ROLE[r], M, h->n, h->k, h->layers);
                snprintf(note, sizeof note, "ratio: GFLOP per CPU-second over "
                         "%s %s (all layers); seconds: best CPU per call; best of %d rounds%s",
                         argv[1], ROLE[r], R, PAD ? "; padded (SGEMM_PAD)" : "");
                cpr_bench_row(&rep, "gemm_bf16w", cpr_isa_name(isa), shape, TH,
                              h->cpu / (double)h->layers, gc, -1,
                              rel, note);
            }
    }
    printf("%-6s %9s %9s %9s %9s %9s\n", "model", "GF/cpu-s", "rel", "cpu_s",
           "time_x", "flop_x");
    for (int i = 0; i < nm; i++) {
        const char *name = strrchr(argv[i + 1], '/');
        name = name && name[1] ? name + 1 : argv[i + 1];
        printf("%-6.6s %9.1f %9.3f %9.3f %9.3f %9.3f\n", name, rate[i][NROLE],
               rate[i][NROLE] / rate[0][NROLE], cpu[i][NROLE],
               cpu[0][NROLE] / cpu[i][NROLE], fl[0][NROLE] / fl[i][NROLE]);
        char shape[96];
        snprintf(shape, sizeof shape, "%s all linears + lm_head M=%zu", name, M);
        cpr_bench_row(&rep, "gemm_bf16w", cpr_isa_name(isa), shape, TH,
                      cpu[i][NROLE], rate[i][NROLE], -1,
                      rate[i][NROLE] / rate[0][NROLE],
                      "ratio: GFLOP per CPU-second over the first model's; "
                      "seconds: CPU of one pass (best call times summed)");
    }
    printf("(all: every linear and lm_head; cpu_s: CPU seconds of one pass (best per call); "
           "time_x: reference CPU time over this model's; flop_x: reference "
           "flops over this model's; wall of one pass of the first: %.3f s)\n",
           wall[0]);
    int rc = cpr_bench_report_close(&rep) ? 1 : 0;
    free(x), free(y);
    for (int i = 0; i < nm; i++) cpr_model_free(&m[i]);
    cpr_pool_free(pool);
    return rc;
fail:
    fprintf(stderr, "bench_struct_gemm: %s\n", err.msg);
    free(x), free(y);
    return 1;
}
