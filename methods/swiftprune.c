// methods/swiftprune.c: SwiftPrune (Kang, Shi, Wen, He, Yang, Xue, Feng,
// Liu, "SwiftPrune: Hessian-Free Weight Pruning for Large Language
// Models", Findings of EMNLP 2025, arXiv 2501.16376; its v1 was titled
// "HWPQ: Hessian-free Weight Pruning-Quantization for LLM Compression and
// Acceleration"). The authors published no code.
//
// ---- sources ----
// The paper's full text could not be reached from this workplace: only
// its abstract (arXiv, ACL Anthology, OpenReview) and three third-party
// summaries. So this file cites no equation numbers of the paper; each
// step says which of these lines it rests on, and everything else is our
// own reading, marked CHOICE:
//   [A]  abstract: a "contribution-based weight metric" that needs no
//        second-order derivatives; "EWMA ... to bypass weight sorting";
//        "extended to" 2:4 / structured sparsity; pruning "within seconds".
//   [T]  sciencestack.ai TL;DR: "substituting the Hessian inverse with a
//        simple L-score", "linear-time per-row complexity", 50% and 2:4.
//   [R1] themoonlight.io review of v1: "L = 1/2 w^2 (1 - x^2/S)", x from
//        the inputs and S their aggregate (the review's wording is loose).
//   [R2] rohan-paul.com summary of v1: "L is based on the weight's value
//        and the sum of squared input values"; O(n).
//
// ---- score ([T], [R1], [R2]) ----
// OBS / SparseGPT remove w_q of a row at cost dL_q = w_q^2 / (2 [H^-1]_qq),
// H = X^T X. Model H by the damped rank-one matrix lambda I + x x^T with
// x_j^2 = a_j = the input energy of column j (scaler_row; its 1/n_samples
// factor cancels below). Sherman-Morrison gives
//   [H^-1]_qq = (1 - a_q / (S + lambda)) / lambda,   S = sum_j a_j,
// the "(1 - x^2/S)" of [R1]. Dropping the constant lambda / 2 (it changes
// no comparison inside a row):
//   c_j = a_j / (S + lambda),   L_rj = w_rj^2 / (1 - c_j)     (metric=obs)
// [R1] prints the factor as a product, 1/2 w^2 (1 - x^2/S). That ranks
// columns with more input energy as *less* important, the opposite of OBS
// and Wanda, so we read it as a transcription slip; metric=product keeps
// the literal text, L = w^2 (1 - c_j), for anyone who wants to try it.
//   CHOICE lambda = damp * S / n, damp = 0.01 (SparseGPT's percdamp times
//   the mean Hessian diagonal S / n). Its only role is 1 - c_j > 0.
//   Numerics: f_j = 1 / (1 - c_j) in double, rounded to f32 once per
//   column; L = (w * w) * f_j in f32 (two roundings, never fused), so the
//   scores are the same bits on every ISA.
// Under this reading c_j is about 1/n for an ordinary column, so L is
// |w|^2 within a few per cent except in the columns that carry a sizeable
// share of the activation energy (outlier features), which it protects.
// On tinystories-656k metric=obs gives a lower perplexity than
// metric=product (which is no better than per-row magnitude), and lands
// between magnitude and Wanda; figures and the commands that regenerate
// them are in README "Measurements behind method choices". The paper's
// own quality figures could not be checked.
//
// ---- threshold (unstructured, per row; [A], [T]; the rule is a CHOICE) --
// k = int(cols * s) (Wanda's count), p = k / cols. The paper replaces the
// per-row sort by an EWMA. The standard way to make an EWMA follow a
// quantile instead of a mean is to swap its squared-loss step (y - m) for
// the pinball-loss step (p - [y <= m]): exponentially weighted stochastic
// approximation (Chen, Lambert & Pinheiro, KDD 2000). We step it
// multiplicatively (a step in log tau), so it needs no scale estimate and
// copes with the heavy-tailed scores:
//   tau_0     = mean_j L_rj
//   tau_{t+1} = tau_t * (1 + g_t * (p - [L_r,j_t <= tau_t])),  t = 0..n-1
//   g_t       = min(0.5, max(1 - beta, warmup / (t + 1)))
//   prune every L_rj <= tau_n (scores tied with tau_n go together).
// g_t is a Robbins-Monro 1/t gain while warmup / (t + 1) > 1 - beta (a
// plain EWMA started from a poor tau_0 needs hundreds of steps to forget
// it), then the constant EWMA gain 1 - beta; the 0.5 cap keeps tau > 0.
//   CHOICE defaults beta = 0.999, warmup = 8: on 300 rows of 4096 and of
//   11008 scores N(0,1)^2 * lognormal(0, 1.5) per column, the achieved
//   sparsity is on average 0.15-0.25 % from p (worst row about 1.8 %) for
//   p from 0.1 to 0.9; rows of 128 columns land about 2 % off on average.
//   CHOICE the first-order factor 1 + g (p - [.]) rather than exp(g (p -
//   [.])): same accuracy in our trials, no exp, and each step is a plain
//   multiply (by 1.25 or 0.75 at g = 0.5, p = 0.5). Its log-drift of
//   order g^2 biases short rows slightly low (fewer pruned).
//   CHOICE visiting order j_t = t * stride mod n, stride ~ 0.618 n and
//   coprime to n: still one pass over every column, but blocks and trends
//   along the columns are mixed (in plain column order a row whose scores
//   grow with j ended up 10 % off; with the stride, 1.6 %).
// Cost per row: a score pass, a mean pass, the serial EWMA pass and a mask
// pass: O(cols), no sort, no allocation. The EWMA pass is one dependency
// chain (compare, select, multiply), so eight rows run interleaved; the
// visiting order and the up/down factors of each step are computed once
// per matrix. Both change nothing in the result.
//   CHOICE rows whose mean score is not a positive finite number (an
//   all-zero row, a NaN or Inf score) have no usable tau and take the
//   exact selection below.
//
// ---- exact=1 (CHOICE: the same count as Wanda, for fair comparisons) ----
// A row whose pruned count c differs from k is corrected to exactly k: if
// c > k the c - k largest pruned scores are kept again, if c < k the
// k - c smallest kept scores are pruned too, both in (score, index) order
// (ties: the lower column counts as smaller). Every pruned score is <
// every kept one, so the result is exactly the k smallest of the row in
// (score, index) order, what a sort would give. Up to 256 flips (the
// usual case: c is within a fraction of a per cent of k) use a heap in one
// pass, O(cols log d); more use the select kernel on a compacted copy of
// the side that gives up elements. Only the rows that need it pay.
//
// ---- N:M ([A]) ----
// Per row, in each group of m columns, the n smallest L (ties: lower
// index; the nm_mask kernel). No threshold is involved.
//
// Comparison group: each output row. Rows are split over the pool and each
// result depends on its own row only, so masks, weights and the report
// are bit-identical for any thread count. Needs CPR_NEED_COLSUMSQ.
// Not here: the FP8 quantization half of v1 (HWPQ), and any weight update.
#include "methods/swiftprune.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "methods/method_util.h"
#include "methods/rowsel.h"

