// tests/test_core_weight_nm24.c: the 2:4 (NM24) compressor of core/weight.c
// (table-driven, 4 columns at a time) against an encoder written here from
// the layout text in core/weight.h, byte for byte: meta, values (padding
// included) and row offsets, for f32 / bf16 / f16, every column count
// 1..13 plus wide rows with short last groups, every 4-bit kept pattern,
// -0 (kept) and +0 (dropped). Then the first misfit group named in the
// error (full and short groups, several misfits in a tensor), and the
// round trip through cpr_sparse_decompress.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/weight.h"
#include "tests/harness.h"

// Bit pattern of element j (esz 2 or 4).
static uint32_t pat(const void *row, size_t esz, int64_t j) {
    if (esz == 2) return ((const uint16_t *)row)[j];
    uint32_t u;
    memcpy(&u, (const char *)row + 4 * j, 4);
    return u;
}

// The spec's encoding of one row: meta (meta_ld bytes) and 2 values per
// group (as bit patterns).
static void spec_row(const void *row, size_t esz, int64_t C, uint8_t *meta,
                     uint32_t *vals) {
    int64_t groups = (C + 3) / 4;
    memset(meta, 0, (size_t)cpr_sparse_meta_ld(CPR_WLAYOUT_NM24, C));
    for (int64_t g = 0; g < groups; g++) {
        int width = (int)(C - 4 * g < 4 ? C - 4 * g : 4), idx[4], n = 0;
        int kept[4] = {0, 0, 0, 0};
        for (int i = 0; i < width; i++)
            if (pat(row, esz, 4 * g + i)) kept[i] = 1, idx[n++] = i;
        for (int i = 0; i < width && n < 2; i++)
            if (!kept[i]) idx[n++] = i; // lowest unused indices
        if (n < 2) idx[n++] = 0;       // a 1-wide last group repeats 0
        if (idx[0] > idx[1]) { int t = idx[0]; idx[0] = idx[1]; idx[1] = t; }
        for (int t = 0; t < 2; t++) {
            int64_t slot = 2 * g + t;
            meta[slot / 4] |= (uint8_t)(idx[t] << (2 * (slot % 4)));
            int dup = t == 1 && idx[1] == idx[0];
            vals[slot] = kept[idx[t]] && !dup ? pat(row, esz, 4 * g + idx[t]) : 0;
        }
    }
}

// Random row data: nonzero values, then per group a kept pattern with at
// most 2 bits (cycling through all of them), some kept values set to -0.
static void fill(struct cpr_rng *r, void *w, size_t esz, int64_t R, int64_t C,
                 unsigned *cyc) {
    static const unsigned ok[11] = {0, 1, 2, 4, 8, 3, 5, 6, 9, 10, 12};
    for (int64_t i = 0; i < R; i++)
        for (int64_t g = 0; 4 * g < C; g++) {
            unsigned nz = ok[(*cyc)++ % 11];
            for (int64_t j = 4 * g; j < 4 * g + 4 && j < C; j++) {
                uint32_t u;
                if (!(nz >> (j - 4 * g) & 1u)) u = 0;
                else if (cpr_rng_below(r, 9) == 0) u = esz == 2 ? 0x8000u : 0x80000000u;
                else u = (uint32_t)(1 + cpr_rng_below(r, 0x7ffe)) << (esz == 2 ? 0 : 16);
                if (esz == 2) ((uint16_t *)w)[i * C + j] = (uint16_t)u;
                else memcpy((char *)w + 4 * (i * C + j), &u, 4);
            }
        }
}

static void check_tensor(struct cpr_test_ctx *t, enum cpr_dtype dt, int64_t R,
                         int64_t C, const void *w) {
    size_t esz = cpr_dtype_size(dt);
    int64_t shp[2] = {R, C};
    struct cpr_tensor d, sp;
    cpr_tensor_wrap(&d, dt, (void *)w, 2, shp, 1);
    struct cpr_err err = {0};
    if (cpr_sparse_compress(&d, CPR_WLAYOUT_NM24, "w", &sp, &err) != CPR_OK) {
        CPR_CHECK(t, 0, "%s C=%lld: %s", cpr_dtype_name(dt), (long long)C, err.msg);
        return;
    }
    const struct cpr_sparse *s = sp.sparse;
    int64_t ld = cpr_sparse_meta_ld(CPR_WLAYOUT_NM24, C), groups = (C + 3) / 4;
    uint8_t *meta = malloc((size_t)ld);
    uint32_t *vals = malloc((size_t)groups * 2 * sizeof *vals);
    int bad = 0;
    CPR_CHECK(t, s->nnz == R * groups * 2, "%s C=%lld: nnz %lld", cpr_dtype_name(dt),
              (long long)C, (long long)s->nnz);
    for (int64_t r = 0; r < R && bad < 3; r++) {
        const char *row = (const char *)w + (size_t)(r * C) * esz;
        spec_row(row, esz, C, meta, vals);
        if (s->row_off[r] != r * groups * 2) {
            CPR_CHECK(t, 0, "%s C=%lld row %lld: row_off %lld", cpr_dtype_name(dt),
                      (long long)C, (long long)r, (long long)s->row_off[r]);
            bad++;
        }
        if (memcmp(s->meta + r * s->meta_ld, meta, (size_t)ld)) {
            CPR_CHECK(t, 0, "%s C=%lld row %lld: meta differs from the spec",
                      cpr_dtype_name(dt), (long long)C, (long long)r);
            bad++;
        }
        for (int64_t v = 0; v < groups * 2; v++)
            if (pat((const char *)s->values + (size_t)(r * groups * 2) * esz, esz, v) !=
                vals[v]) {
                CPR_CHECK(t, 0, "%s C=%lld row %lld value %lld: 0x%x, spec 0x%x",
                          cpr_dtype_name(dt), (long long)C, (long long)r, (long long)v,
                          pat((const char *)s->values + (size_t)(r * groups * 2) * esz,
                              esz, v), vals[v]);
                bad++;
                break;
            }
    }
    for (int64_t v = 0; v < CPR_SPARSE_PAD; v++)
        CPR_CHECK(t, pat(s->values, esz, s->nnz + v) == 0, "padding value %lld set",
                  (long long)v);
    struct cpr_tensor back;
    CPR_CHECK_STATUS(t, cpr_sparse_decompress(&sp, &back, &err), CPR_OK, &err, NULL);
    if (back.data)
        CPR_CHECK(t, memcmp(back.data, w, (size_t)(R * C) * esz) == 0,
                  "%s C=%lld: decompress is not bit-exact", cpr_dtype_name(dt),
                  (long long)C);
    cpr_tensor_free(&back);
    cpr_tensor_free(&sp);
    free(meta), free(vals);
}

