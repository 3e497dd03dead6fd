// core/scratch_io.h: a byte store that spills to disk, as an interface, so
// that methods/ (which never touch files) can keep big accumulators out of
// RAM and data/ (which does the I/O) provides the storage
// (data/scratch_file.h: an unlinked temporary file).
//
// read/write move n bytes at byte offset off; a range never written reads
// as zeros. Both return CPR_OK or an error naming the store and offset.
//
// map/unmap (optional, NULL when the store has no such thing) give the
// store's bytes [0, n) as plain memory: the space is reserved up front (a
// full disk fails in map, not later as SIGBUS) and mapped shared
// read-write, so the kernel pages it to the store's file under memory
// pressure (file-backed pages, not anonymous memory). unmap takes the
// pointer and size map gave.
#ifndef CPR_CORE_SCRATCH_IO_H
#define CPR_CORE_SCRATCH_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct cpr_scratch_io {
    void *user;
    enum cpr_status (*read)(void *user, uint64_t off, void *buf, size_t n,
                            struct cpr_err *err);
    enum cpr_status (*write)(void *user, uint64_t off, const void *buf,
                             size_t n, struct cpr_err *err);
    enum cpr_status (*map)(void *user, size_t n, void **p,
                           struct cpr_err *err);
    void (*unmap)(void *user, void *p, size_t n);
};

#endif
