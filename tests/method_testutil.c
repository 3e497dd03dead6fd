// tests/method_testutil.c: the hand-worked method tests' helpers
// (contracts in tests/method_testutil.h).
#include "tests/method_testutil.h"

#include <stdlib.h>
#include <string.h>

#include "methods/registry.h"

enum cpr_status mt_run(const char *method, const char *name, const char *opts,
                       size_t rows, size_t cols, const float *w,
                       const struct mt_stats *in, struct cpr_prune_target tg,
                       struct cpr_pool *pool, const struct cpr_kernels *k,
                       float *out, uint8_t *mask, struct cpr_err *err) {
    const struct cpr_method *m = cpr_method_find(method);
    if (!m) return cpr_err_set(err, CPR_ERR_NOTFOUND, "%s", method);
    void *s = NULL;
    enum cpr_status st = m->init(&s, err);
    if (st == CPR_OK) st = m->parse_opts(s, opts, err);
    float *hc = NULL;
    if (st == CPR_OK && in->h) {
        hc = malloc(cols * cols * sizeof *hc);
        if (!hc) st = cpr_err_set(err, CPR_ERR_NOMEM, "Hessian copy");
        else memcpy(hc, in->h, cols * cols * sizeof *hc);
    }
    memcpy(out, w, rows * cols * sizeof *out);
    struct cpr_matrix mat = {name, out, rows, cols, cols,
                             CPR_MATRIX_GROUP_UNKNOWN};
    struct cpr_linear_stats stats = {cols, 4, in->sr, hc, in->mean, in->var,
                                     NULL, NULL};
    if (st == CPR_OK)
        st = m->prune_matrix(s, &mat, &stats, &tg, mask, pool, k, err);
    free(hc);
    m->free(s);
    return st;
}

struct cpr_prune_target mt_unstr(double s) {
    struct cpr_prune_target t = {s, 0, 0};
    return t;
}

struct cpr_prune_target mt_nm(unsigned n, unsigned m) {
    struct cpr_prune_target t = {0.0, n, m};
    return t;
}

void mt_check_mask(struct cpr_test_ctx *t, const char *what,
                   const uint8_t *got, const uint8_t *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            CPR_CHECK(t, 0, "%s: mask[%zu] = %d, expected %d", what, i,
                      got[i], want[i]);
            return;
        }
}
