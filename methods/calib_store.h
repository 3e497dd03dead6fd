// methods/calib_store.h: where the pipeline's calibration activation
// buffer lives (issue 12, `--calib-store ram|disk`).
//
// RAM: malloc'ed (anonymous memory). Disk: mapped from a scratch store
// (core/scratch_io.h map; the CLI passes data/scratch_file.h's unlinked
// temporary file, so nothing is left behind on any exit, SIGKILL
// included); the kernel pages it to the file under memory pressure, so it
// counts as page cache (file-backed), not anonymous memory. The values
// are the same bytes either way, so a run is bit-identical with either
// store. This file does no file I/O itself (methods/ never does).
#ifndef CPR_METHODS_CALIB_STORE_H
#define CPR_METHODS_CALIB_STORE_H

#include <stddef.h>

#include "core/scratch_io.h"
#include "core/status.h"

struct cpr_calib_store {
    void *data;   // bytes, or NULL
    size_t bytes;
    const struct cpr_scratch_io *io; // disk: the store data is mapped
                                     // from; NULL: malloc'ed
};

// Allocate `bytes` (> 0): in RAM when io is NULL, else mapped from io.
// Errors: CPR_ERR_NOMEM (RAM), CPR_ERR_ARG (a store that cannot map),
// the store's map errors (CPR_ERR_IO naming its directory and the system's
// reason: no space for the size, ...), leaving *s empty.
enum cpr_status cpr_calib_store_alloc(struct cpr_calib_store *s, size_t bytes,
                                      const struct cpr_scratch_io *io,
                                      struct cpr_err *err);

// Release (no-op on an empty or zero-initialized store).
void cpr_calib_store_free(struct cpr_calib_store *s);

#endif