struct swp_state {
    int metric;    // enum cpr_swiftprune_metric
    double beta;   // EWMA decay: gain floor 1 - beta
    double warmup; // Robbins-Monro warm-up gain warmup / (t + 1)
    double damp;   // lambda = damp * mean(scaler_row)
    int exact;     // correct every row to exactly int(cols * s)
};

static const struct cpr_method_opt swp_opts[] = {
    {"metric", CPR_OPT_ENUM, offsetof(struct swp_state, metric), "obs",
     "obs|product", 0, 0,
     "score w^2/(1-c_j) (OBS + Sherman-Morrison) or w^2*(1-c_j) (review)"},
    {"beta", CPR_OPT_DOUBLE, offsetof(struct swp_state, beta), "0.999", NULL,
     0, 1, "EWMA decay of the threshold; its steady gain is 1 - beta"},
    {"warmup", CPR_OPT_DOUBLE, offsetof(struct swp_state, warmup), "8", NULL,
     0, 1e9, "threshold gain warmup/(t+1) while it exceeds 1 - beta"},
    {"damp", CPR_OPT_DOUBLE, offsetof(struct swp_state, damp), "0.01", NULL,
     1e-12, 1e6, "lambda = damp * mean(scaler_row) in c_j = a_j/(S+lambda)"},
    {"exact", CPR_OPT_BOOL, offsetof(struct swp_state, exact), "0", NULL, 0,
     1, "1: correct every row to exactly int(cols*s) pruned"},
};
#define N_SWP_OPTS (sizeof swp_opts / sizeof swp_opts[0])

