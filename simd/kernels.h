// simd/kernels.h: the kernel table, its function-pointer types, and runtime
// dispatch.
//
// Every kernel is a pure leaf function: no malloc, no threads, no I/O, no
// globals, no status returns. Kernels accept any n >= 0 (tails handled
// inside) and unaligned pointers; preconditions are asserts. Callers split
// work across threads by passing sub-ranges (offset pointers or row ranges).
//
// Each family has a scalar reference in simd/<family>_scalar.c (the
// executable spec) and optional AVX2+FMA, AVX-512, AVX-512-BF16 and NEON
// versions in simd/<family>_<isa>.c, each exporting one fill function
// `cpr_fill_<family>_<isa>(struct cpr_kernels *k)` that overwrites the slots it
// implements. Dispatch fills every slot with the scalar kernel, then
// overrides level by level up to the chosen ISA (see cpr_kernels_build).
//
// Numerics are stated per typedef. Masks and selections are exact and break
// ties by lower index, so they never depend on ISA or thread count.
#ifndef CPR_SIMD_KERNELS_H
#define CPR_SIMD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// ---- ISA levels ----
// Levels are ordered: a table built for level L contains the best kernel of
// every level <= L that the CPU and OS support. On aarch64 the only levels
// are SCALAR and NEON (NEON is baseline there).
enum cpr_isa {
    CPR_ISA_SCALAR = 0,
    CPR_ISA_AVX2,       // AVX2 + FMA + F16C, OS saves ymm state
    CPR_ISA_AVX512,     // AVX-512 F/BW/DQ/VL, OS saves zmm + opmask state
    CPR_ISA_AVX512BF16, // AVX512 plus AVX512_BF16 (vdpbf16ps)
    CPR_ISA_NEON,       // aarch64 Advanced SIMD
    CPR_ISA_COUNT
};

// ---- blas1 family (simd/blas1_*.c) ----
// sum_i x[i]*y[i]. Scalar accumulates in double; SIMD accumulates in f32
// lanes and reduces at the end (error bound ~ n*eps*sum|x_i*y_i|).
typedef float (*cpr_dot_f32_fn)(size_t n, const float *x, const float *y);
// y[i] += a*x[i]
typedef void (*cpr_axpy_f32_fn)(size_t n, float a, const float *x, float *y);
// x[i] *= a
typedef void (*cpr_scale_f32_fn)(size_t n, float a, float *x);
// o[i] += sum_{t<nt} s[t] * v[t*ldv + i] for i < n (ldv >= n): attention's
// probability-weighted sum of value rows. Contract: bit-identical to the
// same table's axpy_f32 called once per row, t = 0, 1, ..., nt-1
// (axpy_f32(n, s[t], v + t*ldv, o)): the same per-element rounding (FMA or
// not) in the same t order. The AVX-512 and NEON versions keep a block of
// o in registers across rows (AVX2 runs the axpy body per row, which
// measured faster there); all save the indirect call per row.
typedef void (*cpr_axpy_rows_f32_fn)(size_t n, size_t nt, const float *s,
                                     const float *v, size_t ldv, float *o);

// ---- convert family (simd/convert_*.c) ----
// bf16/f16 <-> f32. Widening is exact. Narrowing rounds to nearest even,
// keeps NaN a (quiet) NaN and +-Inf as Inf; f16 narrowing handles
// subnormals and overflows to Inf as IEEE 754 says. Results are bit-exact
// across ISAs.
typedef void (*cpr_cvt_h16_f32_fn)(size_t n, const uint16_t *src, float *dst);
typedef void (*cpr_cvt_f32_h16_fn)(size_t n, const float *src, uint16_t *dst);

