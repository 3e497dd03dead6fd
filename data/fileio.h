// data/fileio.h: the file primitives the data/ readers and writers share:
// read-only mmaps, whole-file reads with a size cap, atomic writes
// (temporary file in the destination directory, fsync, rename), file
// identity (device + inode) and path helpers.
//
// Not a general I/O layer: no buffering policy, no async. Every function
// returns a status and fills err with the path and the failing call
// (strerror text), never prints.
#ifndef CPR_DATA_FILEIO_H
#define CPR_DATA_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

// A read-only private mapping of a whole file. size 0 files map to
// data == NULL (mmap rejects length 0). The mapping is never written.
struct cpr_mapped_file {
    const unsigned char *data;
    size_t size;
    uint64_t dev, ino; // identity, to refuse overwriting an input
};

// Errors: CPR_ERR_NOTFOUND (no such file), CPR_ERR_IO (open/fstat/mmap,
// not a regular file).
enum cpr_status cpr_file_map(struct cpr_mapped_file *f, const char *path,
                             struct cpr_err *err);
// Accepts a zeroed or already unmapped record.
void cpr_file_unmap(struct cpr_mapped_file *f);

// Read a whole regular file into a malloc'd buffer with a NUL appended
// (not counted in *len). Files above max_bytes are CPR_ERR_FORMAT (the
// caller names what the limit protects). Caller frees *buf.
enum cpr_status cpr_file_read_all(const char *path, size_t max_bytes,
                                  char **buf, size_t *len,
                                  struct cpr_err *err);

// 1 when path exists and is a regular file / a directory.
int cpr_path_is_file(const char *path);
int cpr_path_is_dir(const char *path);

// dev/ino of path; 0 on success, -1 when it cannot be stat'ed.
int cpr_file_identity(const char *path, uint64_t *dev, uint64_t *ino);

// out = dir + "/" + name. CPR_ERR_ARG when it does not fit in cap.
enum cpr_status cpr_path_join(char *out, size_t cap, const char *dir,
                              const char *name, struct cpr_err *err);

// ---- atomic writes ----

// A file being written under a temporary name ("<path>.tmp.XXXXXX" in the
// same directory, so the final rename never crosses file systems).
struct cpr_atomic_file {
    int fd;              // -1 when closed
    char path[1024];     // final name
    char tmp[1100];      // temporary name
    int reg;             // data/tmpfiles.h slot + 1 while it exists, or 0
};

// Create the temporary file. Errors: CPR_ERR_IO, CPR_ERR_ARG (path long).
enum cpr_status cpr_atomic_open(struct cpr_atomic_file *af, const char *path,
                                struct cpr_err *err);
// Write all of data (retries short writes). CPR_ERR_IO names the path.
enum cpr_status cpr_atomic_write(struct cpr_atomic_file *af, const void *data,
                                 size_t len, struct cpr_err *err);
// fsync, close, rename over path, fsync the directory. On failure the
// temporary file is removed. The temporary file is registered in
// data/tmpfiles.h from open to commit/abort (removed on SIGINT/SIGTERM by
// the CLI). Test hook: CPRUNE_TEST_COMMIT_DELAY_MS=N sleeps N ms before
// each commit.
enum cpr_status cpr_atomic_commit(struct cpr_atomic_file *af,
                                  struct cpr_err *err);
// Close and remove the temporary file (safe after commit or on a zeroed /
// failed record with fd == -1 or 0-initialized tmp).
void cpr_atomic_abort(struct cpr_atomic_file *af);

// Convenience: the whole content in one call.
enum cpr_status cpr_file_write_atomic(const char *path, const void *data,
                                      size_t len, struct cpr_err *err);

#endif
