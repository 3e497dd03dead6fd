// core/weight.c: compress / decompress / validate the sparse weight layouts
// (see core/weight.h). Plain loops over bit patterns: never on a hot path
// except cpr_sparse_decompress_rows, which prefill uses per row panel.
#include "core/weight.h"

#include <stdlib.h>
#include <string.h>

// ---- names ----

const char *cpr_wlayout_name(enum cpr_wlayout l) {
    switch (l) {
    case CPR_WLAYOUT_DENSE: return "dense";
    case CPR_WLAYOUT_BITMASK: return "bitmask";
    case CPR_WLAYOUT_NM24: return "nm";
    case CPR_WLAYOUT_AUTO: return "auto";
    }
    return "?";
}

int cpr_wlayout_parse(const char *s) {
    for (int l = 0; l <= CPR_WLAYOUT_AUTO; l++)
        if (strcmp(s, cpr_wlayout_name((enum cpr_wlayout)l)) == 0) return l;
    return -1;
}

int64_t cpr_sparse_meta_ld(enum cpr_wlayout l, int64_t n_cols) {
    if (l == CPR_WLAYOUT_BITMASK) return (n_cols + 7) / 8;
    if (l == CPR_WLAYOUT_NM24) return ((n_cols + 3) / 4 * 2 + 3) / 4;
    return 0;
}

// ---- bit patterns ----

// Bit pattern of element j of a row of dtype dt (0 means +0).
static inline uint32_t bits_at(enum cpr_dtype dt, const void *row, int64_t j) {
    if (dt == CPR_DTYPE_F32) {
        uint32_t u;
        memcpy(&u, (const char *)row + 4 * j, 4);
        return u;
    }
    return ((const uint16_t *)row)[j];
}

static inline void copy_elem(size_t esz, void *dst, int64_t dj,
                             const void *src, int64_t sj) {
    char *d = (char *)dst + esz * (size_t)dj;
    const char *p = (const char *)src + esz * (size_t)sj;
    if (esz == 2) memcpy(d, p, 2); // fixed sizes: moves, not memcpy calls
    else memcpy(d, p, 4);
}

static int popcount8(unsigned v) {
    int c = 0;
    for (; v; v &= v - 1) c++;
    return c;
}

// ---- compress ----

// Kept weights of row r: nonzero bit patterns, counted on whole 16- or
// 32-bit words (one tight loop per width; the compiler vectorizes it).
static int64_t row_kept(const void *row, size_t esz, int64_t C) {
    int64_t n = 0;
    if (esz == 2) {
        const uint16_t *p = row;
        for (int64_t j = 0; j < C; j++) n += p[j] != 0;
    } else {
        const uint32_t *p = row;
        for (int64_t j = 0; j < C; j++) n += p[j] != 0;
    }
    return n;
}

static int64_t count_kept(const struct cpr_tensor *w) {
    int64_t n = 0, R = w->shape[0], C = w->shape[1];
    size_t esz = cpr_dtype_size(w->dtype);
    for (int64_t r = 0; r < R; r++)
        n += row_kept((const char *)w->data + (size_t)(r * w->stride[0]) * esz,
                      esz, C);
    return n;
}

// ---- 2:4 groups, 4 columns at a time ----
// A full group (4 columns) is classified by its 4-bit kept pattern nz
// (bit i: column i kept) through a 16-entry table: the two in-group
// indices to store (kept ones first, padded with the lowest unused
// indices, in increasing order), the group's 4-bit meta nibble, and
// whether it holds more than 2. Padding indices point at +0 weights, so
// both values are copied unconditionally. A short last group (n_cols % 4)
// goes through the per-column code.

struct nm_ent { uint8_t i0, i1, nibble, over; };

