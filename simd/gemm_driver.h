// simd/gemm_driver.h: the one portable GEMM driver (cache blocking, packing
// loops, tiling, edge handling) that every ISA's gemm/syrk kernels run on.
//
// It computes, for rows i in [m0, m1) and columns j in [n0, n1),
//   C(i, j) = alpha * sum_{p<k} A(i, p) B(p, j) + beta * C(i, j)
// with C row-major (stride ldc) and beta == 0 meaning C is write-only
// (NaNs in it are ignored). What A and B are, and how they are stored, is
// not the driver's business: each operand is an opaque source plus a pack
// routine that copies one block of it into the packed-panel format the
// micro-kernel reads. The per-ISA files (simd/gemm_<isa>.c) hold only the
// leaves: micro-kernels, pack routines and a descriptor of block sizes.
// The driver is compiled once, without ISA flags; it calls the leaves
// through function pointers once per block (pack) or per MR x NR tile
// (micro-kernel), which is noise against the MR*NR*KC FMAs of a tile.
//
// Loop nest (Goto/BLIS): for each NC-column block jc, for each KC-deep
// block pc (starting at p = 0, multiples of KC): pack B(pc.., jc..) once;
// for each MC-row block ic: pack A(ic.., pc..), then for each NR-column
// panel jr and MR-row panel ir run the micro-kernel on the (mr, nr) tile
// (mr <= MR, nr <= NR at the edges; the kernel masks them). The first
// k block stores alpha*acc + beta*C (alpha*acc when beta == 0: C not read),
// later blocks alpha*acc + C.
//
// Numerics contract (what core/matmul.h's bit-identity rests on): an
// element's arithmetic depends only on k, its A row, its B column and the
// leaves, never on its place in a tile or on the ranges [m0, m1), [n0, n1)
// (KC blocks start at multiples of KC from p = 0; a micro-kernel must
// compute each lane the same way whatever mr and nr are).
//
// Not here: threads (core/matmul.c splits n and calls the kernel slots),
// special paths for tiny m (an ISA file may skip the driver for those),
// and the scalar reference (simd/gemm_scalar.c, deliberately independent).
#ifndef CPR_SIMD_GEMM_DRIVER_H
#define CPR_SIMD_GEMM_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Bytes of stack scratch the driver holds for the packed A and B blocks
// (kernels.h allows 512 KiB): a descriptor must satisfy
//   mc * a.row_bytes + ceil(nc / nr) * b_panel_bytes <= CPR_GEMM_SCRATCH.
#define CPR_GEMM_SCRATCH (475u * 1024u)

// ---- the per-ISA descriptor ----
// Register blocks MR x NR, cache blocks MC, NC, KC (KC counts k values),
// and the packed-B geometry: column panel q (columns [q*NR, q*NR+NR) of a
// block) starts at byte q * b_panel_bytes of the packed B block. The panel
// interior is the ISA's business (f32 ISAs use element (p, l) at
// p*NR + l; AVX512-BF16 uses bf16 pairs), shared by its pack-B routines
// and micro-kernels. a_ld: packed-A row stride in elements for the
// row-contiguous A format (>= kc, may pad to spread L1 sets); pack-A
// routines that produce that format read it.
struct cpr_gemm_desc {
    size_t mr, nr, mc, nc, kc;
    size_t b_panel_bytes;
    size_t a_ld;
};

