// core/arena.h: a bump allocator for scratch memory.
//
// One block is allocated up front (cpr_arena_init) and carved into aligned
// pointers; nothing is freed individually. cpr_arena_mark/cpr_arena_reset
// give stack-like reuse inside hot loops, so no malloc happens there.
// Not thread-safe: give each thread its own arena or carve before forking.
#ifndef CPR_CORE_ARENA_H
#define CPR_CORE_ARENA_H

#include <stddef.h>

#include "core/status.h"

struct cpr_arena {
    unsigned char *base; // owned block (64-byte aligned), NULL when empty
    size_t cap;          // bytes in the block
    size_t used;         // bytes handed out (including alignment padding)
    size_t peak;         // high-water mark of used
};

// Allocate a block of `bytes`. On failure returns CPR_ERR_NOMEM with the
// requested size in err; the arena is then empty but safe to free.
enum cpr_status cpr_arena_init(struct cpr_arena *a, size_t bytes,
                               struct cpr_err *err);

// Carve `bytes` aligned to `align` (a power of two, <= 4096; 0 means 64).
// Returns NULL when the block is exhausted (callers turn that into a status
// naming what they were allocating).
void *cpr_arena_alloc(struct cpr_arena *a, size_t bytes, size_t align);

// Save / restore the fill level; everything carved after the mark is
// released by the reset.
size_t cpr_arena_mark(const struct cpr_arena *a);
void cpr_arena_reset(struct cpr_arena *a, size_t mark);

// Release the block. Accepts a zeroed or failed-init arena.
void cpr_arena_free(struct cpr_arena *a);

#endif
