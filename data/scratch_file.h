// data/scratch_file.h: a core/scratch_io.h store in a temporary file,
// created in a directory (mkstemp) and unlinked at once, so nothing is left
// on disk whatever happens to the process; the pages it holds are the page
// cache's (file-backed), not the process's anonymous memory. It reads and
// writes by offset, and maps (io.map: posix_fallocate, then mmap
// MAP_SHARED) for a caller that wants the bytes as memory.
#ifndef CPR_DATA_SCRATCH_FILE_H
#define CPR_DATA_SCRATCH_FILE_H

#include <stdint.h>

#include "core/scratch_io.h"

struct cpr_scratch_file {
    struct cpr_scratch_io io; // pass &io to the user of the store
    int fd;                   // -1 when closed
    uint64_t size;            // bytes written so far (the high mark)
    char dir[1024];           // for messages
};

// Create the store in dir ("" or NULL: $TMPDIR, else /tmp).
// Errors: CPR_ERR_IO (naming the directory and errno), CPR_ERR_ARG.
enum cpr_status cpr_scratch_file_open(struct cpr_scratch_file *f,
                                      const char *dir, struct cpr_err *err);
void cpr_scratch_file_close(struct cpr_scratch_file *f);

#endif