static void nm_table(struct nm_ent tab[16]) {
    for (unsigned nz = 0; nz < 16; nz++) {
        int idx[4], n = 0;
        for (int i = 0; i < 4; i++)
            if (nz >> i & 1u) idx[n++] = i;
        struct nm_ent e = {0, 0, 0, n > 2};
        if (n <= 2) {
            for (int i = 0; i < 4 && n < 2; i++)
                if (!(nz >> i & 1u)) idx[n++] = i;
            int lo = idx[0] < idx[1] ? idx[0] : idx[1];
            int hi = idx[0] < idx[1] ? idx[1] : idx[0];
            e.i0 = (uint8_t)lo, e.i1 = (uint8_t)hi;
            e.nibble = (uint8_t)(lo | hi << 2);
        }
        tab[nz] = e;
    }
}

// Kept pattern of 4 consecutive elements of a row (bit i: element i's bit
// pattern is not +0). 16-bit: one 64-bit word, bit 15 of each lane set
// when the lane is nonzero ((lane & 0x7fff) + 0x7fff carries into bit 15
// unless the low 15 bits are 0; | lane adds the sign bit), no carry
// between lanes.
static inline unsigned nz4_16(const uint16_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t lo = 0x7fff7fff7fff7fffull;
    uint64_t t = (((v & lo) + lo) | v) & ~lo;
    return (unsigned)((t >> 15 & 1u) | (t >> 30 & 2u) | (t >> 45 & 4u) | (t >> 60 & 8u));
}

static inline unsigned nz4_32(const uint32_t *p) {
    return (unsigned)(p[0] != 0) | (unsigned)(p[1] != 0) << 1 |
           (unsigned)(p[2] != 0) << 2 | (unsigned)(p[3] != 0) << 3;
}

static inline unsigned nz4(size_t esz, const char *row, int64_t g) {
    return esz == 2 ? nz4_16((const uint16_t *)row + 4 * g)
                    : nz4_32((const uint32_t *)row + 4 * g);
}

// Bit nz set when the 4-bit pattern nz keeps more than 2 (7, 11, 13, 14, 15).
#define NM_OVER_MASK 0xE880u

// First group (row, group) with more than 2 kept weights, or 0 when none.
// Full groups: a branch-free OR over the row, rescanned only when it hits.
static int nm24_misfit(const struct cpr_tensor *w, int64_t *bad_r,
                       int64_t *bad_g, int *count) {
    int64_t R = w->shape[0], C = w->shape[1], full = C / 4;
    size_t esz = cpr_dtype_size(w->dtype);
    for (int64_t r = 0; r < R; r++) {
        const char *row = (const char *)w->data + (size_t)(r * w->stride[0]) * esz;
        unsigned over = 0;
        for (int64_t g = 0; g < full; g++) over |= NM_OVER_MASK >> nz4(esz, row, g);
        for (int64_t g = 0; (over & 1u) && g < full; g++) {
            unsigned nz = nz4(esz, row, g);
            if (NM_OVER_MASK >> nz & 1u) {
                *bad_r = r, *bad_g = g, *count = popcount8(nz);
                return 1;
            }
        }
        for (int64_t g = full; g * 4 < C; g++) { // a short last group
            int c = 0;
            for (int64_t j = 4 * g; j < C; j++) c += bits_at(w->dtype, row, j) != 0;
            if (c > 2) {
                *bad_r = r, *bad_g = g, *count = c;
                return 1;
            }
        }
    }
    return 0;
}

static enum cpr_status alloc_sparse(enum cpr_wlayout l, enum cpr_dtype dt,
                                    int64_t R, int64_t C, int64_t nnz,
                                    struct cpr_sparse **out,
                                    struct cpr_err *err) {
    size_t esz = cpr_dtype_size(dt);
    int64_t ld = cpr_sparse_meta_ld(l, C);
    size_t vbytes = (size_t)(nnz + CPR_SPARSE_PAD) * esz;
    size_t mbytes = (size_t)(R * ld);
    struct cpr_sparse *s = calloc(1, sizeof *s);
    int64_t *off = malloc((size_t)(R + 1) * sizeof *off);
    // Values first (64-byte aligned), meta after them.
    size_t vround = (vbytes + 63) & ~(size_t)63;
    size_t total = (vround + mbytes + 63) & ~(size_t)63;
    void *buf = aligned_alloc(64, total ? total : 64);
    if (!s || !off || !buf) {
        free(s), free(off), free(buf);
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "compress: cannot allocate %zu bytes", total);
    }
    memset(buf, 0, total);
    s->layout = l, s->dtype = dt, s->n_rows = R, s->n_cols = C, s->nnz = nnz;
    s->values = buf;
    s->meta = (const uint8_t *)buf + vround;
    s->meta_ld = ld;
    s->row_off = off;
    s->owned = buf;
    *out = s;
    return CPR_OK;
}