// ---- gemm family (simd/gemm_*.c) ----
// y = alpha * x * W^T + beta * y, with x (m, k) row-major stride ldx,
// W (n, k) row-major stride ldw (the nn.Linear layout: one row per output
// feature), y (m, n) row-major stride ldy. beta == 0 means y is write-only
// (NaNs in y are ignored). Accumulation in f32 (FMA); the order of the k-sum
// differs between ISAs, so results agree to ~k*eps relative to sum|x*w|.
// Callers split threads over n (rows of W) by offsetting w and y.
// Every kernel computes each y element with arithmetic that depends only
// on k, its x row, its W row and m (a kernel may switch paths for tiny m),
// never on n or the element's place in a tile, so any split of n gives
// bit-identical results (core/matmul.h relies on this; tests/test_kern_gemm.c
// checks it).
// May use bounded stack scratch (<= 512 KiB).
typedef void (*cpr_gemm_f32_fn)(size_t m, size_t n, size_t k, float alpha,
                                const float *x, size_t ldx, const float *w,
                                size_t ldw, float beta, float *y, size_t ldy);
// Same with W stored as bf16 or f16 (uint16 bit patterns), widened on the
// fly. The AVX512BF16 bf16 kernel rounds x to bf16 too (vdpbf16ps), so its
// results differ from the f32 product by ~2^-8 relative per term; the others
// widen W exactly and compute in f32.
typedef void (*cpr_gemm_h16_fn)(size_t m, size_t n, size_t k, float alpha,
                                const float *x, size_t ldx, const uint16_t *w,
                                size_t ldw, float beta, float *y, size_t ldy);
// Symmetric rank-k update for Hessians: for rows i in [i0, i1) and all
// columns j in [0, n): h[i*ldh + j] += sum_t x[t*ldx + i] * x[t*ldx + j],
// with x (k, n) row-major (k tokens of n features). f32 accumulation.
// Callers split threads over [i0, i1).
typedef void (*cpr_syrk_f32_fn)(size_t n, size_t k, const float *x, size_t ldx,
                                float *h, size_t ldh, size_t i0, size_t i1);
// Backward products of a linear layer y = x W^T (simd/gemm_*.c, same
// driver, numerics and split rules as the gemm slots above):
// gemm_nn: c = alpha * a * B + beta * c, a (m, k) stride lda, B (k, n)
//   row-major stride ldb (f32, or bf16 bit patterns widened exactly),
//   c (m, n) stride ldc. dX = dY W: a = dY (tokens, out), B = W (out, in).
// gemm_tn: c = alpha * A^T * B + beta * c, A (k, m) stride lda, B (k, n)
//   stride ldb. dW = dY^T X: A = dY (tokens, out), B = X (tokens, in),
//   c = dW (out, in).
// beta == 0: c is write-only. f32 accumulation; each c element depends
// only on k and its A row/column and B column, so callers split threads
// over n (offsetting b and c) with bit-identical results.
typedef void (*cpr_gemm_bwd_f32_fn)(size_t m, size_t n, size_t k, float alpha,
                                    const float *a, size_t lda, const float *b,
                                    size_t ldb, float beta, float *c, size_t ldc);
typedef void (*cpr_gemm_bwd_h16_fn)(size_t m, size_t n, size_t k, float alpha,
                                    const float *a, size_t lda,
                                    const uint16_t *b, size_t ldb, float beta,
                                    float *c, size_t ldc);

// ---- stats family (simd/stats_*.c) ----
// Per-column activation statistics over `rows` rows of x (rows, cols),
// stride ldx: sumsq[j] += sum_t (double)x[t][j]^2 and, when sum != NULL,
// sum[j] += sum_t (double)x[t][j]. Rows are added in increasing t for each
// column, in double, so results are bit-identical across ISAs.
typedef void (*cpr_colstats_f32_fn)(size_t rows, size_t cols, const float *x,
                                    size_t ldx, double *sumsq, double *sum);

// ---- score family (simd/score_*.c) ----
// out[j] = |w[j]| * s[j] (one f32 multiply: bit-exact across ISAs).
typedef void (*cpr_absmul_f32_fn)(size_t n, const float *w, const float *s,
                                  float *out);
// Number of elements equal to zero (+0 or -0).
typedef size_t (*cpr_count_zeros_f32_fn)(size_t n, const float *x);