static enum cpr_status swp_init(void **state, struct cpr_err *err) {
    return cpr_method_state_new(swp_opts, N_SWP_OPTS,
                                sizeof(struct swp_state), "swiftprune", state,
                                err);
}

static enum cpr_status swp_parse(void *state, const char *list,
                                 struct cpr_err *err) {
    return cpr_method_opts_parse(swp_opts, N_SWP_OPTS, state, "swiftprune",
                                 list, err);
}

static void swp_free(void *state) { free(state); }

// ---- building blocks ----
enum cpr_status cpr_swiftprune_colfactor(size_t n, const float *scaler_row,
                                         double damp, int metric, float *f,
                                         struct cpr_err *err) {
    if (!(damp > 0.0) || !isfinite(damp))
        return cpr_err_set(err, CPR_ERR_ARG, "swiftprune: damp must be a "
                           "finite number > 0, found %g", damp);
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) {
        double a = scaler_row[j];
        if (!(a >= 0.0) || !isfinite(a))
            return cpr_err_set(err, CPR_ERR_NUMERIC, "swiftprune: "
                               "scaler_row[%zu] = %g, expected a finite "
                               "number >= 0 (bad calibration statistics?)",
                               j, a);
        sum += a;
    }
    if (!isfinite(sum))
        return cpr_err_set(err, CPR_ERR_NUMERIC, "swiftprune: the sum of "
                           "scaler_row over %zu columns overflows", n);
    if (sum == 0.0) { // no input energy at all: the score is w^2
        for (size_t j = 0; j < n; j++) f[j] = 1.0f;
        return CPR_OK;
    }
    double den = sum + damp * sum / (double)n;
    for (size_t j = 0; j < n; j++) {
        double c = (double)scaler_row[j] / den;
        double v = metric == CPR_SWP_METRIC_PRODUCT ? 1.0 - c : 1.0 / (1.0 - c);
        f[j] = (float)v;
    }
    return CPR_OK;
}