// One row of the bitmask layout: mask bytes into mr, kept values appended
// at vals (element v); returns the new v. Fixed-width, branch-free copies
// per dtype width (a data-dependent branch per weight was the cost).
static int64_t bitmask_row16(const uint16_t *row, int64_t C, uint8_t *mr,
                             uint16_t *vals, int64_t v) {
    for (int64_t j0 = 0; j0 < C; j0 += 8) {
        unsigned byte = 0;
        // branch-free: random masks defeat the predictor; the store past
        // the last kept value lands in the padding
        for (int64_t j = j0; j < j0 + 8 && j < C; j++) {
            unsigned kept = row[j] != 0;
            vals[v] = row[j];
            v += kept;
            byte |= kept << (j - j0);
        }
        mr[j0 / 8] = (uint8_t)byte;
    }
    return v;
}

static int64_t bitmask_row32(const uint32_t *row, int64_t C, uint8_t *mr,
                             uint32_t *vals, int64_t v) {
    for (int64_t j0 = 0; j0 < C; j0 += 8) {
        unsigned byte = 0;
        // branch-free: random masks defeat the predictor; the store past
        // the last kept value lands in the padding
        for (int64_t j = j0; j < j0 + 8 && j < C; j++) {
            unsigned kept = row[j] != 0;
            vals[v] = row[j];
            v += kept;
            byte |= kept << (j - j0);
        }
        mr[j0 / 8] = (uint8_t)byte;
    }
    return v;
}

static void fill_bitmask(const struct cpr_tensor *w, struct cpr_sparse *s) {
    size_t esz = cpr_dtype_size(s->dtype);
    uint8_t *meta = (uint8_t *)s->meta;
    int64_t v = 0;
    for (int64_t r = 0; r < s->n_rows; r++) {
        const char *row = (const char *)w->data + (size_t)(r * w->stride[0]) * esz;
        uint8_t *mr = meta + r * s->meta_ld;
        s->row_off[r] = v;
        if (esz == 2)
            v = bitmask_row16((const uint16_t *)row, s->n_cols, mr,
                              (uint16_t *)s->values, v);
        else
            v = bitmask_row32((const uint32_t *)row, s->n_cols, mr,
                              (uint32_t *)s->values, v);
    }
    s->row_off[s->n_rows] = v;
}

// The short last group g of a row (width C - 4g < 4): per column.
static int64_t nm24_short_group(const struct cpr_sparse *s, const char *row,
                                int64_t g, uint8_t *mr, void *vals, int64_t v) {
    size_t esz = cpr_dtype_size(s->dtype);
    int idx[2], n = 0, width = (int)(s->n_cols - 4 * g);
    for (int i = 0; i < width && n < 2; i++)
        if (bits_at(s->dtype, row, 4 * g + i)) idx[n++] = i;
    // Pad with the lowest unused indices (values stay +0); a 1-wide last
    // group repeats index 0 with a +0 value.
    for (int i = 0; i < width && n < 2; i++)
        if (!(n == 1 && idx[0] == i)) idx[n++] = i;
    if (n < 2) idx[n++] = 0;
    if (idx[0] > idx[1]) {
        int t = idx[0];
        idx[0] = idx[1], idx[1] = t;
    }
    for (int t = 0; t < 2; t++) {
        int64_t slot = 2 * g + t;
        mr[slot / 4] |= (uint8_t)(idx[t] << (2 * (slot % 4)));
        if (bits_at(s->dtype, row, 4 * g + idx[t]) && !(t == 1 && idx[1] == idx[0]))
            copy_elem(esz, vals, v, row, 4 * g + idx[t]);
        v++;
    }
    return v;
}