// ---- leaves ----
// Pack routine: copy the block of `rows` operand rows starting at r0 and
// kc k values starting at p0 into dst (stack scratch, 64-byte aligned).
//   For A: rows are C's rows (i), dst is the packed A block whose micro-
//          panel of rows [ir, ir+MR) starts at dst + ir * a.row_bytes.
//   For B: rows are C's columns (j), dst is the packed B block of NR-column
//          panels (see b_panel_bytes); columns past `rows` up to the next
//          multiple of NR must be written as zeros.
// `src` and `ld` are the operand's own fields, passed through untouched:
// the pack routine alone knows what they mean (a row-major f32 matrix and
// its row stride, bf16 weights, W given as (k, n) instead of (n, k), or a
// compressed sparse weight structure with ld unused). A pack routine may
// convert while copying (bf16/f16 widening, rounding x to bf16) but must
// produce, for a given element, a value that does not depend on r0, rows
// or where the block starts (determinism). It must not read past the
// operand: rows [r0, r0+rows) x k values [p0, p0+kc) only.
typedef void (*cpr_gemm_pack_fn)(const struct cpr_gemm_desc *d,
                                 const void *src, size_t ld, size_t r0,
                                 size_t p0, size_t rows, size_t kc,
                                 void *dst);
// Micro-kernel: one (mr, nr) tile (1 <= mr <= MR, 1 <= nr <= NR) over kc k
// values; a = packed A micro-panel, b = packed B panel, c = C(i, j) of the
// tile's corner. Stores c = alpha*acc + beta*c, or alpha*acc when wonly
// (c not read). Only the mr x nr corner of C is touched.
typedef void (*cpr_gemm_ukr_fn)(size_t mr, size_t nr, size_t kc,
                                const void *a, const void *b, float *c,
                                size_t ldc, float alpha, float beta,
                                int wonly);
// Optional prefetch of operand rows [r0, r1), k values [p0, p0+kc): the
// driver spreads the next A and B blocks over the tiles of the current one
// (to L2) so their packing reads cache, not DRAM. NULL = none.
typedef void (*cpr_gemm_prefetch_fn)(const void *src, size_t ld, size_t r0,
                                     size_t r1, size_t p0, size_t kc);

// ---- operands ----
// A (C's rows): its pack routine and the micro-kernel that reads that
// routine's packed format (an ISA may have several A formats, e.g. rows of
// x copied as they are for gemm, and k-major panels for syrk where A is
// X^T); row_bytes: packed-A micro-panel ir starts at ir * row_bytes.
struct cpr_gemm_a {
    const void *src;
    size_t ld;
    cpr_gemm_pack_fn pack;
    cpr_gemm_ukr_fn ukr;
    size_t row_bytes;
    cpr_gemm_prefetch_fn prefetch;
};
// B (C's columns): e.g. W (n, k) row-major (nn.Linear, y = x W^T), W as
// (k, n) row-major (dX = dY W), bf16/f16 weights, or a compressed weight
// format whose pack routine decompresses the block. Its pack routine must
// produce the ISA's packed-B panel format.
struct cpr_gemm_b {
    const void *src;
    size_t ld;
    cpr_gemm_pack_fn pack;
    cpr_gemm_prefetch_fn prefetch;
};

// Run the blocked product above. m0 <= m1, n0 <= n1; k == 0 gives
// C = beta*C (0 when beta == 0). Uses CPR_GEMM_SCRATCH bytes of stack.
void cpr_gemm_drive(const struct cpr_gemm_desc *d, const struct cpr_gemm_a *a,
                    const struct cpr_gemm_b *b, size_t m0, size_t m1,
                    size_t n0, size_t n1, size_t k, float alpha, float beta,
                    float *c, size_t ldc);