static size_t gcd_size(size_t a, size_t b) {
    while (b) {
        size_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

size_t cpr_swiftprune_stride(size_t n) {
    if (n <= 2) return 1;
    size_t s = (size_t)floor((double)n * 0.6180339887498949 + 0.5);
    if (s == 0) s = 1;
    while (gcd_size(s, n) != 1) s++; // terminates: gcd(n - 1, n) == 1
    return s;
}

// The gain schedule: step t multiplies tau by up[t] (score > tau) or dn[t]
// (score <= tau); up = 1 + g_t * (p - 0), dn = 1 + g_t * (p - 1), exactly
// the rounding of 1 + g_t * (p - [score <= tau]).
static void gain_schedule(size_t n, size_t k, double beta, double warmup,
                          double *up, double *dn) {
    double p = (double)k / (double)n, gmin = 1.0 - beta;
    for (size_t t = 0; t < n; t++) {
        double g = warmup / (double)(t + 1);
        if (g < gmin) g = gmin;
        if (g > 0.5) g = 0.5;
        up[t] = 1.0 + g * (p - 0.0);
        dn[t] = 1.0 + g * (p - 1.0);
    }
}

static void visit_order(size_t n, uint32_t *order) {
    size_t step = cpr_swiftprune_stride(n), j = 0;
    for (size_t t = 0; t < n; t++) {
        order[t] = (uint32_t)j;
        j += step;
        if (j >= n) j -= n;
    }
}

// tau_0 as documented, or NaN when it is not a positive finite number.
static double tau_start(double sum, size_t n) {
    double tau = sum / (double)n;
    return tau > 0.0 && isfinite(tau) ? tau : NAN;
}

double cpr_swiftprune_threshold(size_t n, const float *score, size_t k,
                                double beta, double warmup) {
    if (n == 0 || k == 0 || k >= n) return NAN;
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) sum += score[j];
    double tau = tau_start(sum, n);
    if (isnan(tau)) return NAN;
    double p = (double)k / (double)n, gmin = 1.0 - beta;
    size_t step = cpr_swiftprune_stride(n), j = 0;
    for (size_t t = 0; t < n; t++) {
        double g = warmup / (double)(t + 1);
        if (g < gmin) g = gmin;
        if (g > 0.5) g = 0.5;
        double below = (double)score[j] <= tau ? 1.0 : 0.0;
        tau *= 1.0 + g * (p - below);
        j += step;
        if (j >= n) j -= n;
    }
    return tau;
}

// The same threshold for eight rows at once, from the precomputed order
// and gain schedule: eight independent dependency chains keep the core
// busy (the one-row loop waits on compare -> select -> multiply each
// step). Results are bit-identical to cpr_swiftprune_threshold row by row.
static void threshold8(size_t n, const float *const *s, const uint32_t *order,
                       const double *up, const double *dn, double *tau) {
    const float *s0 = s[0], *s1 = s[1], *s2 = s[2], *s3 = s[3];
    const float *s4 = s[4], *s5 = s[5], *s6 = s[6], *s7 = s[7];
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
    for (size_t j = 0; j < n; j++) {
        a0 += s0[j];
        a1 += s1[j];
        a2 += s2[j];
        a3 += s3[j];
        a4 += s4[j];
        a5 += s5[j];
        a6 += s6[j];
        a7 += s7[j];
    }
    double t0 = tau_start(a0, n), t1 = tau_start(a1, n);
    double t2 = tau_start(a2, n), t3 = tau_start(a3, n);
    double t4 = tau_start(a4, n), t5 = tau_start(a5, n);
    double t6 = tau_start(a6, n), t7 = tau_start(a7, n);
    for (size_t t = 0; t < n; t++) {
        uint32_t j = order[t];
        double u = up[t], d = dn[t];
        t0 *= (double)s0[j] <= t0 ? d : u;
        t1 *= (double)s1[j] <= t1 ? d : u;
        t2 *= (double)s2[j] <= t2 ? d : u;
        t3 *= (double)s3[j] <= t3 ? d : u;
        t4 *= (double)s4[j] <= t4 ? d : u;
        t5 *= (double)s5[j] <= t5 ? d : u;
        t6 *= (double)s6[j] <= t6 ? d : u;
        t7 *= (double)s7[j] <= t7 ? d : u;
    }
    // A NaN start stays NaN.
    tau[0] = t0;
    tau[1] = t1;
    tau[2] = t2;
    tau[3] = t3;
    tau[4] = t4;
    tau[5] = t5;
    tau[6] = t6;
    tau[7] = t7;
}

// The largest float <= tau (tau finite): score <= it iff (double)score <=
// tau, so the mask pass compares floats.
static float float_at_or_below(double tau) {
    float f = (float)tau;
    if ((double)f > tau) f = nextafterf(f, -INFINITY);
    return f;
}

// ---- row passes ----
// Written as 16-wide blocks with restrict pointers so that -O2 vectorizes
// them (its cheap cost model takes fixed-count inner loops only); the
// arithmetic per element is the same as the one-element tail.

// out[j] = (w[j] * w[j]) * f[j] in f32.
static void score_row(size_t n, const float *restrict w,
                      const float *restrict f, float *restrict out) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (size_t i = 0; i < 16; i++) {
            float ww = w[j + i] * w[j + i];
            out[j + i] = ww * f[j + i];
        }
    for (; j < n; j++) {
        float ww = w[j] * w[j];
        out[j] = ww * f[j];
    }
}

// mk[j] = score[j] <= tf; returns the count.
static size_t mask_le(size_t n, const float *restrict score, float tf,
                      uint8_t *restrict mk) {
    size_t j = 0, cnt = 0;
    for (; j + 16 <= n; j += 16) {
        unsigned c = 0;
        for (size_t i = 0; i < 16; i++) {
            uint8_t p = score[j + i] <= tf;
            mk[j + i] = p;
            c += p;
        }
        cnt += c;
    }
    for (; j < n; j++) {
        uint8_t p = score[j] <= tf;
        mk[j] = p;
        cnt += p;
    }
    return cnt;
}

// w[j] = +0 where mk[j] == 1, without a branch (the mask is close to a
// coin flip per weight): the bits of w[j] are ANDed with 0 or ~0. Returns
// the number of marked entries.
static size_t zero_marked(size_t n, const uint8_t *restrict mk,
                          float *restrict w) {
    size_t j = 0, cnt = 0;
    for (; j + 16 <= n; j += 16) {
        unsigned c = 0;
        for (size_t i = 0; i < 16; i++) {
            uint32_t b;
            memcpy(&b, &w[j + i], sizeof b);
            b &= (uint32_t)mk[j + i] - 1u;
            memcpy(&w[j + i], &b, sizeof b);
            c += mk[j + i];
        }
        cnt += c;
    }
    for (; j < n; j++) {
        uint32_t b;
        memcpy(&b, &w[j], sizeof b);
        b &= (uint32_t)mk[j] - 1u;
        memcpy(&w[j], &b, sizeof b);
        cnt += mk[j];
    }
    return cnt;
}