// Full groups of one row, fixed element width (the table does the rest).
#define NM24_FULL_GROUPS(T, NZ)                                                \
    do {                                                                       \
        const T *rw = (const T *)row;                                          \
        T *vv = (T *)vals + v;                                                 \
        for (int64_t g = 0; g < full; g++) {                                   \
            struct nm_ent e = tab[NZ(rw + 4 * g)];                             \
            vv[2 * g] = rw[4 * g + e.i0];                                      \
            vv[2 * g + 1] = rw[4 * g + e.i1];                                  \
            if (g & 1) mr[g / 2] |= (uint8_t)(e.nibble << 4);                  \
            else mr[g / 2] = e.nibble;                                         \
        }                                                                      \
    } while (0)

// Every group fits (nm24_misfit said so): 2 values and a nibble per group.
static void fill_nm24(const struct cpr_tensor *w, struct cpr_sparse *s) {
    size_t esz = cpr_dtype_size(s->dtype);
    uint8_t *meta = (uint8_t *)s->meta;
    void *vals = (void *)s->values;
    int64_t C = s->n_cols, groups = (C + 3) / 4, full = C / 4, v = 0;
    struct nm_ent tab[16];
    nm_table(tab);
    for (int64_t r = 0; r < s->n_rows; r++) {
        const char *row = (const char *)w->data + (size_t)(r * w->stride[0]) * esz;
        uint8_t *mr = meta + r * s->meta_ld;
        s->row_off[r] = v;
        if (esz == 2) NM24_FULL_GROUPS(uint16_t, nz4_16);
        else NM24_FULL_GROUPS(uint32_t, nz4_32);
        v += 2 * full;
        if (full < groups) v = nm24_short_group(s, row, full, mr, vals, v);
    }
    s->row_off[s->n_rows] = v;
}

void cpr_tensor_set_sparse(struct cpr_tensor *t, struct cpr_sparse *s) {
    memset(t, 0, sizeof *t);
    t->dtype = s->dtype;
    t->ndim = 2;
    t->shape[0] = s->n_rows, t->shape[1] = s->n_cols;
    t->stride[0] = s->n_cols, t->stride[1] = 1;
    t->data = (void *)s->values;
    t->owns_data = 0;
    t->readonly = 1;
    t->sparse = s;
}

