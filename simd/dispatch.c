// simd/dispatch.c: build kernel tables and choose the ISA once at run time.
//
// Order (HOUSE_STYLE B.5): fill every slot with the scalar kernel, then let
// each supported level up to the cap overwrite the slots it implements.
// Which level each slot ended up with is recorded by comparing the table
// before and after each level's fill functions.
#include "simd/kernels.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- slot list (table order) ----
#define SLOT(name) {#name, offsetof(struct cpr_kernels, name)}
static const struct {
    const char *name;
    size_t off;
} slots[] = {
    SLOT(dot_f32),          SLOT(axpy_f32),       SLOT(scale_f32),
    SLOT(axpy_rows_f32),
    SLOT(bf16_to_f32),      SLOT(f32_to_bf16),    SLOT(f16_to_f32),
    SLOT(f32_to_f16),       SLOT(gemm_f32),       SLOT(gemm_bf16w),
    SLOT(gemm_f16w),        SLOT(syrk_f32),       SLOT(colstats_f32),
    SLOT(absmul_f32),       SLOT(count_zeros_f32), SLOT(rmsnorm_f32),
    SLOT(layernorm_f32),    SLOT(softmax_f32),    SLOT(logsoftmax_f32),
    SLOT(logsumexp_f32),    SLOT(rope_half_f32),  SLOT(rope_interleaved_f32),
    SLOT(silu_f32),         SLOT(gelu_f32),       SLOT(gelu_tanh_f32),
    SLOT(swiglu_f32),       SLOT(select_smallest_f32), SLOT(kth_smallest_f32),
    SLOT(nm_mask_f32),      SLOT(cholesky_f32),   SLOT(trsm_rlt_f32),
    SLOT(trinv_f32),
    SLOT(spmv_bitmask_f32), SLOT(spmv_bitmask_bf16), SLOT(spmv_bitmask_f16),
    SLOT(spmv_nm24_f32),    SLOT(spmv_nm24_bf16),    SLOT(spmv_nm24_f16),
    SLOT(unpack_bitmask_h16), SLOT(unpack_bitmask_f32), SLOT(unpack_nm24_h16),
    SLOT(unpack_nm24_f32),
    SLOT(gemm_nn_f32),      SLOT(gemm_nn_bf16b),  SLOT(gemm_tn_f32),
    SLOT(spgemm_f32), SLOT(spgemm_bf16), SLOT(spgemm_f16),
};
#undef SLOT
#define N_SLOTS (sizeof slots / sizeof slots[0])

const char *const cpr_kernel_slot_names[] = {
    "dot_f32",       "axpy_f32",       "scale_f32",      "axpy_rows_f32",
    "bf16_to_f32",
    "f32_to_bf16",   "f16_to_f32",     "f32_to_f16",     "gemm_f32",
    "gemm_bf16w",    "gemm_f16w",      "syrk_f32",       "colstats_f32",
    "absmul_f32",    "count_zeros_f32", "rmsnorm_f32",   "layernorm_f32",
    "softmax_f32",   "logsoftmax_f32", "logsumexp_f32",  "rope_half_f32",
    "rope_interleaved_f32", "silu_f32", "gelu_f32",      "gelu_tanh_f32",
    "swiglu_f32",    "select_smallest_f32", "kth_smallest_f32", "nm_mask_f32",
    "cholesky_f32",  "trsm_rlt_f32",   "trinv_f32",
    "spmv_bitmask_f32", "spmv_bitmask_bf16", "spmv_bitmask_f16",
    "spmv_nm24_f32", "spmv_nm24_bf16", "spmv_nm24_f16",
    "unpack_bitmask_h16", "unpack_bitmask_f32", "unpack_nm24_h16",
    "unpack_nm24_f32",
    "gemm_nn_f32",   "gemm_nn_bf16b",  "gemm_tn_f32",
    "spgemm_f32", "spgemm_bf16", "spgemm_f16", NULL,
};

size_t cpr_kernel_slot_count(void) { return N_SLOTS; }

// ---- ISA names ----
static const char *const isa_names[CPR_ISA_COUNT] = {
    [CPR_ISA_SCALAR] = "scalar", [CPR_ISA_AVX2] = "avx2",
    [CPR_ISA_AVX512] = "avx512", [CPR_ISA_AVX512BF16] = "avx512bf16",
    [CPR_ISA_NEON] = "neon",
};

const char *cpr_isa_name(enum cpr_isa isa) {
    return (unsigned)isa < CPR_ISA_COUNT ? isa_names[isa] : "unknown";
}

int cpr_isa_parse(const char *name) {
    for (int i = 0; i < CPR_ISA_COUNT; i++)
        if (name && strcmp(name, isa_names[i]) == 0) return i;
    return -1;
}

enum cpr_isa cpr_isa_best(enum cpr_isa cap) {
    const struct cpr_cpu_features *f = cpr_cpu_features();
    enum cpr_isa best = CPR_ISA_SCALAR;
#if defined(__x86_64__)
    if (f->avx2) best = CPR_ISA_AVX2;
    if (f->avx512) best = CPR_ISA_AVX512;
    if (f->avx512bf16) best = CPR_ISA_AVX512BF16;
    if (cap == CPR_ISA_NEON) cap = CPR_ISA_AVX512BF16; // not this arch
#elif defined(__aarch64__)
    if (f->neon) best = CPR_ISA_NEON;
    if (cap != CPR_ISA_SCALAR) cap = CPR_ISA_NEON; // x86 names mean "best"
#else
    (void)f;
#endif
    return best < cap ? best : cap;
}

