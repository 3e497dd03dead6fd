// methods/magnitude.c: magnitude pruning as wanda's prune_magnitude runs it
// (lib/prune.py), plus per-row and global variants.
//
//   group=matrix (default, the reference): thresh = sort(|W|.flatten())
//     [int(numel*s)], mask = |W| <= thresh. Every weight tied with the
//     threshold is pruned too, so ties can prune slightly more than
//     int(numel*s); replicated on purpose. NaN weights are never pruned
//     (NaN <= x is false), as in torch.
//   group=row: exactly int(cols*s) smallest |w| per row (ties: lower index).
//   group=global: one threshold over all decoder matrices with a
//     per-matrix density floor (min_density); prune_matrix cannot do it
//     alone, so the pipeline calls cpr_magnitude_global_plan / _apply.
//   N:M (any group): per row, in each group of m input columns, the n
//     smallest |w| (torch.topk(largest=False); ties: lower index here).
#include "methods/magnitude.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/rowsel.h"

struct mag_state {
    int group;          // enum cpr_magnitude_group
    double min_density; // global only
};

static const struct cpr_method_opt mag_opts[] = {
    {"group", CPR_OPT_ENUM, offsetof(struct mag_state, group), "matrix",
     "matrix|row|global", 0, 0,
     "comparison group: per matrix (reference), per row, or global"},
    {"min_density", CPR_OPT_DOUBLE, offsetof(struct mag_state, min_density),
     "0", NULL, 0, 1,
     "group=global: fraction of each matrix always kept"},
};
#define N_MAG_OPTS (sizeof mag_opts / sizeof mag_opts[0])

enum cpr_magnitude_group cpr_magnitude_group(const void *state) {
    return (enum cpr_magnitude_group)((const struct mag_state *)state)->group;
}
double cpr_magnitude_min_density(const void *state) {
    return ((const struct mag_state *)state)->min_density;
}

static enum cpr_status mag_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(mag_opts, N_MAG_OPTS,
                                sizeof(struct mag_state), "magnitude", state,
                                err);
}

static enum cpr_status mag_parse(void *state, const char *list,
                                 struct cpr_err *err) {
    return cpr_method_opts_parse(mag_opts, N_MAG_OPTS, state, "magnitude",
                                 list, err);
}

static void mag_free(void *state) { free(state); }

static const char *mname(const struct cpr_matrix *m) {
    return m->name ? m->name : "matrix";
}

// ---- per matrix ----
// The threshold |W| value of sorted index int(numel*s) is found by a
// two-level radix select on the bits of |w| (for non-negative floats the
// bit pattern orders as an unsigned integer; every NaN is mapped to one
// key above +Inf, as torch sorts NaN last): a threaded pass counts the top
// 16 bits of every key, the bin holding the wanted rank is found from the
// cumulative counts, and a second threaded pass counts the low 16 bits of
// the keys in that bin. Counts are exact integers, so the threshold (and
// the mask) do not depend on the thread count. Two passes over W and a
// 64 Ki-entry table per thread: no numel-sized scratch, which on a 7B
// layer was most of the time (fresh pages for two 180 MB buffers per
// matrix). The threshold equals k->kth_smallest_f32 on |W| (tests check).
#define MAG_BINS 65536u
#define MAG_NAN_KEY 0x7fc00000u

static inline uint32_t mag_key(float w) {
    uint32_t u;
    float a = fabsf(w);
    memcpy(&u, &a, sizeof u);
    return u > 0x7f800000u ? MAG_NAN_KEY : u;
}

struct hist_ctx {
    const struct cpr_matrix *m;
    size_t *counts;   // nth x MAG_BINS
    int level;        // 0: top 16 bits; 1: low 16 bits of keys in bin `hi`
    uint32_t hi;
};

static void hist_worker(void *vctx, size_t ith, size_t nth) {
    struct hist_ctx *c = vctx;
    size_t r0, r1, *h = c->counts + ith * MAG_BINS;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    memset(h, 0, MAG_BINS * sizeof *h);
    for (size_t r = r0; r < r1; r++) {
        const float *w = c->m->w + r * c->m->ld;
        if (c->level == 0) {
            for (size_t j = 0; j < c->m->cols; j++) h[mag_key(w[j]) >> 16]++;
        } else {
            for (size_t j = 0; j < c->m->cols; j++) {
                uint32_t key = mag_key(w[j]);
                if (key >> 16 == c->hi) h[key & 0xffffu]++;
            }
        }
    }
}

// Sum the per-thread tables and find the bin of 0-based rank *rank; on
// return *rank is the rank inside that bin.
static uint32_t hist_find(const size_t *counts, size_t nth, size_t *rank) {
    for (uint32_t b = 0; b < MAG_BINS; b++) {
        size_t n = 0;
        for (size_t t = 0; t < nth; t++) n += counts[t * MAG_BINS + b];
        if (*rank < n) return b;
        *rank -= n;
    }
    return MAG_BINS - 1; // unreachable: rank < numel
}

