// methods/calib_store.c: the calibration activation buffer in RAM or in
// an unlinked scratch file (contract in calib_store.h).
#include "methods/calib_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum cpr_status cpr_calib_store_alloc(struct cpr_calib_store *s, size_t bytes,
                                      const char *dir, struct cpr_err *err) {
    s->data = NULL;
    s->bytes = 0;
    s->fd = -1;
    s->mapped = 0;
    if (!dir) {
        s->data = malloc(bytes ? bytes : 1);
        if (!s->data)
            return cpr_err_set(err, CPR_ERR_NOMEM, "calibration "
                               "activations: %zu bytes in RAM (--calib-store "
                               "disk puts them in a scratch file)", bytes);
        s->bytes = bytes;
        return CPR_OK;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/cprune-calib.XXXXXX", dir) >=
        (int)sizeof path)
        return cpr_err_set(err, CPR_ERR_ARG, "--tmp-dir: path too long "
                           "(%zu bytes)", strlen(dir));
    const int fd = mkstemp(path);
    if (fd < 0)
        return cpr_err_set(err, CPR_ERR_IO, "--calib-store disk: cannot "
                           "create a scratch file in %s: %s", dir,
                           strerror(errno));
    unlink(path); // freed by the kernel once fd and the mapping are gone
    const int rc = posix_fallocate(fd, 0, (off_t)bytes); // space up front:
    if (rc) { // a full disk fails here, not as SIGBUS in the middle
        close(fd);
        return cpr_err_set(err, CPR_ERR_IO, "--calib-store disk: cannot "
                           "reserve %zu bytes in %s: %s", bytes, dir,
                           strerror(rc));
    }
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        const int e = errno;
        close(fd);
        return cpr_err_set(err, CPR_ERR_IO, "--calib-store disk: cannot map "
                           "%zu bytes of the scratch file in %s: %s", bytes,
                           dir, strerror(e));
    }
    s->data = p;
    s->bytes = bytes;
    s->fd = fd;
    s->mapped = 1;
    return CPR_OK;
}

void cpr_calib_store_free(struct cpr_calib_store *s) {
    if (s->mapped) { // a zeroed store is an empty RAM one (fd unused)
        munmap(s->data, s->bytes ? s->bytes : 1);
        close(s->fd);
    } else {
        free(s->data);
    }
    s->data = NULL;
    s->bytes = 0;
    s->fd = -1;
    s->mapped = 0;
}