// ---- per-row pruning ----
// Rows per EWMA block, and the largest correction done with a heap.
enum { SWP_LANES = 8, SWP_HEAP_MAX = 256 };

struct swp_ctx {
    const struct swp_state *s;
    const struct cpr_matrix *m;
    const float *f; // (cols) column factors
    const struct cpr_prune_target *t;
    size_t kcount;         // int(cols * s), unstructured only
    const uint32_t *order; // (cols) EWMA visiting order (unstructured)
    const double *up, *dn; // (cols) gain schedule (unstructured)
    uint8_t *mask;         // (rows, cols) or NULL
    const struct cpr_kernels *k;
    unsigned char *scratch; // per thread, see swp_worker
    size_t per_thread;
    size_t *pruned;    // (rows) pruned count per row
    uint8_t *exact_of; // (rows) 1 when the row's mask came from selection
};

struct swp_scratch {
    float *score[SWP_LANES]; // (cols) each
    float *cscore;           // (cols) compacted scores
    uint32_t *cidx, *sel;    // (cols) compacted indices, select scratch
    uint8_t *own, *cmask;    // (cols) mask when none is given, compacted
};

// ---- exact=1 correction ----
// Is (sa, ia) further out than (sb, ib) on this side? Pruned side (top =
// 1): larger in (score, index) order, i.e. first to be un-pruned. Kept
// side (top = 0): smaller, i.e. first to be pruned.
static int further(int top, float sa, uint32_t ia, float sb, uint32_t ib) {
    if (top) return sa > sb || (sa == sb && ia > ib);
    return sa < sb || (sa == sb && ia < ib);
}

// Heap of the d furthest elements seen so far, the nearest at the root.
static void sift_down(int top, float *hs, uint32_t *hi, size_t d, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d && further(top, hs[m], hi[m], hs[l], hi[l])) m = l;
        if (r < d && further(top, hs[m], hi[m], hs[r], hi[r])) m = r;
        if (m == i) return;
        float ts = hs[i];
        uint32_t ti = hi[i];
        hs[i] = hs[m];
        hi[i] = hi[m];
        hs[m] = ts;
        hi[m] = ti;
        i = m;
    }
}

// Flip the d furthest elements of the side mk == top (d <= its size) with
// a heap: one pass, O(n log d), and the root test rarely fires.
static void flip_furthest(int top, size_t n, const float *score, uint8_t *mk,
                          size_t d, float *hs, uint32_t *hi) {
    size_t q = 0, j = 0;
    for (; j < n && q < d; j++)
        if (mk[j] == top) {
            hs[q] = score[j];
            hi[q++] = (uint32_t)j;
        }
    for (size_t i = d / 2; i-- > 0;) sift_down(top, hs, hi, d, i);
    // The side test alone is a coin flip per column, so it is folded with
    // the (rarely true) comparison into one branch; j > root index holds
    // for every j still to come, so a tie with the root is further on the
    // pruned side and nearer on the kept side.
    float root = hs[0];
    for (; j < n; j++) {
        float sj = score[j];
        int in = mk[j] == top;
        int out = top ? sj >= root : sj < root;
        if (in & out) {
            hs[0] = sj;
            hi[0] = (uint32_t)j;
            sift_down(top, hs, hi, d, 0);
            root = hs[0];
        }
    }
    for (size_t i = 0; i < d; i++) mk[hi[i]] = (uint8_t)!top;
}

// Correct mk (n entries, c marked) to exactly kc marked, the kc smallest
// in (score, index) order (see the header: exact=1). A few flips (the
// usual case) go through the heap; many go through the select kernel on a
// compacted copy of the side, O(n) expected either way.
static void correct_row(const struct cpr_kernels *k, size_t n,
                        const float *score, uint8_t *mk, size_t c, size_t kc,
                        const struct swp_scratch *sc) {
    uint8_t side = c > kc; // the side that gives up elements
    size_t d = side ? c - kc : kc - c;
    if (d <= SWP_HEAP_MAX) {
        flip_furthest(side, n, score, mk, d, sc->cscore, sc->cidx);
        return;
    }
    size_t q = 0;
    for (size_t j = 0; j < n; j++)
        if (mk[j] == side) {
            sc->cscore[q] = score[j];
            sc->cidx[q++] = (uint32_t)j;
        }
    if (side) {
        k->select_smallest_f32(q, kc, sc->cscore, sc->cmask, sc->sel);
        for (size_t i = 0; i < q; i++) mk[sc->cidx[i]] = sc->cmask[i];
    } else {
        k->select_smallest_f32(q, kc - c, sc->cscore, sc->cmask, sc->sel);
        for (size_t i = 0; i < q; i++)
            if (sc->cmask[i]) mk[sc->cidx[i]] = 1;
    }
}

