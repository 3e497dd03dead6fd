// core/arena.c: bump allocator (see arena.h for the contract).
// madvise(MADV_HUGEPAGE) is Linux/BSD, not POSIX: glibc declares it only
// with _DEFAULT_SOURCE.
#undef _POSIX_C_SOURCE
#define _DEFAULT_SOURCE
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

// Blocks of at least this many bytes start on a 2 MiB boundary, are a
// multiple of 2 MiB long and are advised as transparent huge pages (when
// the system offers them: THP "madvise" or "always"). A forward pass's
// arena (hundreds of MiB at a 512-token chunk) then takes one page fault
// per 2 MiB instead of one per 4 KiB on first touch (page faults are costly
// under virtualisation, and they land in whatever is timed first), and its
// rows stream with fewer TLB misses. Advice only: a system without THP, or
// a refused madvise, leaves ordinary pages and the same results.
#define ARENA_HUGE_MIN ((size_t)4 << 20)
#define ARENA_HUGE_ALIGN ((size_t)2 << 20)

enum cpr_status cpr_arena_init(struct cpr_arena *a, size_t bytes,
                               struct cpr_err *err) {
    memset(a, 0, sizeof *a);
    if (bytes == 0) return CPR_OK;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return cpr_err_set(err, CPR_ERR_NOMEM, "arena: size %zu overflows",
                           bytes);
    size_t align = 64;
    if (rounded >= ARENA_HUGE_MIN) {
        size_t up = (rounded + ARENA_HUGE_ALIGN - 1) & ~(ARENA_HUGE_ALIGN - 1);
        if (up > rounded) rounded = up;
        align = ARENA_HUGE_ALIGN;
    }
    a->base = aligned_alloc(align, rounded);
#if defined(MADV_HUGEPAGE)
    if (a->base && align == ARENA_HUGE_ALIGN)
        (void)madvise(a->base, rounded, MADV_HUGEPAGE);
#endif
    if (!a->base)
        return cpr_err_set(err, CPR_ERR_NOMEM,
                           "arena: cannot allocate %zu bytes of scratch", bytes);
    a->cap = rounded;
    return CPR_OK;
}

void *cpr_arena_alloc(struct cpr_arena *a, size_t bytes, size_t align) {
    if (align == 0) align = 64;
    uintptr_t p = (uintptr_t)a->base + a->used;
    uintptr_t aligned = (p + (align - 1)) & ~(uintptr_t)(align - 1);
    size_t pad = (size_t)(aligned - p);
    if (!a->base || pad > a->cap - a->used || bytes > a->cap - a->used - pad)
        return NULL;
    a->used += pad + bytes;
    if (a->used > a->peak) a->peak = a->used;
    return (void *)aligned;
}

size_t cpr_arena_mark(const struct cpr_arena *a) { return a->used; }

void cpr_arena_reset(struct cpr_arena *a, size_t mark) {
    if (mark <= a->used) a->used = mark;
}

void cpr_arena_free(struct cpr_arena *a) {
    free(a->base);
    memset(a, 0, sizeof *a);
}
