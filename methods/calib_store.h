// methods/calib_store.h: where the pipeline's calibration activation
// buffer lives (issue 12, `--calib-store ram|disk`).
//
// RAM: malloc'ed (anonymous memory). Disk: a scratch file in `dir`,
// created with mkstemp, unlinked at once (so nothing is left behind on
// any exit, SIGKILL included: the space is freed when the mapping and the
// descriptor go), sized with ftruncate and mapped MAP_SHARED read-write;
// the kernel pages it to the file under memory pressure, so it counts as
// page cache (file-backed), not anonymous memory. The values are the same
// bytes either way, so a run is bit-identical with either store.
#ifndef CPR_METHODS_CALIB_STORE_H
#define CPR_METHODS_CALIB_STORE_H

#include <stddef.h>

#include "core/status.h"

struct cpr_calib_store {
    void *data;   // bytes, or NULL
    size_t bytes;
    int fd;       // disk: the unlinked file's descriptor; -1 for RAM
    int mapped;   // 1: data is a mapping (munmap), 0: malloc'ed
};

// Allocate `bytes` (> 0): in RAM when dir is NULL, else in a scratch file
// under dir. Errors: CPR_ERR_NOMEM (RAM), CPR_ERR_IO (naming dir and the
// system's reason: missing, read-only, no space for the size), leaving *s
// empty.
enum cpr_status cpr_calib_store_alloc(struct cpr_calib_store *s, size_t bytes,
                                      const char *dir, struct cpr_err *err);

// Release (no-op on an empty or zero-initialized store).
void cpr_calib_store_free(struct cpr_calib_store *s);

#endif
