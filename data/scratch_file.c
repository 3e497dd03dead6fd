// data/scratch_file.c: unlinked temporary-file scratch (scratch_file.h).
#include "data/scratch_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static enum cpr_status sf_read(void *user, uint64_t off, void *buf, size_t n,
                               struct cpr_err *err) {
    struct cpr_scratch_file *f = user;
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        if (off + done >= f->size) { // never written: zeros
            memset(p + done, 0, n - done);
            break;
        }
        ssize_t r = pread(f->fd, p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return cpr_err_set(err, CPR_ERR_IO, "scratch file in %s: read of "
                               "%zu bytes at %llu: %s", f->dir, n,
                               (unsigned long long)off, strerror(errno));
        if (r == 0) { // a hole past the end of what was flushed
            memset(p + done, 0, n - done);
            break;
        }
        done += (size_t)r;
    }
    return CPR_OK;
}

static enum cpr_status sf_write(void *user, uint64_t off, const void *buf,
                                size_t n, struct cpr_err *err) {
    struct cpr_scratch_file *f = user;
    const unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(f->fd, p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return cpr_err_set(err, CPR_ERR_IO, "scratch file in %s: write of "
                               "%zu bytes at %llu: %s (disk full?)", f->dir,
                               n, (unsigned long long)off,
                               r < 0 ? strerror(errno) : "no progress");
        done += (size_t)r;
    }
    if (off + n > f->size) f->size = off + n;
    return CPR_OK;
}

static enum cpr_status sf_map(void *user, size_t n, void **p,
                              struct cpr_err *err) {
    struct cpr_scratch_file *f = user;
    const size_t len = n ? n : 1;
    *p = NULL;
    const int rc = posix_fallocate(f->fd, 0, (off_t)len); // space up front:
    if (rc) // a full disk fails here, not as SIGBUS in the middle
        return cpr_err_set(err, CPR_ERR_IO, "scratch file in %s: cannot "
                           "reserve %zu bytes: %s", f->dir, n, strerror(rc));
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED)
        return cpr_err_set(err, CPR_ERR_IO, "scratch file in %s: cannot map "
                           "%zu bytes: %s", f->dir, n, strerror(errno));
    if (len > f->size) f->size = len; // read() sees what the mapping holds
    *p = m;
    return CPR_OK;
}

static void sf_unmap(void *user, void *p, size_t n) {
    (void)user;
    if (p) munmap(p, n ? n : 1);
}

enum cpr_status cpr_scratch_file_open(struct cpr_scratch_file *f,
                                      const char *dir, struct cpr_err *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char path[1100];
    if (strlen(dir) >= sizeof f->dir)
        return cpr_err_set(err, CPR_ERR_ARG, "scratch file: directory name "
                           "too long (%zu bytes)", strlen(dir));
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/cprune-scratch.XXXXXX", dir);
    f->fd = mkstemp(path);
    if (f->fd < 0)
        return cpr_err_set(err, CPR_ERR_IO, "scratch file: cannot create one "
                           "in %s: %s", dir, strerror(errno));
    unlink(path); // gone from the directory; the space lives until close
    f->io = (struct cpr_scratch_io){f, sf_read, sf_write, sf_map, sf_unmap};
    return CPR_OK;
}

void cpr_scratch_file_close(struct cpr_scratch_file *f) {
    if (f && f->fd >= 0) close(f->fd);
    if (f) f->fd = -1;
}
