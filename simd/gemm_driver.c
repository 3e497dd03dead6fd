// simd/gemm_driver.c: the portable blocked GEMM driver and the portable
// f32-panel pack routines (see gemm_driver.h for the contracts). Plain C,
// compiled once without ISA flags; the ISA leaves come in through the
// descriptor and operand structs.
#include "simd/gemm_driver.h"

#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

// ---- the driver ----

// C = beta*C on rows [m0, m1), columns [n0, n1) (k == 0: empty product).
static void scale_c(size_t m0, size_t m1, size_t n0, size_t n1, float beta,
                    float *c, size_t ldc) {
    for (size_t i = m0; i < m1; i++)
        for (size_t j = n0; j < n1; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

// Where the block after the current one lies, for prefetching: rows
// [r0, r0+rows), k values [p0, p0+kc); rows == 0 means none.
struct next_blk { size_t r0, rows, p0, kc; };

void cpr_gemm_drive(const struct cpr_gemm_desc *d, const struct cpr_gemm_a *a,
                    const struct cpr_gemm_b *b, size_t m0, size_t m1,
                    size_t n0, size_t n1, size_t k, float alpha, float beta,
                    float *c, size_t ldc) {
    assert(m0 <= m1 && n0 <= n1);
    if (m0 == m1 || n0 == n1) return;
    assert(a && b && c && a->pack && a->ukr && b->pack);
    if (k == 0) {
        scale_c(m0, m1, n0, n1, beta, c, ldc);
        return;
    }
    const size_t MR = d->mr, NR = d->nr, MC = d->mc, NC = d->nc, KC = d->kc;
    size_t a_bytes = MC * a->row_bytes;
    a_bytes = (a_bytes + 63) / 64 * 64;
    assert(a_bytes + (NC + NR - 1) / NR * d->b_panel_bytes <= CPR_GEMM_SCRATCH);
    _Alignas(64) unsigned char scratch[CPR_GEMM_SCRATCH];
    unsigned char *ap = scratch, *bp = scratch + a_bytes;
    size_t m = m1 - m0;
    for (size_t jc = n0; jc < n1; jc += NC) {
        size_t nc = min_sz(NC, n1 - jc);
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = min_sz(KC, k - pc);
            b->pack(d, b->src, b->ld, jc, pc, nc, kc, bp);
            int wonly = pc == 0 && beta == 0.0f;
            float be = pc == 0 ? beta : 1.0f;
            // the next B block: deeper in k, else the next column block
            struct next_blk nb = {0, 0, 0, 0};
            if (pc + KC < k)
                nb = (struct next_blk){jc, nc, pc + KC, min_sz(KC, k - pc - KC)};
            else if (jc + NC < n1)
                nb = (struct next_blk){jc + NC, min_sz(NC, n1 - jc - NC), 0, min_sz(KC, k)};
            size_t n_ic = (m + MC - 1) / MC, n_jr = (nc + NR - 1) / NR;
            size_t steps = n_ic * n_jr, step = 0;
            for (size_t ic = m0; ic < m1; ic += MC) {
                size_t mc = min_sz(MC, m1 - ic);
                a->pack(d, a->src, a->ld, ic, pc, mc, kc, ap);
                // the next A block: the next rows, else the first rows of
                // the next k block (or of k = 0 for the next jc)
                struct next_blk na;
                if (ic + MC < m1) {
                    na = (struct next_blk){ic + MC, min_sz(MC, m1 - ic - MC), pc, kc};
                } else {
                    size_t pn = pc + KC < k ? pc + KC : 0;
                    na = (struct next_blk){m0, min_sz(MC, m), pn, min_sz(KC, k - pn)};
                }
                for (size_t jr = 0; jr < nc; jr += NR) {
                    size_t nr = min_sz(NR, nc - jr), q = jr / NR;
                    if (a->prefetch)
                        a->prefetch(a->src, a->ld, na.r0 + q * na.rows / n_jr,
                                    na.r0 + (q + 1) * na.rows / n_jr, na.p0, na.kc);
                    if (b->prefetch && nb.rows)
                        b->prefetch(b->src, b->ld, nb.r0 + step * nb.rows / steps,
                                    nb.r0 + (step + 1) * nb.rows / steps, nb.p0, nb.kc);
                    step++;
                    const unsigned char *bq = bp + q * d->b_panel_bytes;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        size_t mr = min_sz(MR, mc - ir);
                        a->ukr(mr, nr, kc, ap + ir * a->row_bytes, bq,
                               c + (ic + ir) * ldc + jc + jr, ldc, alpha, be, wonly);
                    }
                }
            }
        }
    }
}

