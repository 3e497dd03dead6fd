// tests/harness.c: check helpers shared by the test files.
#include "tests/harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cpr_test_fail(struct cpr_test_ctx *t, const char *file, int line,
                   const char *fmt, ...) {
    t->failures++;
    if (t->failures > 10) return;
    fprintf(stderr, "  %s:%d: %s: ", file, line, t->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (t->failures == 10) fprintf(stderr, "  (further failures not shown)\n");
}

void cpr_test_skip(struct cpr_test_ctx *t, const char *why) {
    t->skipped = 1;
    fprintf(stderr, "  %s: skipped: %s\n", t->name, why);
}

void cpr_test_check_status(struct cpr_test_ctx *t, const char *file, int line,
                           enum cpr_status got, enum cpr_status want,
                           const struct cpr_err *err, const char *needle) {
    if (got != want) {
        cpr_test_fail(t, file, line, "status %s (%d), expected %s (%d); msg: %s",
                      cpr_status_str(got), (int)got, cpr_status_str(want),
                      (int)want, err ? err->msg : "");
        return;
    }
    if (needle && err && !strstr(err->msg, needle))
        cpr_test_fail(t, file, line, "message \"%s\" lacks \"%s\"", err->msg,
                      needle);
}

const char *cpr_test_data_path(const char *rel, char *buf, size_t cap) {
    const char *root = getenv("CPRUNE_DATA");
    if (!root || !*root) root = "../shared";
    snprintf(buf, cap, "%s/%s", root, rel);
    return buf;
}

size_t cpr_test_tables(struct cpr_kernels *tables, enum cpr_isa *isas) {
    size_t n = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++) {
        if (cpr_isa_best((enum cpr_isa)lv) != (enum cpr_isa)lv) continue;
        isas[n] = cpr_kernels_build(&tables[n], (enum cpr_isa)lv);
        n++;
    }
    return n;
}

void cpr_test_fill_uniform(struct cpr_rng *r, float *x, size_t n, float lo,
                           float hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * cpr_rng_uniform_f32(r);
}

void cpr_test_fill_normal(struct cpr_rng *r, float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * cpr_rng_normal(r));
}

const size_t cpr_test_sizes[] = {0,  1,  2,  3,  7,  8,   15,  16,
                                 17, 31, 33, 63, 64, 65, 127, 1023};
const size_t cpr_test_n_sizes = sizeof cpr_test_sizes / sizeof cpr_test_sizes[0];

float *cpr_test_alloc_offset(size_t n, size_t misalign) {
    float *p = aligned_alloc(64, ((n + misalign) * sizeof(float) + 63) / 64 * 64 + 64);
    return p ? p + misalign : NULL;
}

void cpr_test_free_offset(float *p, size_t misalign) {
    if (p) free(p - misalign);
}
