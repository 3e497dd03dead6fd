// core/arena.c: bump allocator (see arena.h for the contract).
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum cpr_status cpr_arena_init(struct cpr_arena *a, size_t bytes,
                               struct cpr_err *err) {
    memset(a, 0, sizeof *a);
    if (bytes == 0) return CPR_OK;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return cpr_err_set(err, CPR_ERR_NOMEM, "arena: size %zu overflows",
                           bytes);
    a->base = aligned_alloc(64, rounded);
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