// ---- kernel slots ----

void cpr_gemm_xwt(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype wt,
                  size_t m, size_t n, size_t k, float alpha, const float *x,
                  size_t ldx, const void *w, size_t ldw, float beta, float *y,
                  size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    struct cpr_gemm_a a = {x, ldx, isa->pack_a_rows, isa->ukr_rows,
                           isa->d.a_ld * sizeof(float), isa->prefetch_x};
    struct cpr_gemm_b b = {w, ldw, isa->pack_b_nk[wt], isa->prefetch_w[wt]};
    cpr_gemm_drive(&isa->d, &a, &b, 0, m, 0, n, k, alpha, beta, y, ldy);
}

void cpr_gemm_syrk(const struct cpr_gemm_isa *isa, size_t n, size_t k,
                   const float *x, size_t ldx, float *h, size_t ldh,
                   size_t i0, size_t i1) {
    assert(i0 <= i1 && i1 <= n);
    if (i0 == i1 || k == 0) return; // (not beta = 1 scaling: h untouched)
    struct cpr_gemm_a a = {x, ldx, isa->pack_a_cols, isa->ukr_kmajor,
                           isa->d.kc * sizeof(float), NULL};
    struct cpr_gemm_b b = {x, ldx, isa->pack_b_kn, NULL};
    cpr_gemm_drive(&isa->d, &a, &b, i0, i1, 0, n, k, 1.0f, 1.0f, h, ldh);
}

void cpr_gemm_nn(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype bt,
                 size_t m, size_t n, size_t k, float alpha, const float *a,
                 size_t lda, const void *b, size_t ldb, float beta, float *c,
                 size_t ldc) {
    assert(bt == CPR_GEMM_W_F32 || bt == CPR_GEMM_W_BF16);
    struct cpr_gemm_a pa = {a, lda, isa->pack_a_rows, isa->ukr_rows,
                            isa->d.a_ld * sizeof(float), isa->prefetch_x};
    cpr_gemm_pack_fn pb = isa->pack_b_kn;
    if (bt == CPR_GEMM_W_BF16)
        pb = isa->pack_b_kn_bf16 ? isa->pack_b_kn_bf16 : cpr_gemm_pack_b_kn_bf16;
    struct cpr_gemm_b pbk = {b, ldb, pb, NULL};
    cpr_gemm_drive(&isa->d, &pa, &pbk, 0, m, 0, n, k, alpha, beta, c, ldc);
}

void cpr_gemm_tn(const struct cpr_gemm_isa *isa, size_t m, size_t n, size_t k,
                 float alpha, const float *a, size_t lda, const float *b,
                 size_t ldb, float beta, float *c, size_t ldc) {
    struct cpr_gemm_a pa = {a, lda, isa->pack_a_cols, isa->ukr_kmajor,
                            isa->d.kc * sizeof(float), NULL};
    struct cpr_gemm_b pb = {b, ldb, isa->pack_b_kn, NULL};
    cpr_gemm_drive(&isa->d, &pa, &pb, 0, m, 0, n, k, alpha, beta, c, ldc);
}

// ---- portable f32-panel pack routines ----

void cpr_gemm_pack_a_rows_f32(const struct cpr_gemm_desc *d, const void *src,
                              size_t ld, size_t r0, size_t p0, size_t rows,
                              size_t kc, void *dst) {
    const float *x = (const float *)src + r0 * ld + p0;
    float *ap = dst;
    for (size_t r = 0; r < rows; r++)
        memcpy(ap + r * d->a_ld, x + r * ld, kc * sizeof(float));
}