struct le_ctx {
    const struct cpr_matrix *m;
    float thresh;
    uint8_t *mask;
};

// Prune |w| <= thresh; mask as in prune_matrix. (NaN <= x is false.)
static void prune_le_worker(void *vctx, size_t ith, size_t nth) {
    struct le_ctx *c = vctx;
    size_t r0, r1;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        float *w = c->m->w + r * c->m->ld;
        uint8_t *mk = c->mask ? c->mask + r * c->m->cols : NULL;
        for (size_t j = 0; j < c->m->cols; j++) {
            int p = fabsf(w[j]) <= c->thresh;
            if (p) w[j] = 0.0f;
            if (mk) mk[j] = (uint8_t)p;
        }
    }
}

static void prune_le(struct cpr_pool *pool, const struct cpr_matrix *m,
                     float thresh, uint8_t *mask) {
    struct le_ctx c = {m, thresh, mask};
    cpr_pool_run(pool, prune_le_worker, &c);
}

static enum cpr_status prune_per_matrix(const struct cpr_matrix *m, double s,
                                        uint8_t *mask, struct cpr_pool *pool,
                                        struct cpr_err *err) {
    size_t numel = m->rows * m->cols;
    if (numel == 0) return CPR_OK;
    size_t idx = cpr_count_of(numel, s); // sorted index int(numel*s)
    if (idx >= numel) {                  // s == 1: torch would index past
        prune_le(pool, m, INFINITY, mask); // the end; prune every finite w
        return CPR_OK;
    }
    const size_t nth = cpr_pool_size(pool);
    size_t *counts = malloc(nth * MAG_BINS * sizeof *counts);
    if (!counts)
        return cpr_err_set(err, CPR_ERR_NOMEM, "magnitude: %s: %zu x 64 Ki "
                           "histogram", mname(m), nth);
    struct hist_ctx h = {m, counts, 0, 0};
    size_t rank = idx;
    cpr_pool_run(pool, hist_worker, &h);
    h.hi = hist_find(counts, nth, &rank);
    h.level = 1;
    cpr_pool_run(pool, hist_worker, &h);
    uint32_t lo = hist_find(counts, nth, &rank);
    free(counts);
    uint32_t key = h.hi << 16 | lo;
    float thresh;
    memcpy(&thresh, &key, sizeof thresh);
    prune_le(pool, m, thresh, mask);
    return CPR_OK;
}

static enum cpr_status mag_prune(const void *state, const struct cpr_matrix *m,
                                 struct cpr_linear_stats *stats,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err) {
    const struct mag_state *s = state;
    if (!k) k = cpr_kernels_get();
    int dense;
    CPR_TRY(cpr_prune_open("magnitude", m, stats, 0, t, mask, &dense, err));
    if (dense) return CPR_OK;
    if (t->nm_m || s->group == CPR_MAG_GROUP_ROW)
        return cpr_rowsel_prune(m, NULL, t, mask, pool, k, err);
    if (s->group == CPR_MAG_GROUP_GLOBAL)
        return cpr_err_set(err, CPR_ERR_ARG, "magnitude: %s: group=global "
                           "needs all matrices at once; use "
                           "cpr_magnitude_global_plan/_apply", mname(m));
    return prune_per_matrix(m, t->sparsity, mask, pool, err);
}

static enum cpr_status mag_scores(const void *state, const struct cpr_matrix *m,
                                  const struct cpr_linear_stats *stats,
                                  float *out, struct cpr_err *err) {
    (void)state, (void)stats, (void)err;
    for (size_t r = 0; r < m->rows; r++)
        for (size_t j = 0; j < m->cols; j++)
            out[r * m->cols + j] = fabsf(m->w[r * m->ld + j]);
    return CPR_OK;
}

// group=global prunes all matrices at once (CPR_NEED_GLOBAL: the pipeline
// calls the global entry points below instead of prune_matrix).
static unsigned mag_needs(const void *state) {
    return cpr_magnitude_group(state) == CPR_MAG_GROUP_GLOBAL ? CPR_NEED_GLOBAL
                                                              : 0u;
}

const struct cpr_method cpr_method_magnitude = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "magnitude",
    .summary = "|W| smallest pruned: per matrix (reference), per row, "
               "global with density floor; N:M",
    .needs = 0,
    .opts = mag_opts,
    .n_opts = N_MAG_OPTS,
    .init = mag_init,
    .parse_opts = mag_parse,
    .prune_matrix = mag_prune,
    .free = mag_free,
    .scores = mag_scores,
    .needs_of = mag_needs,
};

// ---- global ----
struct count_ctx {
    const struct cpr_matrix *m;
    float tau;
    size_t *partial; // per thread
};

static void count_worker(void *vctx, size_t ith, size_t nth) {
    struct count_ctx *c = vctx;
    size_t r0, r1, n = 0;
    cpr_pool_split(c->m->rows, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        const float *w = c->m->w + r * c->m->ld;
        for (size_t j = 0; j < c->m->cols; j++) n += fabsf(w[j]) <= c->tau;
    }
    c->partial[ith] = n;
}