// ---- the kernel slots of an ISA, on top of the driver ----
// An ISA whose leaves fit the usual shapes fills one of these and its
// gemm_f32 / gemm_bf16w / gemm_f16w / syrk_f32 slots become one call each.
enum cpr_gemm_wtype { CPR_GEMM_W_F32, CPR_GEMM_W_BF16, CPR_GEMM_W_F16, CPR_GEMM_W_COUNT };
struct cpr_gemm_isa {
    struct cpr_gemm_desc d;
    cpr_gemm_ukr_fn ukr_rows;   // reads the row-contiguous A format (a_ld)
    cpr_gemm_ukr_fn ukr_kmajor; // reads the k-major A format
    cpr_gemm_pack_fn pack_a_rows, pack_a_cols, pack_b_kn; // see below
    cpr_gemm_pack_fn pack_b_nk[CPR_GEMM_W_COUNT];         // W (n, k) by type
    cpr_gemm_prefetch_fn prefetch_x;                       // NULL = none
    cpr_gemm_prefetch_fn prefetch_w[CPR_GEMM_W_COUNT];     // NULL = none
    // B (k, n) of bf16 for dX = dY W with bf16 weights; NULL = the
    // portable cpr_gemm_pack_b_kn_bf16.
    cpr_gemm_pack_fn pack_b_kn_bf16;
};
// y = alpha x W^T + beta y (the gemm slots, simd/kernels.h): A = x (m, k)
// stride ldx through pack_a_rows / ukr_rows, B = W (n, k) of type wt.
void cpr_gemm_xwt(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype wt,
                  size_t m, size_t n, size_t k, float alpha, const float *x,
                  size_t ldx, const void *w, size_t ldw, float beta, float *y,
                  size_t ldy);
// h[i][j] += sum_t x[t][i] x[t][j] for i in [i0, i1), j in [0, n) (the
// syrk slot): A = X^T through pack_a_cols / ukr_kmajor, B = X through
// pack_b_kn.
void cpr_gemm_syrk(const struct cpr_gemm_isa *isa, size_t n, size_t k,
                   const float *x, size_t ldx, float *h, size_t ldh,
                   size_t i0, size_t i1);

// Backward products (the gemm_nn / gemm_tn slots, kernels.h).
// c = alpha a B + beta c: A = a (m, k) rows through pack_a_rows / ukr_rows,
// B (k, n) row-major of type bt (F32 or BF16) through pack_b_kn /
// pack_b_kn_bf16.
void cpr_gemm_nn(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype bt,
                 size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const void *b, size_t ldb, float beta, float *c,
                 size_t ldc);
// c = alpha A^T B + beta c, A (k, m), B (k, n): A through pack_a_cols /
// ukr_kmajor (as syrk's X^T), B through pack_b_kn.
void cpr_gemm_tn(const struct cpr_gemm_isa *isa, size_t m, size_t n, size_t k,
                 float alpha, const float *a, size_t lda, const float *b,
                 size_t ldb, float beta, float *c, size_t ldc);

// ---- portable leaves for the f32 panel format ----
// Packed B panel (f32): element (p, l) at p*NR + l of panel q, panels
// kc*NR floats apart (b_panel_bytes = KC*NR*4). Packed A, row format:
// row r at r*a_ld floats, element p at +p (row_bytes = a_ld*4). Packed A,
// k-major format: micro-panel of rows [ir, ir+MR) at ir*KC floats,
// element (r, p) at p*MR + r (row_bytes = KC*4).
// A (m, k) row-major f32 (src = const float *, ld = row stride) -> row format.
void cpr_gemm_pack_a_rows_f32(const struct cpr_gemm_desc *d, const void *src,
                              size_t ld, size_t r0, size_t p0, size_t rows,
                              size_t kc, void *dst);
// A given transposed, as (k, m) row-major f32 (A(i, p) = src[p*ld + i]:
// syrk's X^T, a backward pass's dY^T) -> k-major format.
void cpr_gemm_pack_a_cols_f32(const struct cpr_gemm_desc *d, const void *src,
                              size_t ld, size_t r0, size_t p0, size_t rows,
                              size_t kc, void *dst);
// B given as (k, n) row-major f32 (B(p, j) = src[p*ld + j]: syrk's X, a
// backward pass's W in dX = dY W) -> f32 panels.
void cpr_gemm_pack_b_kn_f32(const struct cpr_gemm_desc *d, const void *src,
                            size_t ld, size_t r0, size_t p0, size_t rows,
                            size_t kc, void *dst);
// B given as (k, n) row-major bf16 (B(p, j) = src[p*ld + j] widened
// exactly: a backward pass's bf16 W in dX = dY W) -> f32 panels.
void cpr_gemm_pack_b_kn_bf16(const struct cpr_gemm_desc *d, const void *src,
                             size_t ld, size_t r0, size_t p0, size_t rows,
                             size_t kc, void *dst);
