// tests/test_core_pool.c: the thread pool's static split (core/pool.h):
// the parts cover [0, n) in order without overlap, inner boundaries are
// multiples of align, and they are the nearest such multiples of i*n/nth
// (so a short last block does not leave one thread with a whole block
// more: n = 7696 rows, align 64, two threads -> 3840 + 3856).
#include <stddef.h>

#include "core/pool.h"
#include "tests/harness.h"

static size_t absdiff(size_t a, size_t b) { return a > b ? a - b : b - a; }

static void test_split(struct cpr_test_ctx *t) {
    static const size_t ns[] = {0, 1, 3, 10, 63, 64, 65, 100, 4096, 7669,
                                7696, 7760, 11008, 32000, 100003};
    static const size_t aligns[] = {1, 16, 64};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
        for (size_t ai = 0; ai < 3; ai++)
            for (size_t nth = 1; nth <= 7; nth++) {
                size_t n = ns[ni], al = aligns[ai], prev = 0;
                for (size_t i = 0; i < nth; i++) {
                    size_t b, e;
                    cpr_pool_split(n, i, nth, al, &b, &e);
                    CPR_CHECK(t, b == prev && b <= e && e <= n,
                              "n %zu align %zu nth %zu part %zu: [%zu, %zu) "
                              "after %zu", n, al, nth, i, b, e, prev);
                    if (i + 1 < nth) {
                        CPR_CHECK(t, e % al == 0 || e == n, "boundary %zu not a multiple of %zu", e, al);
                        // nearest multiple of align to (i+1)*n/nth
                        size_t x = (i + 1) * n / nth;
                        CPR_CHECK(t, e == n || absdiff(e, x) <= al / 2,
                                  "n %zu align %zu nth %zu: boundary %zu, ideal %zu",
                                  n, al, nth, e, x);
                    }
                    prev = e;
                }
                CPR_CHECK(t, prev == n, "n %zu nth %zu: parts end at %zu", n, nth, prev);
            }
    size_t b, e;
    cpr_pool_split(7696, 0, 2, 64, &b, &e);
    CPR_CHECK(t, b == 0 && e == 3840, "7696/2 part 0: [%zu, %zu)", b, e);
    cpr_pool_split(7696, 1, 2, 64, &b, &e);
    CPR_CHECK(t, b == 3840 && e == 7696, "7696/2 part 1: [%zu, %zu)", b, e);
}

const struct cpr_test cpr_tests_core_pool[] = {
    {"split", test_split, 0},
    {0},
};
