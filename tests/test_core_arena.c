// tests/test_core_arena.c: the bump allocator (core/arena.h): carving,
// alignment, exhaustion, mark/reset, and the block of a large arena
// starting on a 2 MiB boundary with a length that is a multiple of 2 MiB
// (so the huge-page advice covers all of it).
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "tests/harness.h"

static void test_carve(struct cpr_test_ctx *t) {
    struct cpr_err e = {0};
    struct cpr_arena a;
    CPR_CHECK_STATUS(t, cpr_arena_init(&a, 1000, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, a.base && a.cap >= 1000 && (uintptr_t)a.base % 64 == 0,
              "cap %zu", a.cap);
    unsigned char *p = cpr_arena_alloc(&a, 10, 0);
    unsigned char *q = cpr_arena_alloc(&a, 100, 256);
    CPR_CHECK(t, p == a.base && q && (uintptr_t)q % 256 == 0 && q >= p + 10,
              "p %p q %p", (void *)p, (void *)q);
    size_t mark = cpr_arena_mark(&a);
    CPR_CHECK(t, cpr_arena_alloc(&a, a.cap, 0) == NULL, "oversized carve");
    unsigned char *r = cpr_arena_alloc(&a, 8, 0);
    cpr_arena_reset(&a, mark);
    CPR_CHECK(t, r && cpr_arena_alloc(&a, 8, 0) == r, "reset reuses");
    cpr_arena_free(&a);
    CPR_CHECK(t, a.base == NULL && a.cap == 0, "freed");
    cpr_arena_free(&a); // a freed arena frees again
}

static void test_large_block(struct cpr_test_ctx *t) {
    struct cpr_err e = {0};
    struct cpr_arena a;
    const size_t mib2 = (size_t)2 << 20, want = (size_t)9 << 20 | 123;
    CPR_CHECK_STATUS(t, cpr_arena_init(&a, want, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, (uintptr_t)a.base % mib2 == 0, "base %p", (void *)a.base);
    CPR_CHECK(t, a.cap >= want && a.cap % mib2 == 0 && a.cap < want + mib2,
              "cap %zu for %zu", a.cap, want);
    // the whole block is usable (written end to end)
    unsigned char *p = cpr_arena_alloc(&a, a.cap, 0);
    CPR_CHECK(t, p == a.base, "whole block");
    if (p) {
        memset(p, 0x5a, a.cap);
        CPR_CHECK(t, p[a.cap - 1] == 0x5a, "last byte");
    }
    cpr_arena_free(&a);
    // below the threshold: no rounding to 2 MiB
    CPR_CHECK_STATUS(t, cpr_arena_init(&a, (size_t)1 << 20, &e), CPR_OK, &e, NULL);
    CPR_CHECK(t, a.cap == (size_t)1 << 20, "small cap %zu", a.cap);
    cpr_arena_free(&a);
}

const struct cpr_test cpr_tests_core_arena[] = {
    {"carve", test_carve, 0},
    {"large_block", test_large_block, 0},
    {0},
};