// ---- building a table ----
static void fill_level(struct cpr_kernels *k, enum cpr_isa level) {
    switch (level) {
    case CPR_ISA_SCALAR:
        cpr_fill_blas1_scalar(k);
        cpr_fill_convert_scalar(k);
        cpr_fill_gemm_scalar(k);
        cpr_fill_stats_scalar(k);
        cpr_fill_score_scalar(k);
        cpr_fill_norm_scalar(k);
        cpr_fill_rope_scalar(k);
        cpr_fill_act_scalar(k);
        cpr_fill_select_scalar(k);
        cpr_fill_linalg_scalar(k);
        cpr_fill_spmv_scalar(k);
        break;
#if defined(__x86_64__)
    case CPR_ISA_AVX2:
        cpr_fill_blas1_avx2(k);
        cpr_fill_convert_avx2(k);
        cpr_fill_gemm_avx2(k);
        cpr_fill_stats_avx2(k);
        cpr_fill_score_avx2(k);
        cpr_fill_norm_avx2(k);
        cpr_fill_rope_avx2(k);
        cpr_fill_act_avx2(k);
        cpr_fill_select_avx2(k);
        cpr_fill_linalg_avx2(k);
        cpr_fill_spmv_avx2(k);
        break;
    case CPR_ISA_AVX512:
        cpr_fill_blas1_avx512(k);
        cpr_fill_convert_avx512(k);
        cpr_fill_gemm_avx512(k);
        cpr_fill_stats_avx512(k);
        cpr_fill_score_avx512(k);
        cpr_fill_norm_avx512(k);
        cpr_fill_rope_avx512(k);
        cpr_fill_act_avx512(k);
        cpr_fill_select_avx512(k);
        cpr_fill_linalg_avx512(k);
        cpr_fill_spmv_avx512(k);
        break;
    case CPR_ISA_AVX512BF16:
        cpr_fill_gemm_avx512bf16(k);
        if (cpr_cpu_features()->avx512vbmi && cpr_cpu_features()->avx512vbmi2)
            cpr_fill_spmv_avx512bf16(k);
        break;
#endif
#if defined(__aarch64__)
    case CPR_ISA_NEON:
        cpr_fill_blas1_neon(k);
        cpr_fill_convert_neon(k);
        cpr_fill_gemm_neon(k);
        cpr_fill_stats_neon(k);
        cpr_fill_score_neon(k);
        cpr_fill_norm_neon(k);
        cpr_fill_rope_neon(k);
        cpr_fill_act_neon(k);
        cpr_fill_select_neon(k);
        cpr_fill_linalg_neon(k);
        cpr_fill_spmv_neon(k);
        break;
#endif
    default:
        break;
    }
}

enum cpr_isa cpr_kernels_build(struct cpr_kernels *k, enum cpr_isa cap) {
    enum cpr_isa top = cpr_isa_best(cap);
    memset(k, 0, sizeof *k);
    fill_level(k, CPR_ISA_SCALAR);
    for (size_t s = 0; s < N_SLOTS; s++) k->slot_isa[s] = CPR_ISA_SCALAR;
    for (int lv = CPR_ISA_SCALAR + 1; lv <= (int)top; lv++) {
#if defined(__aarch64__)
        if (lv != CPR_ISA_NEON) continue;
#else
        if (lv == CPR_ISA_NEON) continue;
#endif
        struct cpr_kernels before = *k;
        fill_level(k, (enum cpr_isa)lv);
        for (size_t s = 0; s < N_SLOTS; s++)
            if (memcmp((const char *)k + slots[s].off,
                       (const char *)&before + slots[s].off,
                       sizeof(void (*)(void))) != 0)
                k->slot_isa[s] = (enum cpr_isa)lv;
    }
    return top;
}

// ---- the process-wide table ----
static struct cpr_kernels g_table;
static enum cpr_isa g_isa;
static char g_note[128];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_table(void) {
    enum cpr_isa cap = CPR_ISA_COUNT - 1;
#if defined(__x86_64__)
    cap = CPR_ISA_AVX512BF16;
#endif
    const char *env = getenv("CPRUNE_ISA");
    if (env && *env) {
        int p = cpr_isa_parse(env);
        if (p < 0)
            snprintf(g_note, sizeof g_note,
                     "CPRUNE_ISA=%s is not one of scalar|avx2|avx512|"
                     "avx512bf16|neon; ignored", env);
        else {
            cap = (enum cpr_isa)p;
            if (cpr_isa_best(cap) != cap)
                snprintf(g_note, sizeof g_note,
                         "CPRUNE_ISA=%s is not available on this CPU; using %s",
                         env, cpr_isa_name(cpr_isa_best(cap)));
        }
    }
    g_isa = cpr_kernels_build(&g_table, cap);
    const char *dbg = getenv("CPRUNE_ISA_DEBUG");
    if (dbg && *dbg && strcmp(dbg, "0") != 0)
        fprintf(stderr, "cprune: kernels dispatched at ISA %s%s%s\n",
                cpr_isa_name(g_isa), g_note[0] ? " — " : "", g_note);
}

const struct cpr_kernels *cpr_kernels_get(void) {
    pthread_once(&g_once, init_table);
    return &g_table;
}

enum cpr_isa cpr_kernels_isa(void) {
    pthread_once(&g_once, init_table);
    return g_isa;
}

const char *cpr_kernels_env_note(void) {
    pthread_once(&g_once, init_table);
    return g_note;
}