// Mask, zero and count row r from its scores and threshold tau.
static void finish_row(const struct swp_ctx *c, size_t r, const float *score,
                       double tau, const struct swp_scratch *sc) {
    const struct cpr_matrix *m = c->m;
    size_t cols = m->cols, kc = c->kcount;
    float *w = m->w + r * m->ld;
    uint8_t *mk = c->mask ? c->mask + r * cols : sc->own;
    uint8_t ex = 0;
    if (c->t->nm_m) {
        c->k->nm_mask_f32(cols, c->t->nm_n, c->t->nm_m, score, mk);
    } else if (kc == 0 || kc == cols) {
        memset(mk, kc ? 1 : 0, cols);
    } else if (isnan(tau)) { // no usable threshold: select exactly
        c->k->select_smallest_f32(cols, kc, score, mk, sc->sel);
        ex = 1;
    } else {
        size_t cnt = mask_le(cols, score, float_at_or_below(tau), mk);
        if (c->s->exact && cnt != kc) {
            correct_row(c->k, cols, score, mk, cnt, kc, sc);
            ex = 1;
        }
    }
    c->pruned[r] = zero_marked(cols, mk, w);
    c->exact_of[r] = ex;
}

static void swp_worker(void *vctx, size_t ith, size_t nth) {
    struct swp_ctx *c = vctx;
    const struct cpr_matrix *m = c->m;
    size_t cols = m->cols, kc = c->kcount, r0, r1;
    cpr_pool_split(m->rows, ith, nth, 1, &r0, &r1);
    unsigned char *base = c->scratch + ith * c->per_thread;
    struct swp_scratch sc;
    float *fl = (float *)(void *)base;
    for (int i = 0; i < SWP_LANES; i++) sc.score[i] = fl + (size_t)i * cols;
    sc.cscore = fl + SWP_LANES * cols;
    sc.cidx = (uint32_t *)(void *)(sc.cscore + cols);
    sc.sel = sc.cidx + cols;
    sc.own = (uint8_t *)(sc.sel + cols);
    sc.cmask = sc.own + cols;
    int use_tau = !c->t->nm_m && kc > 0 && kc < cols;
    for (size_t r = r0; r < r1;) {
        size_t nr = r1 - r >= SWP_LANES ? SWP_LANES : 1;
        for (size_t i = 0; i < nr; i++)
            score_row(cols, m->w + (r + i) * m->ld, c->f, sc.score[i]);
        double tau[SWP_LANES];
        for (size_t i = 0; i < SWP_LANES; i++) tau[i] = NAN;
        if (use_tau && nr == SWP_LANES)
            threshold8(cols, (const float *const *)sc.score, c->order, c->up,
                       c->dn, tau);
        else if (use_tau)
            tau[0] = cpr_swiftprune_threshold(cols, sc.score[0], kc,
                                              c->s->beta, c->s->warmup);
        for (size_t i = 0; i < nr; i++)
            finish_row(c, r + i, sc.score[i], tau[i], &sc);
        r += nr;
    }
}

static void fill_report(struct cpr_swiftprune_report *rep, size_t rows,
                        size_t cols, size_t per_row, double target,
                        const size_t *pruned, const uint8_t *exact_of) {
    struct cpr_swiftprune_report o = {0};
    o.rows = rows;
    o.target = target;
    double sum = 0.0, sum_abs = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double dev = ((double)pruned[r] - (double)per_row) / (double)cols;
        sum += dev;
        sum_abs += fabs(dev);
        if (fabs(dev) > o.max_abs_dev) o.max_abs_dev = fabs(dev);
        o.n_pruned += pruned[r];
        o.rows_exact += exact_of[r];
    }
    if (rows) {
        o.mean_dev = sum / (double)rows;
        o.mean_abs_dev = sum_abs / (double)rows;
    }
    *rep = o;
}