// ---- norm family (simd/norm_*.c) ----
// y = x / sqrt(mean(x^2) + eps) * w (HF LlamaRMSNorm, computed in f32).
// y may alias x.
typedef void (*cpr_rmsnorm_f32_fn)(size_t n, const float *x, const float *w,
                                   float eps, float *y);
// y = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance);
// beta may be NULL. y may alias x.
typedef void (*cpr_layernorm_f32_fn)(size_t n, const float *x,
                                     const float *gamma, const float *beta,
                                     float eps, float *y);
// softmax / log-softmax with max subtraction; y may alias x. n >= 1.
typedef void (*cpr_softmax_f32_fn)(size_t n, const float *x, float *y);
// log(sum_i exp(x[i])) computed as max + log(sum exp(x[i]-max)), the
// exponentials in f32 and their sum in double. n >= 1.
typedef double (*cpr_logsumexp_f32_fn)(size_t n, const float *x);

// ---- rope family (simd/rope_*.c) ----
// Rotate n_heads heads of head_dim (even) floats, contiguous, for one token
// position; cos/sin hold head_dim/2 angles for that position.
// half-split (HF): pairs (i, i + d/2); interleaved (llama2.c): (2i, 2i+1).
//   x0' = x0*cos - x1*sin ; x1' = x1*cos + x0*sin
typedef void (*cpr_rope_f32_fn)(size_t n_heads, size_t head_dim, float *x,
                                const float *cos, const float *sin);

// ---- act family (simd/act_*.c) ----
// y = silu(x) = x / (1 + exp(-x)); y = gelu(x) exact (erf) or tanh approx.
// y may alias x.
typedef void (*cpr_unary_f32_fn)(size_t n, const float *x, float *y);
// out = silu(gate) * up; out may alias gate or up.
typedef void (*cpr_swiglu_f32_fn)(size_t n, const float *gate,
                                  const float *up, float *out);

// ---- select family (simd/select_*.c) ----
// Order used by every selection kernel: (score, index) ascending, NaN
// ranked above +Inf, so ties go to the lower index. Scores that compare
// equal as floats are ties (-0 and +0 tie); all NaNs tie with each other.
// Set mask[i] = 1 for exactly the k smallest elements, 0 elsewhere.
// k <= n. scratch holds at least n uint32 (contents undefined after).
typedef void (*cpr_select_smallest_f32_fn)(size_t n, size_t k,
                                           const float *score, uint8_t *mask,
                                           uint32_t *scratch);
// The k-th smallest value (k in [1, n]) in the order above. scratch holds
// at least n uint32. Zeros are returned as +0 and NaN as the default quiet
// NaN, so the result is bit-identical across ISAs.
typedef float (*cpr_kth_smallest_f32_fn)(size_t n, size_t k, const float *x,
                                         uint32_t *scratch);
// N:M mask: n is a multiple of m; in each group of m consecutive elements
// set mask = 1 on the n_prune smallest (ties: lower index), 0 elsewhere.
typedef void (*cpr_nm_mask_f32_fn)(size_t n, unsigned n_prune, unsigned m,
                                   const float *score, uint8_t *mask);

// ---- linalg family (simd/linalg_*.c) ----
// In-place lower Cholesky of the SPD matrix a (n, n), stride lda: on return
// the lower triangle holds L with A = L L^T; the strict upper triangle is
// not referenced. Returns 0, or j+1 if pivot j is not positive (or NaN).
typedef int (*cpr_cholesky_f32_fn)(size_t n, float *a, size_t lda);
// B := B * L^-T for B (m, n) stride ldb and L (n, n) lower, stride ldl.
typedef void (*cpr_trsm_rlt_f32_fn)(size_t m, size_t n, const float *l,
                                    size_t ldl, float *b, size_t ldb);
// In-place inverse of the lower-triangular L (n, n): on return the lower
// triangle holds L^-1. Returns 0, or j+1 if L[j][j] == 0.
typedef int (*cpr_trinv_f32_fn)(size_t n, float *a, size_t lda);