static size_t count_le(struct cpr_pool *pool, const struct cpr_matrix *m,
                       float tau, size_t *partial) {
    struct count_ctx c = {m, tau, partial};
    cpr_pool_run(pool, count_worker, &c);
    size_t n = 0;
    for (size_t i = 0; i < cpr_pool_size(pool); i++) n += partial[i];
    return n;
}

static float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// Total prunable count at threshold tau, each matrix capped.
static size_t capped_total(struct cpr_pool *pool, size_t n_mats,
                           const struct cpr_matrix *mats, const size_t *cap,
                           float tau, size_t *partial) {
    size_t tot = 0;
    for (size_t i = 0; i < n_mats; i++) {
        size_t c = count_le(pool, &mats[i], tau, partial);
        tot += c < cap[i] ? c : cap[i];
    }
    return tot;
}

enum cpr_status cpr_magnitude_global_plan(struct cpr_pool *pool,
                                          size_t n_mats,
                                          const struct cpr_matrix *mats,
                                          double sparsity, double min_density,
                                          float *thresh, size_t *cap,
                                          struct cpr_err *err) {
    if (!(sparsity >= 0.0 && sparsity <= 1.0) ||
        !(min_density >= 0.0 && min_density <= 1.0))
        return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: sparsity %g "
                           "and min_density %g must lie in [0, 1]", sparsity,
                           min_density);
    size_t total = 0, capsum = 0;
    for (size_t i = 0; i < n_mats; i++) {
        if (!mats[i].w || mats[i].ld < mats[i].cols)
            return cpr_err_set(err, CPR_ERR_ARG, "global magnitude: matrix "
                               "%zu: bad view", i);
        size_t numel = mats[i].rows * mats[i].cols;
        size_t keep = (size_t)ceil(min_density * (double)numel);
        if (keep > numel) keep = numel;
        cap[i] = numel - keep;
        total += numel;
        capsum += cap[i];
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
    size_t *partial = calloc(cpr_pool_size(pool), sizeof *partial);
    if (!partial)
        return cpr_err_set(err, CPR_ERR_NOMEM, "global magnitude: counts");
    // Non-negative floats order like their bit patterns; bisect on
    // [0, +Inf] for the smallest tau with capped_total(tau) >= want.
    uint32_t lo = 0, hi = 0x7f800000u;
    if (capped_total(pool, n_mats, mats, cap, bits_to_float(hi), partial) <
        want) {
        free(partial);
        return cpr_err_set(err, CPR_ERR_NUMERIC, "global magnitude: NaN "
                           "weights keep the target of %zu pruned weights "
                           "out of reach", want);
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (capped_total(pool, n_mats, mats, cap, bits_to_float(mid),
                         partial) >= want)
            hi = mid;
        else
            lo = mid + 1;
    }
    free(partial);
    for (size_t i = 0; i < n_mats; i++) thresh[i] = bits_to_float(lo);
    return CPR_OK;
}

// |W| into a contiguous buffer (numel floats); NULL on NOMEM.
static float *abs_copy(const struct cpr_matrix *m) {
    size_t numel = m->rows * m->cols;
    float *a = malloc((numel ? numel : 1) * sizeof *a);
    if (!a) return NULL;
    for (size_t r = 0; r < m->rows; r++)
        for (size_t j = 0; j < m->cols; j++)
            a[r * m->cols + j] = fabsf(m->w[r * m->ld + j]);
    return a;
}

enum cpr_status cpr_magnitude_global_apply(const struct cpr_matrix *m,
                                           float thresh, size_t cap,
                                           uint8_t *mask,
                                           struct cpr_pool *pool,
                                           const struct cpr_kernels *k,
                                           struct cpr_err *err) {
    if (!k) k = cpr_kernels_get();
    size_t numel = m->rows * m->cols;
    size_t one = 0;
    size_t n = count_le(NULL, m, thresh, &one);
    if (n <= cap) {
        prune_le(pool, m, thresh, mask);
        return CPR_OK;
    }
    // The floor binds: exactly cap smallest |w| of the flattened matrix.
    float *a = abs_copy(m);
    uint32_t *scratch = malloc((numel ? numel : 1) * sizeof *scratch);
    uint8_t *own = mask ? NULL : malloc(numel ? numel : 1);
    if (!a || !scratch || (!mask && !own)) {
        free(a);
        free(scratch);
        free(own);
        return cpr_err_set(err, CPR_ERR_NOMEM, "global magnitude: %s: "
                           "%zu-element selection scratch", mname(m), numel);
    }
    uint8_t *mk = mask ? mask : own;
    k->select_smallest_f32(numel, cap, a, mk, scratch);
    for (size_t r = 0; r < m->rows; r++)
        for (size_t j = 0; j < m->cols; j++)
            if (mk[r * m->cols + j]) m->w[r * m->ld + j] = 0.0f;
    free(a);
    free(scratch);
    free(own);
    return CPR_OK;
}