enum cpr_status cpr_swiftprune_prune(const void *state,
                                     const struct cpr_matrix *m,
                                     const struct cpr_linear_stats *stats,
                                     const struct cpr_prune_target *t,
                                     uint8_t *mask, struct cpr_pool *pool,
                                     const struct cpr_kernels *k,
                                     struct cpr_swiftprune_report *rep,
                                     struct cpr_err *err) {
    const struct swp_state *s = state;
    if (!k) k = cpr_kernels_get();
    if (!s) return cpr_err_set(err, CPR_ERR_ARG, "swiftprune: no state");
    int dense;
    CPR_TRY(cpr_prune_open("swiftprune", m, stats, CPR_NEED_COLSUMSQ, t, mask,
                           &dense, err));
    const char *name = cpr_matrix_label(m);
    size_t rows = m->rows, cols = m->cols;
    if (dense) {
        if (rep) *rep = (struct cpr_swiftprune_report){.rows = rows};
        return CPR_OK;
    }
    size_t nth = cpr_pool_size(pool);
    // Per thread: SWP_LANES + 1 float rows, 2 uint32 rows, 2 byte rows,
    // rounded to 64 bytes so threads do not share lines. Per matrix: the
    // column factors, the visiting order and the gain schedule.
    size_t per = (cols * (4 * SWP_LANES + 14) + 63) / 64 * 64;
    size_t nc = cols ? cols : 1;
    float *f = malloc(nc * sizeof *f);
    uint32_t *order = malloc(nc * sizeof *order);
    double *gain = malloc(2 * nc * sizeof *gain);
    size_t *pruned = malloc((rows ? rows : 1) * sizeof *pruned);
    uint8_t *exact_of = malloc(rows ? rows : 1);
    unsigned char *scratch = malloc(per * nth + 64);
    enum cpr_status st = CPR_OK;
    if (!f || !order || !gain || !pruned || !exact_of || !scratch) {
        st = cpr_err_set(err, CPR_ERR_NOMEM, "swiftprune: %s: %zu bytes of "
                         "scratch", name, per * nth + nc * 24 + rows * 9);
        goto fail;
    }
    st = cpr_swiftprune_colfactor(cols, stats->scaler_row, s->damp,
                                  s->metric, f, err);
    if (st != CPR_OK) goto fail;
    size_t kc = t->nm_m ? 0 : cpr_count_of(cols, t->sparsity);
    if (!t->nm_m && kc > 0 && kc < cols) {
        visit_order(cols, order);
        gain_schedule(cols, kc, s->beta, s->warmup, gain, gain + cols);
    }
    struct swp_ctx c = {s,    m,       f,     t,       kc,     order,
                        gain, gain + cols,    mask,    k,      scratch,
                        per,  pruned,  exact_of};
    cpr_pool_run(pool, swp_worker, &c);
    if (rep) {
        size_t per_row = t->nm_m ? cols / t->nm_m * t->nm_n : kc;
        double target = t->nm_m ? (double)t->nm_n / (double)t->nm_m
                                : cols ? (double)kc / (double)cols : 0.0;
        fill_report(rep, rows, cols, per_row, target, pruned, exact_of);
    }
fail:
    free(f);
    free(order);
    free(gain);
    free(pruned);
    free(exact_of);
    free(scratch);
    return st;
}

static enum cpr_status swp_prune(const void *state, const struct cpr_matrix *m,
                                 struct cpr_linear_stats *stats,
                                 const struct cpr_prune_target *t,
                                 uint8_t *mask, struct cpr_pool *pool,
                                 const struct cpr_kernels *k,
                                 struct cpr_err *err) {
    return cpr_swiftprune_prune(state, m, stats, t, mask, pool, k, NULL, err);
}

const struct cpr_method cpr_method_swiftprune = {
    .abi_version = CPR_METHOD_ABI_VERSION,
    .name = "swiftprune",
    .summary = "Hessian-free w^2/(1-c_j) score, per-row EWMA threshold "
               "(no sort), optional exact count; N:M",
    .needs = CPR_NEED_COLSUMSQ,
    .opts = swp_opts,
    .n_opts = N_SWP_OPTS,
    .init = swp_init,
    .parse_opts = swp_parse,
    .prune_matrix = swp_prune,
    .free = swp_free,
};