enum cpr_status cpr_sparse_compress(const struct cpr_tensor *w,
                                    enum cpr_wlayout layout, const char *name,
                                    struct cpr_tensor *out,
                                    struct cpr_err *err) {
    memset(out, 0, sizeof *out);
    if (!w || w->sparse || w->ndim != 2 || !w->data || w->stride[1] != 1 ||
        (unsigned)w->dtype >= CPR_DTYPE_COUNT || layout == CPR_WLAYOUT_DENSE ||
        (unsigned)layout > CPR_WLAYOUT_AUTO)
        return cpr_err_set(err, CPR_ERR_ARG,
                           "compress %s: need a dense 2-D row-major weight and "
                           "layout bitmask, nm or auto", name);
    int64_t R = w->shape[0], C = w->shape[1];
    size_t esz = cpr_dtype_size(w->dtype);
    int64_t bad_r = 0, bad_g = 0;
    int cnt = 0;
    // (bitmask takes any pattern: no 2:4 scan)
    int misfit = layout == CPR_WLAYOUT_BITMASK ||
                 nm24_misfit(w, &bad_r, &bad_g, &cnt);
    if (layout == CPR_WLAYOUT_NM24 && misfit)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "compress %s: row %lld group %lld (columns "
                           "%lld..%lld) holds %d nonzeros; 2:4 keeps at most 2 "
                           "(use --layout bitmask or auto)", name,
                           (long long)bad_r, (long long)bad_g,
                           (long long)(4 * bad_g), (long long)(4 * bad_g + 3),
                           cnt);
    // (explicit nm needs no count: 2 values per group)
    int64_t kept = layout == CPR_WLAYOUT_NM24 ? 0 : count_kept(w);
    int64_t nm_vals = R * ((C + 3) / 4) * 2;
    double dense_b = (double)R * C * esz;
    double bm_b = (double)R * cpr_sparse_meta_ld(CPR_WLAYOUT_BITMASK, C) +
                  (double)kept * esz;
    double nm_b = (double)R * cpr_sparse_meta_ld(CPR_WLAYOUT_NM24, C) +
                  (double)nm_vals * esz;
    if (layout == CPR_WLAYOUT_AUTO) {
        // Ties (exactly 2:4: both 1 bit per weight) go to NM24, whose
        // kernel has no data-dependent pointer advance.
        if (!misfit && nm_b <= bm_b) layout = CPR_WLAYOUT_NM24;
        else layout = CPR_WLAYOUT_BITMASK;
        double best = layout == CPR_WLAYOUT_NM24 ? nm_b : bm_b;
        if (best >= dense_b) {
            *out = *w;
            out->owns_data = 0;
            return CPR_OK;
        }
    }
    struct cpr_sparse *s = NULL;
    CPR_TRY(alloc_sparse(layout, w->dtype, R, C,
                         layout == CPR_WLAYOUT_NM24 ? nm_vals : kept, &s, err));
    if (layout == CPR_WLAYOUT_NM24) fill_nm24(w, s);
    else fill_bitmask(w, s);
    cpr_tensor_set_sparse(out, s);
    return CPR_OK;
}

// ---- views over file bytes ----

enum cpr_status cpr_sparse_view(enum cpr_wlayout layout, enum cpr_dtype dt,
                                int64_t n_rows, int64_t n_cols,
                                const void *values, int64_t n_values,
                                const uint8_t *meta, int64_t meta_bytes,
                                const char *name, struct cpr_sparse **out,
                                struct cpr_err *err) {
    *out = NULL;
    if ((layout != CPR_WLAYOUT_BITMASK && layout != CPR_WLAYOUT_NM24) ||
        (unsigned)dt >= CPR_DTYPE_COUNT || n_rows < 0 || n_cols < 0 ||
        n_rows > ((int64_t)1 << 32) || n_cols > ((int64_t)1 << 32))
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: bad compressed layout or shape (%lld, %lld)",
                           name, (long long)n_rows, (long long)n_cols);
    int64_t ld = cpr_sparse_meta_ld(layout, n_cols);
    if (meta_bytes != n_rows * ld)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: %s meta holds %lld bytes, expected %lld (%lld "
                           "rows x %lld)", name, cpr_wlayout_name(layout),
                           (long long)meta_bytes, (long long)(n_rows * ld),
                           (long long)n_rows, (long long)ld);
    int64_t *off = malloc((size_t)(n_rows + 1) * sizeof *off);
    if (!off) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", name);
    int64_t v = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        const uint8_t *mr = meta + r * ld;
        off[r] = v;
        if (layout == CPR_WLAYOUT_BITMASK) {
            for (int64_t b = 0; b < ld; b++) v += popcount8(mr[b]);
            if (n_cols % 8 && (mr[ld - 1] >> (n_cols % 8)))
                goto bad_tail;
            continue;
        }
        int64_t groups = (n_cols + 3) / 4;
        for (int64_t g = 0; g < groups; g++) {
            int width = (int)(n_cols - 4 * g < 4 ? n_cols - 4 * g : 4);
            int i0 = (mr[(2 * g) / 4] >> (2 * ((2 * g) % 4))) & 3;
            int i1 = (mr[(2 * g + 1) / 4] >> (2 * ((2 * g + 1) % 4))) & 3;
            if (i0 >= width || i1 >= width || (i0 >= i1 && width > 1)) {
                free(off);
                return cpr_err_set(err, CPR_ERR_FORMAT,
                                   "%s: row %lld group %lld has 2:4 indices "
                                   "(%d, %d); expected increasing indices "
                                   "below %d", name, (long long)r,
                                   (long long)g, i0, i1, width);
            }
        }
        int64_t slots = groups * 2;
        if (slots % 4 && (mr[ld - 1] >> (2 * (slots % 4)))) goto bad_tail;
        v += slots;
    }
    off[n_rows] = v;
    if (n_values != v + CPR_SPARSE_PAD) {
        free(off);
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: %lld values stored, the %s meta implies %lld "
                           "(+%d padding)", name, (long long)n_values,
                           cpr_wlayout_name(layout), (long long)v,
                           CPR_SPARSE_PAD);
    }
    struct cpr_sparse *s = calloc(1, sizeof *s);
    if (!s) {
        free(off);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", name);
    }
    s->layout = layout, s->dtype = dt, s->n_rows = n_rows, s->n_cols = n_cols;
    s->nnz = v, s->values = values, s->meta = meta, s->meta_ld = ld;
    s->row_off = off;
    *out = s;
    return CPR_OK;
