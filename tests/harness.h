// tests/harness.h: the test runner's registry and check helpers.
//
// Each tests/test_<stem>.c defines
//   const struct cpr_test cpr_tests_<stem>[] = {{"name", fn, 0}, ..., {0}};
// and the Makefile generates the suite list from the file names, so adding
// a test file needs no shared edit. `slow` tests run only with --slow.
#ifndef CPR_TESTS_HARNESS_H
#define CPR_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"
#include "simd/kernels.h"

struct cpr_test_ctx {
    const char *name; // test being run
    int failures;     // checks failed so far in this test
    int skipped;      // set by cpr_test_skip
    int verbose;
};

struct cpr_test {
    const char *name;
    void (*fn)(struct cpr_test_ctx *t);
    int slow;
};

// Record a failed check (prints file:line and the message; at most 10
// messages per test are printed).
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void cpr_test_fail(struct cpr_test_ctx *t, const char *file, int line,
                   const char *fmt, ...);

// Mark the test skipped (e.g. data not present) with a reason.
void cpr_test_skip(struct cpr_test_ctx *t, const char *why);

#define CPR_CHECK(t, cond, ...)                                                \
    do {                                                                       \
        if (!(cond)) cpr_test_fail((t), __FILE__, __LINE__, __VA_ARGS__);      \
    } while (0)

// Check a status code and, when `needle` is non-NULL, that the error
// message contains it.
#define CPR_CHECK_STATUS(t, got, want, err, needle)                            \
    cpr_test_check_status((t), __FILE__, __LINE__, (got), (want), (err),      \
                          (needle))
void cpr_test_check_status(struct cpr_test_ctx *t, const char *file, int line,
                           enum cpr_status got, enum cpr_status want,
                           const struct cpr_err *err, const char *needle);

// The shared data folder: $CPRUNE_DATA, else ../shared. Returns a path
// joined with `rel` in a static buffer per call site (copy it if kept).
const char *cpr_test_data_path(const char *rel, char *buf, size_t cap);

// Every kernel table this machine can run, scalar first: fills tables[] and
// isas[] (capacity CPR_ISA_COUNT) and returns how many. Levels the CPU
// lacks are left out.
size_t cpr_test_tables(struct cpr_kernels *tables, enum cpr_isa *isas);

// Deterministic fills: uniform in [lo, hi) and standard normal.
void cpr_test_fill_uniform(struct cpr_rng *r, float *x, size_t n, float lo,
                           float hi);
void cpr_test_fill_normal(struct cpr_rng *r, float *x, size_t n, float scale);

// The standard size list {0,1,2,3,7,8,15,16,17,31,33,63,64,65,127,1023}
// (callers add their own "large" size).
extern const size_t cpr_test_sizes[];
extern const size_t cpr_test_n_sizes;

// malloc'd buffer of n floats starting `misalign` floats past a 64-byte
// boundary (0..15), so kernels see unaligned pointers. Free with
// cpr_test_free_offset(ptr, misalign).
float *cpr_test_alloc_offset(size_t n, size_t misalign);
void cpr_test_free_offset(float *p, size_t misalign);

#endif
