// simd/select_scalar.c: reference top-k / k-th / N:M selection (the
// executable spec of the select family).
//
// The order is (score, index) ascending with NaN above +Inf; scores that
// compare equal as floats (including -0 and +0) are ties broken by the lower
// index, and all NaNs tie with each other. Because the index breaks every
// tie, the order is a strict total order on positions, so the selected set
// is unique and a 2-way partition never meets an "equal" element.
//
// select_smallest / kth_smallest use introselect on an index array:
// quickselect with a median-of-3 pivot, and after 2*log2(n) levels without
// finishing, median-of-medians pivots (groups of 5), which guarantee O(n).
// Comparisons use float compares directly (not the integer keys of the SIMD
// files), so the SIMD kernels are checked against an independent method.
// This file deliberately does not sort.
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

// ---- the order ----
// 1 when position i comes before position j in (score, index) order.
static inline int before(const float *s, uint32_t i, uint32_t j) {
    float a = s[i], b = s[j];
    int na = a != a, nb = b != b;
    if (na | nb) return na == nb ? i < j : nb; // NaN above everything
    if (a < b) return 1;
    if (b < a) return 0;
    return i < j; // equal values (also -0 vs +0): lower index first
}

static inline void swap_u32(uint32_t *a, uint32_t *b) {
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

// ---- introselect ----
static void insertion_sort(uint32_t *idx, size_t lo, size_t hi,
                           const float *s) {
    for (size_t i = lo + 1; i < hi; i++) {
        uint32_t v = idx[i];
        size_t j = i;
        while (j > lo && before(s, v, idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

// Partition idx[lo, hi) around the element at position p; returns its final
// position q: idx[lo, q) come before it, idx(q, hi) after it.
static size_t partition(uint32_t *idx, size_t lo, size_t hi, size_t p,
                        const float *s) {
    swap_u32(&idx[p], &idx[hi - 1]);
    uint32_t pv = idx[hi - 1];
    size_t store = lo;
    for (size_t i = lo; i < hi - 1; i++)
        if (before(s, idx[i], pv)) swap_u32(&idx[i], &idx[store++]);
    swap_u32(&idx[store], &idx[hi - 1]);
    return store;
}

static size_t median3(const uint32_t *idx, size_t a, size_t b, size_t c,
                      const float *s) {
    if (before(s, idx[a], idx[b])) {
        if (before(s, idx[b], idx[c])) return b;
        return before(s, idx[a], idx[c]) ? c : a;
    }
    if (before(s, idx[a], idx[c])) return a;
    return before(s, idx[b], idx[c]) ? c : b;
}

static void select_rank(uint32_t *idx, size_t lo, size_t hi, size_t target,
                        const float *s, int depth);

// Median of medians of groups of 5 in idx[lo, hi): gathers the group
// medians at the front and selects their median with guaranteed-linear
// recursion (depth 0). Returns the pivot position.
static size_t mom_pivot(uint32_t *idx, size_t lo, size_t hi, const float *s) {
    size_t g = 0;
    for (size_t b = lo; b < hi; b += 5) {
        size_t e = b + 5 < hi ? b + 5 : hi;
        insertion_sort(idx, b, e, s);
        swap_u32(&idx[lo + g], &idx[b + (e - b) / 2]);
        g++;
    }
    size_t mid = lo + g / 2;
    select_rank(idx, lo, lo + g, mid, s, 0);
    return mid;
}

// Rearrange idx[lo, hi) so that idx[target] holds the element of that rank
// and everything before it comes before it in the order. depth counts the
// median-of-3 levels left; at 0, median-of-medians takes over.
static void select_rank(uint32_t *idx, size_t lo, size_t hi, size_t target,
                        const float *s, int depth) {
    while (hi - lo > 16) {
        size_t p;
        if (depth > 0) {
            depth--;
            p = median3(idx, lo, lo + (hi - lo) / 2, hi - 1, s);
        } else {
            p = mom_pivot(idx, lo, hi, s);
        }
        size_t q = partition(idx, lo, hi, p, s);
        if (q == target) return;
        if (target < q) hi = q;
        else lo = q + 1;
    }
    insertion_sort(idx, lo, hi, s);
}

static int depth_limit(size_t n) {
    int d = 0;
    while (n > 1) {
        n >>= 1;
        d += 2;
    }
    return d;
}

// ---- kernels ----
static void select_smallest_f32_scalar(size_t n, size_t k, const float *score,
                                       uint8_t *mask, uint32_t *scratch) {
    assert(k <= n && n <= UINT32_MAX);
    assert(n == 0 || (score && mask && scratch));
    if (n == 0) return;
    memset(mask, 0, n);
    if (k == 0) return;
    for (size_t i = 0; i < n; i++) scratch[i] = (uint32_t)i;
    if (k < n) select_rank(scratch, 0, n, k - 1, score, depth_limit(n));
    for (size_t i = 0; i < k; i++) mask[scratch[i]] = 1;
}

static float kth_smallest_f32_scalar(size_t n, size_t k, const float *x,
                                     uint32_t *scratch) {
    assert(k >= 1 && k <= n && n <= UINT32_MAX && x && scratch);
    for (size_t i = 0; i < n; i++) scratch[i] = (uint32_t)i;
    select_rank(scratch, 0, n, k - 1, x, depth_limit(n));
    float v = x[scratch[k - 1]];
    if (v != v) {
        union { uint32_t u; float f; } q = {.u = 0x7fc00000u};
        return q.f; // canonical quiet NaN
    }
    return v == 0.0f ? 0.0f : v; // -0 -> +0
}

// Rank counting inside each group: O(m^2) per group, obviously right.
static void nm_mask_f32_scalar(size_t n, unsigned n_prune, unsigned m,
                               const float *score, uint8_t *mask) {
    assert(m >= 1 && n % m == 0 && n_prune <= m);
    assert(n == 0 || (score && mask));
    for (size_t g = 0; g < n; g += m) {
        const float *s = score + g;
        for (uint32_t i = 0; i < m; i++) {
            unsigned rank = 0;
            for (uint32_t j = 0; j < m; j++) rank += before(s, j, i);
            mask[g + i] = rank < n_prune;
        }
    }
}

void cpr_fill_select_scalar(struct cpr_kernels *k) {
    k->select_smallest_f32 = select_smallest_f32_scalar;
    k->kth_smallest_f32 = kth_smallest_f32_scalar;
    k->nm_mask_f32 = nm_mask_f32_scalar;
}