// B = W^T with W (n, k) row-major f32 / bf16 / f16 (B(p, j) = W[j][p],
// widened exactly) -> f32 panels. Scalar transposes; ISAs with a faster
// transpose plug in their own.
void cpr_gemm_pack_b_nk_f32(const struct cpr_gemm_desc *d, const void *src,
                            size_t ld, size_t r0, size_t p0, size_t rows,
                            size_t kc, void *dst);
void cpr_gemm_pack_b_nk_bf16(const struct cpr_gemm_desc *d, const void *src,
                             size_t ld, size_t r0, size_t p0, size_t rows,
                             size_t kc, void *dst);
// The loop behind the pack_b_nk routines, for ISA files whose widening
// needs their own instructions (f16 with F16C or NEON): W rows
// [r0, r0+rows), columns [p0, p0+kc), stored esz bytes per element, into
// f32 panels; wide(row, p) returns element p of a row as f32 exactly.
// static inline so the widening inlines into each ISA file's copy.
static inline void cpr_gemm_pack_b_nk_wide(const struct cpr_gemm_desc *d,
                                           const void *src, size_t ld,
                                           size_t esz, size_t r0, size_t p0,
                                           size_t rows, size_t kc, void *dst,
                                           float (*wide)(const void *, size_t)) {
    const size_t NR = d->nr;
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = rows - jr < NR ? rows - jr : NR;
        float *panel = (float *)((unsigned char *)dst + jr / NR * d->b_panel_bytes);
        for (size_t l = 0; l < nr; l++) {
            const void *row = (const char *)src + ((r0 + jr + l) * ld + p0) * esz;
            for (size_t p = 0; p < kc; p++) panel[p * NR + l] = wide(row, p);
        }
        for (size_t l = nr; l < NR; l++)
            for (size_t p = 0; p < kc; p++) panel[p * NR + l] = 0.0f;
    }
}

// The loops behind cpr_gemm_pack_a_cols_f32 and cpr_gemm_pack_b_kn_f32
// with the block sizes as arguments: an ISA file that calls them with its
// constants gets fixed-size copies of whole panels (inlined moves instead
// of a memcpy call per k value: measured 8% of AVX2 syrk time).
static inline void cpr_gemm_pack_a_cols_f32_with(size_t MR, size_t KC,
                                                 const float *src, size_t ld,
                                                 size_t r0, size_t p0,
                                                 size_t rows, size_t kc,
                                                 float *dst) {
    const float *x = src + p0 * ld + r0;
    for (size_t ir = 0; ir < rows; ir += MR) {
        size_t mr = rows - ir < MR ? rows - ir : MR;
        float *panel = dst + ir * KC;
        if (mr == MR)
            for (size_t p = 0; p < kc; p++)
                memcpy(panel + p * MR, x + p * ld + ir, MR * sizeof(float));
        else
            for (size_t p = 0; p < kc; p++)
                memcpy(panel + p * MR, x + p * ld + ir, mr * sizeof(float));
    }
}

static inline void cpr_gemm_pack_b_kn_f32_with(size_t NR, size_t KC,
                                               const float *src, size_t ld,
                                               size_t r0, size_t p0,
                                               size_t rows, size_t kc,
                                               float *dst) {
    const float *x = src + p0 * ld + r0;
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = rows - jr < NR ? rows - jr : NR;
        float *panel = dst + jr * KC; // panels of KC*NR floats
        for (size_t p = 0; p < kc; p++) {
            if (nr == NR) {
                memcpy(panel + p * NR, x + p * ld + jr, NR * sizeof(float));
            } else {
                memcpy(panel + p * NR, x + p * ld + jr, nr * sizeof(float));
                for (size_t l = nr; l < NR; l++) panel[p * NR + l] = 0.0f;
            }
        }
    }
}

