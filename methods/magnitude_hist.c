// methods/magnitude_hist.c: global magnitude threshold from histograms of
// the bits of |w| (see magnitude_hist.h).
//
// For non-negative floats the bit pattern orders like the value, so the
// rule "smallest tau with F(tau) = sum_i min(#{|w_i| <= tau}, cap_i) >= K"
// is found on keys: pass 0 counts, per matrix, the top 16 bits of every
// key; scanning bins upward with running per-matrix counts gives the first
// bin where F reaches K at its end. Pass 1 counts the low 16 bits of the
// keys in that bin only, and the same scan inside the bin gives the exact
// key. F only steps at key values, so this is the tau the bisection of
// cpr_magnitude_global_plan finds. NaN weights get a key above +Inf that no
// scan reaches (they are never pruned, as NaN <= tau is false).
#include "methods/magnitude_hist.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "methods/rowsel.h"

#define HB 65536u
#define KEY_INF 0x7f800000u
#define KEY_NAN 0x7fc00000u

static inline uint32_t key_of(float w) {
    uint32_t u;
    float a = fabsf(w);
    memcpy(&u, &a, sizeof u);
    return u > KEY_INF ? KEY_NAN : u;
}

struct hctx {
    const struct cpr_tensor *t;
    size_t *counts; // nth x HB
    float *rows;    // nth x cols
    int level;      // 0: top 16 bits; 1: low 16 bits of keys in bin `bin`
    uint32_t bin;
};

static void hworker(void *vctx, size_t ith, size_t nth) {
    struct hctx *c = vctx;
    const size_t cols = (size_t)c->t->shape[1];
    size_t r0, r1, *h = c->counts + ith * HB;
    float *row = c->rows + ith * cols;
    cpr_pool_split((size_t)c->t->shape[0], ith, nth, 1, &r0, &r1);
    memset(h, 0, HB * sizeof *h);
    for (size_t r = r0; r < r1; r++) {
        cpr_tensor_row_f32(c->t, (int64_t)r, row);
        if (c->level == 0) {
            for (size_t j = 0; j < cols; j++) h[key_of(row[j]) >> 16]++;
        } else {
            for (size_t j = 0; j < cols; j++) {
                uint32_t k = key_of(row[j]);
                if (k >> 16 == c->bin) h[k & 0xffffu]++;
            }
        }
    }
}

// One pass over ws[i]; the per-thread tables summed into out[HB].
static void hist(struct cpr_pool *pool, const struct cpr_tensor *t,
                 int level, uint32_t bin, size_t *counts, float *rows,
                 uint32_t *out) {
    struct hctx c = {t, counts, rows, level, bin};
    cpr_pool_run(pool, hworker, &c);
    const size_t nth = cpr_pool_size(pool);
    for (size_t b = 0; b < HB; b++) {
        size_t n = 0;
        for (size_t th = 0; th < nth; th++) n += counts[th * HB + b];
        out[b] = (uint32_t)n;
    }
}

// F at the end of bin b of tables h (n x HB) on top of running counts base.
static size_t capped_at(size_t n, const uint32_t *h, const size_t *base,
                        const size_t *cap, size_t b) {
    size_t f = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = base[i] + h[i * HB + b];
        f += c < cap[i] ? c : cap[i];
    }
    return f;
}

// First bin in [0, last] where F (with running counts run[], advanced
// through every bin before it) reaches want; HB if none.
static size_t scan(size_t n, const uint32_t *h, size_t *run,
                   const size_t *cap, size_t last, size_t want) {
    for (size_t b = 0; b <= last; b++) {
        if (capped_at(n, h, run, cap, b) >= want) return b;
        for (size_t i = 0; i < n; i++) run[i] += h[i * HB + b];
    }
    return HB;
}

enum cpr_status cpr_magnitude_global_plan_tensors(
    struct cpr_pool *pool, size_t n_mats, const struct cpr_tensor *const *ws,
    double sparsity, double min_density, float *thresh, size_t *cap,
    struct cpr_err *err) {
    if (!(sparsity >= 0.0 && sparsity <= 1.0) ||
        !(min_density >= 0.0 && min_density <= 1.0))
        return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: sparsity %g "
                           "and min_density %g must lie in [0, 1]", sparsity,
                           min_density);
    size_t total = 0, capsum = 0, maxcols = 1;
    for (size_t i = 0; i < n_mats; i++) {
        const struct cpr_tensor *t = ws[i];
        if (t->sparse)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "global magnitude: "
                               "matrix %zu is compressed; decompress it "
                               "first", i);
        if (t->ndim != 2 || !t->data)
            return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: matrix "
                               "%zu: expected a 2-D tensor, found %d dims",
                               i, t->ndim);
        size_t numel = (size_t)cpr_tensor_numel(t);
        if (numel > UINT32_MAX)
            return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: matrix "
                               "%zu: %zu elements, at most %u", i, numel,
                               (unsigned)UINT32_MAX);
        size_t keep = (size_t)ceil(min_density * (double)numel);
        if (keep > numel) keep = numel;
        cap[i] = numel - keep;
        total += numel;
        capsum += cap[i];
        if ((size_t)t->shape[1] > maxcols) maxcols = (size_t)t->shape[1];
    }
    size_t want = sparsity == 0.0 ? 0 : cpr_count_of(total, sparsity);
    if (want == 0) {
        for (size_t i = 0; i < n_mats; i++) thresh[i] = -1.0f;
        return CPR_OK;
    }
    if (capsum < want)
        return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: min_density "
                           "%g leaves %zu prunable weights, sparsity %g needs "
                           "%zu; lower one of them", min_density, capsum,
                           sparsity, want);
    const size_t nth = cpr_pool_size(pool);
    size_t *counts = malloc(nth * HB * sizeof *counts);
    float *rows = malloc(nth * maxcols * sizeof *rows);
    uint32_t *h = malloc(n_mats * HB * sizeof *h);
    size_t *run = calloc(n_mats, sizeof *run);
    enum cpr_status s = CPR_OK;
    if (!counts || !rows || !h || !run) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "global magnitude: %zu "
                        "histograms", n_mats);
        goto out;
    }
    for (size_t i = 0; i < n_mats; i++)
        hist(pool, ws[i], 0, 0, counts, rows, h + i * HB);
    const size_t bin = scan(n_mats, h, run, cap, KEY_INF >> 16, want);
    if (bin == HB) {
        s = cpr_err_set(err, CPR_ERR_NUMERIC, "global magnitude: NaN "
                        "weights keep the target of %zu pruned weights "
                        "out of reach", want);
        goto out;
    }
    for (size_t i = 0; i < n_mats; i++)
        hist(pool, ws[i], 1, (uint32_t)bin, counts, rows, h + i * HB);
    // Inside bin 0x7f80 only the low bits 0 (+Inf) are a number.
    const size_t lo = scan(n_mats, h, run, cap,
                           bin == KEY_INF >> 16 ? 0 : HB - 1, want);
    // The end of the bin reaches want (pass 0), so lo < HB.
    uint32_t key = (uint32_t)(bin << 16 | (lo < HB ? lo : HB - 1));
    float tau;
    memcpy(&tau, &key, sizeof tau);
    for (size_t i = 0; i < n_mats; i++) thresh[i] = tau;
out:
    free(counts);
    free(rows);
    free(h);
    free(run);
    return s;
}