void cpr_gemm_pack_a_cols_f32(const struct cpr_gemm_desc *d, const void *src,
                              size_t ld, size_t r0, size_t p0, size_t rows,
                              size_t kc, void *dst) {
    cpr_gemm_pack_a_cols_f32_with(d->mr, d->kc, src, ld, r0, p0, rows, kc, dst);
}

void cpr_gemm_pack_b_kn_f32(const struct cpr_gemm_desc *d, const void *src,
                            size_t ld, size_t r0, size_t p0, size_t rows,
                            size_t kc, void *dst) {
    assert(d->b_panel_bytes == d->kc * d->nr * sizeof(float));
    cpr_gemm_pack_b_kn_f32_with(d->nr, d->kc, src, ld, r0, p0, rows, kc, dst);
}

void cpr_gemm_pack_b_kn_bf16(const struct cpr_gemm_desc *d, const void *src,
                             size_t ld, size_t r0, size_t p0, size_t rows,
                             size_t kc, void *dst) {
    assert(d->b_panel_bytes == d->kc * d->nr * sizeof(float));
    cpr_gemm_pack_b_kn_bf16_with(d->nr, d->kc, src, ld, r0, p0, rows, kc, dst);
}

static inline float wide_f32(const void *row, size_t p) {
    return ((const float *)row)[p];
}

static inline float wide_bf16(const void *row, size_t p) {
    uint32_t u = (uint32_t)((const uint16_t *)row)[p] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void cpr_gemm_pack_b_nk_f32(const struct cpr_gemm_desc *d, const void *src,
                            size_t ld, size_t r0, size_t p0, size_t rows,
                            size_t kc, void *dst) {
    cpr_gemm_pack_b_nk_wide(d, src, ld, 4, r0, p0, rows, kc, dst, wide_f32);
}

void cpr_gemm_pack_b_nk_bf16(const struct cpr_gemm_desc *d, const void *src,
                             size_t ld, size_t r0, size_t p0, size_t rows,
                             size_t kc, void *dst) {
    cpr_gemm_pack_b_nk_wide(d, src, ld, 2, r0, p0, rows, kc, dst, wide_bf16);
}

// ---- prefetch ----

// Every cache line the bytes [row, row + row_bytes) of each row touch:
// the first by a demand load, the others by prefetches at the next 64-byte
// boundaries. A row that does not start on a line boundary (a file whose
// data section is only 8-byte aligned, or a pruned width such as K = 7723
// bf16 values = 15446-byte rows) spans one line more than row_bytes / 64;
// stepping 64 bytes from the row start would skip that last line and
// leave it to a demand miss in the pack routine.
static void prefetch_rows(const char *src, size_t ld_bytes, size_t r0,
                          size_t r1, size_t row_bytes) {
    volatile char sink;
    for (size_t r = r0; r < r1; r++) {
        const char *row = src + r * ld_bytes;
        sink = row[0];
        size_t off = 64 - (size_t)((uintptr_t)row & 63); // next line boundary
        for (; off < row_bytes; off += 64)
            __builtin_prefetch(row + off, 0, 2); // to L2
    }
    (void)sink;
}

void cpr_gemm_prefetch_rows_f32(const void *src, size_t ld, size_t r0,
                                size_t r1, size_t p0, size_t kc) {
    prefetch_rows((const char *)src + p0 * 4, ld * 4, r0, r1, kc * 4);
}

void cpr_gemm_prefetch_rows_h16(const void *src, size_t ld, size_t r0,
                                size_t r1, size_t p0, size_t kc) {
    prefetch_rows((const char *)src + p0 * 2, ld * 2, r0, r1, kc * 2);
}

// ---- compressed W ----

// Index (into the row's values) of the first value at column >= p0 of
// row meta `m`: the kept bits before p0 (bitmask), 2 per group (2:4).
static size_t spw_skip(const struct cpr_spw *w, const uint8_t *m, size_t p0) {
    if (w->nm24) return p0 / 2;
    size_t n = 0, nb = p0 / 8, i = 0;
    for (; i + 8 <= nb; i += 8) {
        uint64_t v;
        memcpy(&v, m + i, 8);
        n += (size_t)__builtin_popcountll(v);
    }
    for (; i < nb; i++) n += (size_t)__builtin_popcount(m[i]);
    return n;
}

// Values of row meta `m` in columns [p0, p0 + kc) (p0 % 8 == 0; bits past
// the row's k are 0).
static size_t spw_count(const struct cpr_spw *w, const uint8_t *m, size_t p0,
                        size_t kc) {
    if (w->nm24) return (p0 + kc + 3) / 4 * 2 - p0 / 2;
    return spw_skip(w, m + p0 / 8, (kc + 7) / 8 * 8);
}

void cpr_gemm_pack_b_spw(const struct cpr_gemm_desc *d, const void *src,
                         size_t ld, size_t r0, size_t p0, size_t rows,
                         size_t kc, void *dst) {
    (void)ld;
    const struct cpr_gemm_spb *sb = src;
    const struct cpr_spw *w = sb->w;
    const size_t NR = d->nr, esz = sb->esz;
    assert(p0 % 8 == 0 && NR * kc * esz <= CPR_GEMM_SPW_TMP);
    struct cpr_gemm_spw_memo *mo = sb->memo;
    int hit = mo && mo->rows == rows && mo->r0 == r0 && mo->p0 == p0;
    int keep = mo && rows <= CPR_GEMM_SPW_MEMO;
    _Alignas(64) unsigned char tmp[CPR_GEMM_SPW_TMP];
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = min_sz(NR, rows - jr);
        for (size_t l = 0; l < nr; l++) {
            size_t r = r0 + jr + l;
            const uint8_t *m = w->meta + r * w->ldm;
            size_t off = hit ? mo->off[jr + l]
                             : (size_t)w->row_off[r] + spw_skip(w, m, p0);
            w->unpack(1, kc, m + p0 / 8, w->ldm,
                      (const char *)w->vals + off * esz, tmp + l * kc * esz,
                      kc);
            if (keep) mo->off[jr + l] = off + spw_count(w, m, p0, kc);
        }
        sb->dense(d, tmp, kc, 0, 0, nr, kc,
                  (unsigned char *)dst + jr / NR * d->b_panel_bytes);
    }
    if (keep) mo->r0 = r0, mo->p0 = p0 + kc, mo->rows = rows;
}