// The loop behind cpr_gemm_pack_b_kn_bf16 with the block sizes as
// arguments (an ISA file with constant NR gets a vectorised widening).
static inline void cpr_gemm_pack_b_kn_bf16_with(size_t NR, size_t KC,
                                                const uint16_t *src, size_t ld,
                                                size_t r0, size_t p0,
                                                size_t rows, size_t kc,
                                                float *dst) {
    const uint16_t *x = src + p0 * ld + r0;
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = rows - jr < NR ? rows - jr : NR;
        float *panel = dst + jr * KC;
        for (size_t p = 0; p < kc; p++) {
            const uint16_t *s = x + p * ld + jr;
            float *o = panel + p * NR;
            for (size_t l = 0; l < nr; l++) {
                uint32_t u = (uint32_t)s[l] << 16;
                memcpy(&o[l], &u, sizeof u);
            }
            for (size_t l = nr; l < NR; l++) o[l] = 0.0f;
        }
    }
}
// ---- compressed W (the spgemm slots, simd/kernels.h) ----
// B = W^T with W compressed (struct cpr_spw): the pack routine unpacks NR
// rows x kc columns of W at a time into L1 scratch with w->unpack (exact)
// and hands them to the ISA's dense pack routine for W's dtype, so the
// packed panels, hence the products, are bit for bit those of the dense
// W. Only the compressed bytes of W are read from memory. src points to a
// struct cpr_gemm_spb; ld is W's column count k (for the prefetch).
// Needs KC % 8 == 0 (a k block starts on a meta byte) and
// NR * KC * esz <= CPR_GEMM_SPW_TMP.
struct cpr_spw;
#define CPR_GEMM_SPW_TMP (32u * 1024u)
// Optional memo of where each row's values stand (bitmask: finding row r's
// first value at column p0 otherwise costs a popcount of its meta up to
// p0, for every k block). The driver packs the k blocks of one block of
// rows in increasing order, so the next block's first values are where
// the last block's ended. Owned by one call of the driver (one thread).
#define CPR_GEMM_SPW_MEMO 512 // rows remembered (>= every ISA's NC)
struct cpr_gemm_spw_memo {
    size_t r0, p0, rows;           // offsets valid for this block (rows 0: none)
    size_t off[CPR_GEMM_SPW_MEMO]; // value index of row r0 + i at column p0
};
struct cpr_gemm_spb {
    const struct cpr_spw *w;
    size_t esz;              // bytes per value: 4 (f32) or 2 (bf16/f16)
    cpr_gemm_pack_fn dense;  // the ISA's pack of a dense (n, k) W
    struct cpr_gemm_spw_memo *memo; // NULL: count from the row start
};
void cpr_gemm_pack_b_spw(const struct cpr_gemm_desc *d, const void *src,
                         size_t ld, size_t r0, size_t p0, size_t rows,
                         size_t kc, void *dst);
// Prefetch (to L2) the meta and, roughly, the values of rows [r0, r1)
// for k values [p0, p0+kc) (src: struct cpr_gemm_spb, ld: k).
void cpr_gemm_prefetch_spw(const void *src, size_t ld, size_t r0, size_t r1,
                           size_t p0, size_t kc);
// y = alpha x W^T + beta y through the driver with the ISA's usual A leaves
// and cpr_gemm_pack_b_spw over isa->pack_b_nk[wt].
void cpr_gemm_xwt_spw(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype wt,
                      size_t m, size_t n, size_t k, float alpha,
                      const float *x, size_t ldx, const struct cpr_spw *w,
                      float beta, float *y, size_t ldy);

// Prefetch rows of a row-major f32 (resp. 16-bit) operand: one demand load
// of each row's first line (so the page walk happens now; a prefetch that
// misses the TLB may be dropped) and prefetches of the rest to L2.
void cpr_gemm_prefetch_rows_f32(const void *src, size_t ld, size_t r0,
                                size_t r1, size_t p0, size_t kc);
void cpr_gemm_prefetch_rows_h16(const void *src, size_t ld, size_t r0,
                                size_t r1, size_t p0, size_t kc);

#endif