// ---- spmv family (simd/spmv_*.c): compressed weight x vector ----
// Layouts are those of core/weight.h. For rows r in [0, n_rows) of a
// compressed W (n_rows, k):
//   y[r] = sum_j W[r][j] * x[j]            (beta == 0: y is write-only)
//   y[r] = sum_j W[r][j] * x[j] + beta*y[r] (otherwise)
// meta: the layout's meta bytes of row 0 (row stride ldm bytes); vals: the
// first stored value of row 0 (f32, bf16 or f16 per slot); the rows' values
// follow each other. Kernels may load up to 64 bytes past the last value
// of the last row (core/weight.h pads the values with CPR_SPARSE_PAD zero
// elements); they never read x past x[k-1]. Values are widened exactly and
// multiplied in f32 (FMA where the ISA has it); the order of the k-sum
// differs between ISAs, so results agree to ~k*eps relative to
// sum|w*x|. Exception: the AVX512_BF16 table's bf16 slots follow that
// table's gemm_bf16w (x rounded to bf16, vdpbf16ps; within ~2^-8 sum|w*x|
// + k*eps; simd/spmv_avx512bf16.c). Zero weights a kernel touches count as 0*x (as the dense
// product does). Each row's result depends only on its own meta, values
// and x, so any split of the rows gives bit-identical results.
typedef void (*cpr_spmv_fn)(size_t n_rows, size_t k, const uint8_t *meta,
                            size_t ldm, const void *vals, const float *x,
                            float beta, float *y);

// Unpack rows of a compressed W into dense rows: dst row r (stride ldd
// elements) receives W[r][0..k) as the bit patterns stored (exact, NaN
// payloads included; +0 where nothing is stored, and an NM24 +0 padding
// value never overwrites a kept one). 16-bit (bf16/f16) and 32-bit
// (f32) elements. Same meta/vals conventions and over-read allowance as
// cpr_spmv_fn. Used by prefill to feed the dense GEMM.
typedef void (*cpr_unpack_fn)(size_t n_rows, size_t k, const uint8_t *meta,
                              size_t ldm, const void *vals, void *dst,
                              size_t ldd);

// Prefill with compressed weights: y = alpha x W^T + beta y as the gemm
// slots, with W (n, k) compressed (core/weight.h layouts). The GEMM
// driver's B packing decompresses each block of W (simd/gemm_driver.h,
// cpr_gemm_pack_b_spw): W is read compressed, the FLOPs are the dense ones.
// Results are bit-identical to the same ISA's dense gemm slot of that
// dtype on the decompressed W for m > 4 (the dense slots may take a
// different path for tiny m; callers use spmv there). The scalar slots walk
// the compressed rows (bit-identical to the scalar dense product for
// finite x: skipped zeros add nothing to a double sum that starts at +0).
// Row r of W: meta + r*ldm, its values from vals + row_off[r] elements.
// unpack: the unpack slot of this layout and width (any ISA's: exact).
struct cpr_spw {
    int nm24;              // 0: BITMASK, 1: NM24
    const uint8_t *meta;
    size_t ldm;
    const void *vals;
    const int64_t *row_off;
    cpr_unpack_fn unpack;
};
typedef void (*cpr_spgemm_fn)(size_t m, size_t n, size_t k, float alpha,
                              const float *x, size_t ldx,
                              const struct cpr_spw *w, float beta, float *y,
                              size_t ldy);