static void test_spec(struct cpr_test_ctx *t) {
    static const enum cpr_dtype dts[3] = {CPR_DTYPE_F32, CPR_DTYPE_BF16, CPR_DTYPE_F16};
    struct cpr_rng r;
    cpr_rng_seed(&r, 77);
    unsigned cyc = 0;
    static const int64_t Cs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 4099, 4100};
    for (int d = 0; d < 3; d++)
        for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++) {
            int64_t C = Cs[ci], R = C > 100 ? 3 : 7;
            void *w = malloc((size_t)(R * C) * 4);
            fill(&r, w, cpr_dtype_size(dts[d]), R, C, &cyc);
            check_tensor(t, dts[d], R, C, w);
            free(w);
        }
}

// The error names the first group (row-major) holding 3 or 4.
static void test_misfit(struct cpr_test_ctx *t) {
    static const struct { int64_t C, r, g; int cnt; } cases[] = {
        {8, 1, 1, 3}, {16, 0, 3, 4}, {7, 1, 1, 3}, {11, 0, 2, 3}, {4100, 1, 1023, 3}, {4101, 2, 1025, 1}};
    for (int dt16 = 0; dt16 < 2; dt16++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int64_t C = cases[i].C, R = 3;
            uint16_t *w16 = calloc((size_t)(R * C), 2);
            float *w32 = calloc((size_t)(R * C), 4);
            // the intended misfit, and a later one in the same and a later row
            int64_t base = cases[i].r * C + 4 * cases[i].g;
            int cnt = cases[i].cnt == 1 ? 3 : cases[i].cnt;
            int64_t width = C - 4 * cases[i].g < 4 ? C - 4 * cases[i].g : 4;
            if (width < cnt) cnt = (int)width;
            for (int j = 0; j < cnt; j++) w16[base + j] = 0x3f80, w32[base + j] = 1.0f;
            if (4 * cases[i].g + 8 <= C)
                for (int j = 4; j < 8; j++) w16[base + j] = 0x8000, w32[base + j] = -0.0f;
            for (int j = 0; j < 3; j++) w16[(R - 1) * C + j] = 0x4000, w32[(R - 1) * C + j] = 2.0f;
            int64_t shp[2] = {R, C};
            struct cpr_tensor d, sp;
            cpr_tensor_wrap(&d, dt16 ? CPR_DTYPE_BF16 : CPR_DTYPE_F32,
                            dt16 ? (void *)w16 : (void *)w32, 2, shp, 1);
            struct cpr_err err = {0};
            char want[96];
            int64_t wr = cnt > 2 ? cases[i].r : R - 1, wg = cnt > 2 ? cases[i].g : 0;
            snprintf(want, sizeof want, "row %lld group %lld", (long long)wr, (long long)wg);
            CPR_CHECK_STATUS(t, cpr_sparse_compress(&d, CPR_WLAYOUT_NM24, "m.w", &sp, &err),
                             CPR_ERR_FORMAT, &err, want);
            // auto falls back to bitmask on the same tensor
            CPR_CHECK_STATUS(t, cpr_sparse_compress(&d, CPR_WLAYOUT_AUTO, "m.w", &sp, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, sp.sparse && sp.sparse->layout == CPR_WLAYOUT_BITMASK,
                      "auto on a misfit C=%lld: not bitmask", (long long)C);
            cpr_tensor_free(&sp);
            free(w16), free(w32);
        }
}

const struct cpr_test cpr_tests_core_weight_nm24[] = {
    {"spec", test_spec, 0},
    {"misfit", test_misfit, 0},
    {0},
};
