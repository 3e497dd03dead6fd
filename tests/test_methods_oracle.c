// tests/test_methods_oracle.c: the C methods against the PyTorch oracle
// (tests/oracle/methods_oracle.py, an independent implementation of the
// official wanda / sparsegpt code), on a 64 x 256 random weight matrix, a
// tie-heavy quantized copy, and scaler_row / Hessian from 4 x 128 random
// activations with two dead input columns. Fixture:
// tests/fixtures/methods_oracle.bin (format in the oracle's docstring).
//
// Magnitude and Wanda masks (incl. the alpha-bisection variant) must match
// exactly: both sides compute the same f32 scores and the reference tie
// rules (<= threshold; stable sort; N:M inputs have no ties).
// SparseGPT: f32 here vs torch f32 (different Cholesky/inverse order), so
// weights are compared with a tolerance: mask flips <= 0.1% of entries and
// max |diff| on entries both keep <= 1e-4 * max|W_ref|. Measured on AVX-512
// (Zen 5): 0 flips, max |diff| <= 9.6e-7 with max |W| 4.4 (~2e-7
// relative), relative RMS ~1e-7 (run with -v to print).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/registry.h"
#include "tests/fixture_bin.h"
#include "tests/harness.h"

static void run(struct cpr_test_ctx *t, struct fixture *f, const char *method,
                const char *opts, const char *wname, double s, unsigned n,
                unsigned m, float *out, uint8_t *mask) {
    const struct rec *w = get(f, wname), *sr = get(f, "scaler_row"),
                     *h = get(f, "hessian");
    const struct cpr_method *me = cpr_method_find(method);
    size_t rows = w->rows, cols = w->cols;
    memcpy(out, w->data, rows * cols * sizeof(float));
    float *hc = malloc(cols * cols * sizeof *hc);
    memcpy(hc, h->data, cols * cols * sizeof *hc);
    struct cpr_matrix mat = {wname, out, rows, cols, cols, CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats st = {cols, 4, sr->data, hc, NULL, NULL, NULL, NULL};
    struct cpr_prune_target tg = {s, n, m};
    struct cpr_err err = {0};
    void *state = NULL;
    CPR_CHECK_STATUS(t, me->init(&state, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, me->parse_opts(state, opts, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, me->prune_matrix(state, &mat, &st, &tg, mask, NULL,
                                         NULL, &err),
                     CPR_OK, &err, NULL);
    me->free(state);
    free(hc);
}

static int open_fixture(struct cpr_test_ctx *t, struct fixture *f) {
    if (load(f, "tests/fixtures/methods_oracle.bin") != 0 || !get(f, "w") ||
        !get(f, "hessian") || !get(f, "scaler_row")) {
        CPR_CHECK(t, 0, "cannot load tests/fixtures/methods_oracle.bin (run "
                        "from the repository root)");
        unload(f);
        return -1;
    }
    return 0;
}

static void test_masks(struct cpr_test_ctx *t) {
    struct fixture f = {0};
    if (open_fixture(t, &f)) return;
    static const struct {
        const char *fix, *method, *opts, *w;
        double s;
        unsigned n, m;
    } cases[] = {
        {"mag_mat_wq_s50", "magnitude", "", "wq", 0.5, 0, 0},
        {"mag_mat_w_s30", "magnitude", "", "w", 0.3, 0, 0},
        {"mag_row_wq_s50", "magnitude", "group=row", "wq", 0.5, 0, 0},
        {"mag_nm24_w", "magnitude", "", "w", 0, 2, 4},
        {"wanda_w_s50", "wanda", "", "w", 0.5, 0, 0},
        {"wanda_wq_s60", "wanda", "", "wq", 0.6, 0, 0},
        {"wanda_nm24_w", "wanda", "", "w", 0, 2, 4},
        {"wanda_nm48_w", "wanda", "", "w", 0, 4, 8},
        {"wanda_var_w_s50", "wanda", "variant=1", "w", 0.5, 0, 0},
    };
    const struct rec *w = get(&f, "w");
    size_t numel = (size_t)w->rows * w->cols;
    float *out = malloc(numel * sizeof *out);
    uint8_t *mask = malloc(numel);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct rec *want = get(&f, cases[c].fix);
        CPR_CHECK(t, want && want->dtype == 1, "fixture %s", cases[c].fix);
        if (!want) continue;
        run(t, &f, cases[c].method, cases[c].opts, cases[c].w, cases[c].s,
            cases[c].n, cases[c].m, out, mask);
        size_t diff = 0, first = numel, pruned = 0;
        const uint8_t *wm = want->data;
        for (size_t i = 0; i < numel; i++) {
            pruned += mask[i];
            if (mask[i] != wm[i]) {
                diff++;
                if (first == numel) first = i;
            }
        }
        CPR_CHECK(t, diff == 0, "%s: %zu mask entries differ from the oracle "
                  "(first at row %zu col %zu)", cases[c].fix, diff,
                  first / w->cols, first % w->cols);
        if (t->verbose)
            printf("    %-16s pruned %zu/%zu (%.6f), mismatches %zu\n",
                   cases[c].fix, pruned, numel, (double)pruned / numel, diff);
    }
    free(out);
    free(mask);
    unload(&f);
}

static void test_sparsegpt(struct cpr_test_ctx *t) {
    struct fixture f = {0};
    if (open_fixture(t, &f)) return;
    static const struct {
        const char *fix, *opts;
        double s;
        unsigned n, m;
    } cases[] = {
        {"sgpt_w_s50", "", 0.5, 0, 0},
        {"sgpt_w_nm24", "", 0, 2, 4},
        {"sgpt_w_s50_b64", "blocksize=64,percdamp=0.05", 0.5, 0, 0},
    };
    const struct rec *w = get(&f, "w");
    size_t numel = (size_t)w->rows * w->cols;
    float *out = malloc(numel * sizeof *out);
    uint8_t *mask = malloc(numel);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct rec *want = get(&f, cases[c].fix);
        CPR_CHECK(t, want && want->dtype == 0, "fixture %s", cases[c].fix);
        if (!want) continue;
        run(t, &f, "sparsegpt", cases[c].opts, "w", cases[c].s, cases[c].n,
            cases[c].m, out, mask);
        const float *ref = want->data;
        size_t flips = 0, zeros = 0;
        double maxd = 0, maxw = 0, se = 0, sref = 0;
        for (size_t i = 0; i < numel; i++) {
            int z1 = out[i] == 0.0f, z2 = ref[i] == 0.0f;
            zeros += z1;
            maxw = fmax(maxw, fabs(ref[i]));
            if (z1 != z2) {
                flips++;
                continue;
            }
            double d = fabs((double)out[i] - ref[i]);
            maxd = fmax(maxd, d);
            se += d * d;
            sref += (double)ref[i] * ref[i];
        }
        CPR_CHECK(t, isfinite(maxd) && flips <= numel / 1000 &&
                         maxd <= 1e-4 * maxw,
                  "%s: %zu mask flips, max |diff| %g (max |w| %g)",
                  cases[c].fix, flips, maxd, maxw);
        if (t->verbose)
            printf("    %-16s zeros %zu/%zu, flips %zu, max|diff| %.3g "
                   "(max|w| %.3g), rel rms %.3g\n", cases[c].fix, zeros,
                   numel, flips, maxd, maxw, sqrt(se / (sref ? sref : 1)));
    }
    free(out);
    free(mask);
    unload(&f);
}

const struct cpr_test cpr_tests_methods_oracle[] = {
    {"masks_magnitude_wanda", test_masks, 0},
    {"sparsegpt_weights", test_sparsegpt, 0},
    {0},
};