// ---- the table ----
struct cpr_kernels {
    // blas1
    cpr_dot_f32_fn dot_f32;
    cpr_axpy_f32_fn axpy_f32;
    cpr_scale_f32_fn scale_f32;
    cpr_axpy_rows_f32_fn axpy_rows_f32;
    // convert
    cpr_cvt_h16_f32_fn bf16_to_f32;
    cpr_cvt_f32_h16_fn f32_to_bf16;
    cpr_cvt_h16_f32_fn f16_to_f32;
    cpr_cvt_f32_h16_fn f32_to_f16;
    // gemm
    cpr_gemm_f32_fn gemm_f32;
    cpr_gemm_h16_fn gemm_bf16w;
    cpr_gemm_h16_fn gemm_f16w;
    cpr_syrk_f32_fn syrk_f32;
    // stats
    cpr_colstats_f32_fn colstats_f32;
    // score
    cpr_absmul_f32_fn absmul_f32;
    cpr_count_zeros_f32_fn count_zeros_f32;
    // norm
    cpr_rmsnorm_f32_fn rmsnorm_f32;
    cpr_layernorm_f32_fn layernorm_f32;
    cpr_softmax_f32_fn softmax_f32;
    cpr_softmax_f32_fn logsoftmax_f32;
    cpr_logsumexp_f32_fn logsumexp_f32;
    // rope
    cpr_rope_f32_fn rope_half_f32;
    cpr_rope_f32_fn rope_interleaved_f32;
    // act
    cpr_unary_f32_fn silu_f32;
    cpr_unary_f32_fn gelu_f32;
    cpr_unary_f32_fn gelu_tanh_f32;
    cpr_swiglu_f32_fn swiglu_f32;
    // select
    cpr_select_smallest_f32_fn select_smallest_f32;
    cpr_kth_smallest_f32_fn kth_smallest_f32;
    cpr_nm_mask_f32_fn nm_mask_f32;
    // linalg
    cpr_cholesky_f32_fn cholesky_f32;
    cpr_trsm_rlt_f32_fn trsm_rlt_f32;
    cpr_trinv_f32_fn trinv_f32;
    // spmv
    cpr_spmv_fn spmv_bitmask_f32;
    cpr_spmv_fn spmv_bitmask_bf16;
    cpr_spmv_fn spmv_bitmask_f16;
    cpr_spmv_fn spmv_nm24_f32;
    cpr_spmv_fn spmv_nm24_bf16;
    cpr_spmv_fn spmv_nm24_f16;
    cpr_unpack_fn unpack_bitmask_h16;
    cpr_unpack_fn unpack_bitmask_f32;
    cpr_unpack_fn unpack_nm24_h16;
    cpr_unpack_fn unpack_nm24_f32;
    // gemm, backward (dX = dY W, dW = dY^T X)
    cpr_gemm_bwd_f32_fn gemm_nn_f32;
    cpr_gemm_bwd_h16_fn gemm_nn_bf16b;
    cpr_gemm_bwd_f32_fn gemm_tn_f32;
    cpr_spgemm_fn spgemm_f32;
    cpr_spgemm_fn spgemm_bf16;
    cpr_spgemm_fn spgemm_f16;

    // Which ISA each slot came from, parallel to the slots above in the
    // order of cpr_kernel_slot_names (filled by cpr_kernels_build).
    enum cpr_isa slot_isa[64];
};

// ---- CPU features ----
struct cpr_cpu_features {
    int avx2;       // AVX2 + FMA + F16C with OS ymm support
    int avx512;     // F+BW+DQ+VL with OS zmm/opmask support
    int avx512bf16; // AVX512_BF16 (and avx512)
    int avx512vbmi;  // AVX512_VBMI (and avx512): vpmultishiftqb
    int avx512vbmi2; // AVX512_VBMI2 (and avx512): vpexpandw
    int neon;       // aarch64
    char brand[64]; // CPU brand string, "" if unknown
};

// Detect features once (cpuid + xgetbv on x86-64). Thread-safe.
const struct cpr_cpu_features *cpr_cpu_features(void);

// Short name of an ISA level ("scalar", "avx2", "avx512", "avx512bf16",
// "neon"); parse the same names (returns -1 when unknown).
const char *cpr_isa_name(enum cpr_isa isa);
int cpr_isa_parse(const char *name);

// The best level this CPU supports, capped at `cap`.
enum cpr_isa cpr_isa_best(enum cpr_isa cap);

// Fill *k for exactly level min(cap, best supported): scalar kernels first,
// then each supported level up to the cap overrides its slots. Used by
// tests and benchmarks to get one table per ISA. Returns the level used.
enum cpr_isa cpr_kernels_build(struct cpr_kernels *k, enum cpr_isa cap);