bad_tail:
    free(off);
    return cpr_err_set(err, CPR_ERR_FORMAT,
                       "%s: meta bits set past column %lld in some row",
                       name, (long long)n_cols);
}

// ---- decompress ----

void cpr_sparse_decompress_rows(const struct cpr_sparse *s, int64_t r0,
                                int64_t r1, void *dst, size_t ld) {
    size_t esz = cpr_dtype_size(s->dtype);
    int64_t C = s->n_cols;
    for (int64_t r = r0; r < r1; r++) {
        char *out = (char *)dst + (size_t)(r - r0) * ld * esz;
        memset(out, 0, (size_t)C * esz);
        const uint8_t *mr = s->meta + r * s->meta_ld;
        int64_t v = s->row_off[r];
        if (s->layout == CPR_WLAYOUT_BITMASK) {
            for (int64_t b = 0; b < s->meta_ld; b++) {
                unsigned m = mr[b];
                for (; m; m &= m - 1) {
                    int bit = __builtin_ctz(m);
                    copy_elem(esz, out, 8 * b + bit, s->values, v++);
                }
            }
            continue;
        }
        for (int64_t slot = 0; slot < (C + 3) / 4 * 2; slot++, v++) {
            int idx = (mr[slot / 4] >> (2 * (slot % 4))) & 3;
            // +0 padding is skipped so it never overwrites a kept value.
            if (bits_at(s->dtype, s->values, v))
                copy_elem(esz, out, 4 * (slot / 2) + idx, s->values, v);
        }
    }
}

enum cpr_status cpr_sparse_decompress(const struct cpr_tensor *w,
                                      struct cpr_tensor *out,
                                      struct cpr_err *err) {
    if (!w->sparse) return cpr_tensor_clone(out, w, err);
    const struct cpr_sparse *s = w->sparse;
    int64_t shape[2] = {s->n_rows, s->n_cols};
    CPR_TRY(cpr_tensor_alloc(out, s->dtype, 2, shape, err));
    cpr_sparse_decompress_rows(s, 0, s->n_rows, out->data, (size_t)s->n_cols);
    return CPR_OK;
}

size_t cpr_weight_bytes(const struct cpr_tensor *w) {
    if (!w->sparse) return cpr_tensor_nbytes(w);
    const struct cpr_sparse *s = w->sparse;
    return (size_t)s->nnz * cpr_dtype_size(s->dtype) +
           (size_t)(s->n_rows * s->meta_ld);
}

void cpr_sparse_free(struct cpr_sparse *s) {
    if (!s) return;
    free(s->owned);
    free(s->row_off);
    free(s);
}