void cpr_gemm_prefetch_spw(const void *src, size_t ld, size_t r0, size_t r1,
                           size_t p0, size_t kc) {
    const struct cpr_gemm_spb *sb = src;
    const struct cpr_spw *w = sb->w;
    for (size_t r = r0; r < r1; r++) {
        const char *m = (const char *)(w->meta + r * w->ldm + p0 / 8);
        __builtin_prefetch(m, 0, 2);
        // values: the same fraction of the row as [p0, p0+kc) of k
        size_t a = (size_t)w->row_off[r], nv = (size_t)w->row_off[r + 1] - a;
        const char *v = (const char *)w->vals + (a + nv * p0 / ld) * sb->esz;
        size_t bytes = (nv * kc / ld + 1) * sb->esz;
        for (size_t off = 0; off < bytes + 64; off += 64)
            __builtin_prefetch(v + off, 0, 2);
    }
}

void cpr_gemm_xwt_spw(const struct cpr_gemm_isa *isa, enum cpr_gemm_wtype wt,
                      size_t m, size_t n, size_t k, float alpha,
                      const float *x, size_t ldx, const struct cpr_spw *w,
                      float beta, float *y, size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    struct cpr_gemm_spw_memo memo;
    memo.rows = 0;
    struct cpr_gemm_spb sb = {w, wt == CPR_GEMM_W_F32 ? 4 : 2, isa->pack_b_nk[wt], &memo};
    struct cpr_gemm_a a = {x, ldx, isa->pack_a_rows, isa->ukr_rows,
                           isa->d.a_ld * sizeof(float), isa->prefetch_x};
    struct cpr_gemm_b b = {&sb, k, cpr_gemm_pack_b_spw, cpr_gemm_prefetch_spw};
    cpr_gemm_drive(&isa->d, &a, &b, 0, m, 0, n, k, alpha, beta, y, ldy);
}