// The process-wide table, built once (pthread_once) at the best level,
// capped by the environment variable CPRUNE_ISA=scalar|avx2|avx512|
// avx512bf16|neon when set (an unknown name is ignored with the default
// kept, and noted by cpr_kernels_env_note). CPRUNE_ISA_DEBUG=1 logs the
// choice to stderr once. The table is const after init.
const struct cpr_kernels *cpr_kernels_get(void);
// The level cpr_kernels_get() chose, and a note about CPRUNE_ISA ("" when
// nothing to say).
enum cpr_isa cpr_kernels_isa(void);
const char *cpr_kernels_env_note(void);

// Slot names, in table order, NULL-terminated; and the number of slots.
extern const char *const cpr_kernel_slot_names[];
size_t cpr_kernel_slot_count(void);

// ---- fill functions, one per family and ISA file ----
void cpr_fill_blas1_scalar(struct cpr_kernels *k);
void cpr_fill_convert_scalar(struct cpr_kernels *k);
void cpr_fill_gemm_scalar(struct cpr_kernels *k);
void cpr_fill_stats_scalar(struct cpr_kernels *k);
void cpr_fill_score_scalar(struct cpr_kernels *k);
void cpr_fill_norm_scalar(struct cpr_kernels *k);
void cpr_fill_rope_scalar(struct cpr_kernels *k);
void cpr_fill_act_scalar(struct cpr_kernels *k);
void cpr_fill_select_scalar(struct cpr_kernels *k);
void cpr_fill_linalg_scalar(struct cpr_kernels *k);
void cpr_fill_spmv_scalar(struct cpr_kernels *k);

#if defined(__x86_64__)
void cpr_fill_blas1_avx2(struct cpr_kernels *k);
void cpr_fill_convert_avx2(struct cpr_kernels *k);
void cpr_fill_gemm_avx2(struct cpr_kernels *k);
void cpr_fill_stats_avx2(struct cpr_kernels *k);
void cpr_fill_score_avx2(struct cpr_kernels *k);
void cpr_fill_norm_avx2(struct cpr_kernels *k);
void cpr_fill_rope_avx2(struct cpr_kernels *k);
void cpr_fill_act_avx2(struct cpr_kernels *k);
void cpr_fill_select_avx2(struct cpr_kernels *k);
void cpr_fill_linalg_avx2(struct cpr_kernels *k);
void cpr_fill_spmv_avx2(struct cpr_kernels *k);

void cpr_fill_blas1_avx512(struct cpr_kernels *k);
void cpr_fill_convert_avx512(struct cpr_kernels *k);
void cpr_fill_gemm_avx512(struct cpr_kernels *k);
void cpr_fill_stats_avx512(struct cpr_kernels *k);
void cpr_fill_score_avx512(struct cpr_kernels *k);
void cpr_fill_norm_avx512(struct cpr_kernels *k);
void cpr_fill_rope_avx512(struct cpr_kernels *k);
void cpr_fill_act_avx512(struct cpr_kernels *k);
void cpr_fill_select_avx512(struct cpr_kernels *k);
void cpr_fill_linalg_avx512(struct cpr_kernels *k);
void cpr_fill_spmv_avx512(struct cpr_kernels *k);
void cpr_fill_spmv_avx512bf16(struct cpr_kernels *k); // needs avx512vbmi(2)

void cpr_fill_gemm_avx512bf16(struct cpr_kernels *k);
#endif

#if defined(__aarch64__)
void cpr_fill_blas1_neon(struct cpr_kernels *k);
void cpr_fill_convert_neon(struct cpr_kernels *k);
void cpr_fill_gemm_neon(struct cpr_kernels *k);
void cpr_fill_stats_neon(struct cpr_kernels *k);
void cpr_fill_score_neon(struct cpr_kernels *k);
void cpr_fill_norm_neon(struct cpr_kernels *k);
void cpr_fill_rope_neon(struct cpr_kernels *k);
void cpr_fill_act_neon(struct cpr_kernels *k);
void cpr_fill_select_neon(struct cpr_kernels *k);
void cpr_fill_linalg_neon(struct cpr_kernels *k);
void cpr_fill_spmv_neon(struct cpr_kernels *k);
#endif

#endif
